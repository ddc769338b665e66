// Disk space at the registry's edge: refusing writes below the reserve,
// answering a full disk, and what /readyz says about it. Why 403 DENIED:
// errors.cc (NoSpace).
#include "adapter/registry/context.h"

namespace pier::registry {

std::optional<http::Response> RefuseIfLow(const Context& ctx, uint64_t need) {
  DiskSpace* space = ctx.options.disk_space.get();
  if (space == nullptr) return std::nullopt;
  Status s = space->CheckReserve(need);
  if (s.ok()) return std::nullopt;
  space->CountRefusal();
  return NoSpace(s);
}

http::Response WriteFailed(const Context& ctx, const Status& s, std::string_view not_found_code) {
  if (s.code() == Code::kResourceExhausted && ctx.options.disk_space) {
    ctx.options.disk_space->CountRefusal();
    ctx.options.disk_space->Refresh();
  }
  return FromStatus(s, not_found_code);
}

std::string ReadyBody(const Context& ctx, int* status) {
  *status = 200;
  if (Status h = ctx.store->CheckHealth(); !h.ok()) {
    *status = 503;
    return "not ready: " + h.message() + "\n";
  }
  std::string body = "ok\n";
  DiskSpace* space = ctx.options.disk_space.get();
  if (space == nullptr || !space->Low()) return body;
  // Still ready (200): pulls work, and a 503 would take the only replica
  // out of its Service. The line tells operators and probes why pushes fail.
  std::optional<uint64_t> free = space->FreeBytes();
  body += "storage: low space: " + (free ? std::to_string(*free) : std::string("?")) + " bytes free, reserve " +
          std::to_string(space->reserve_bytes()) + " bytes; uploads are refused\n";
  return body;
}

}  // namespace pier::registry
