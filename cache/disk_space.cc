#include "cache/disk_space.h"

#include <sys/statvfs.h>

#include <string>

namespace pier {

std::optional<uint64_t> DiskSpace::StatvfsFree(const std::filesystem::path& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return std::nullopt;
  return static_cast<uint64_t>(vfs.f_bavail) * static_cast<uint64_t>(vfs.f_frsize);
}

DiskSpace::DiskSpace(std::filesystem::path dir, uint64_t reserve_bytes, const Clock& clock, Probe probe)
    : dir_(std::move(dir)), reserve_(reserve_bytes), clock_(clock), probe_(std::move(probe)) {}

std::optional<uint64_t> DiskSpace::FreeBytes() {
  std::lock_guard lock(mu_);
  const auto now = clock_.Steady();
  if (!read_ || now - read_at_ >= kMaxAge) {
    free_ = probe_(dir_);
    read_at_ = now;
    read_ = true;
  }
  return free_;
}

Status DiskSpace::CheckReserve(uint64_t need) {
  const std::optional<uint64_t> free = FreeBytes();
  if (!free) return Status::OK();  // unknown: the write itself will tell
  // A reserve of 0 still refuses a disk with nothing left at all.
  const bool short_of_room = reserve_ == 0 ? (*free == 0 || *free < need) : *free < reserve_ || *free - reserve_ < need;
  if (!short_of_room) return Status::OK();
  return Status::ResourceExhausted(NoSpaceMessage(free, reserve_, need));
}

void DiskSpace::Refresh() {
  std::lock_guard lock(mu_);
  read_ = false;
}

std::string NoSpaceMessage(std::optional<uint64_t> free_bytes, uint64_t reserve_bytes, uint64_t need) {
  std::string m = "no space left on device: ";
  m += free_bytes ? std::to_string(*free_bytes) + " bytes free" : std::string("free space unknown");
  m += ", reserve " + std::to_string(reserve_bytes) + " bytes";
  if (need > 0) m += ", upload needs " + std::to_string(need);
  return m;
}

}  // namespace pier
