#include "adapter/registry/errors.h"

#include <nlohmann/json.hpp>

namespace pier::registry {

void AddCommonHeaders(http::Response& r) { r.Set("Docker-Distribution-API-Version", "registry/2.0"); }

http::Response OciError(int status, std::string_view code, std::string_view message, std::string_view detail) {
  nlohmann::json e = {{"code", code}, {"message", message}};
  if (!detail.empty()) e["detail"] = detail;
  http::Response r;
  r.status = status;
  r.body = nlohmann::json{{"errors", nlohmann::json::array({e})}}.dump();
  r.Set("Content-Type", "application/json");
  AddCommonHeaders(r);
  return r;
}

// A full disk is 403 DENIED, not a 5xx: docker and containerd retry 5xx
// (five times per layer) but stop on DENIED, and moby also stops on any
// error text containing "no space left on device" (reference/caching.md §6).
// 507 is not in the distribution spec and no client knows it.
http::Response NoSpace(const Status& s) {
  constexpr std::string_view kPhrase = "no space left on device";
  const std::string& m = s.message();
  return OciError(403, "DENIED", m.find(kPhrase) == std::string::npos ? std::string(kPhrase) + ": " + m : m);
}

http::Response FromStatus(const Status& s, std::string_view not_found_code) {
  switch (s.code()) {
    case Code::kNotFound: return OciError(404, not_found_code, s.message());
    case Code::kInvalidArgument: return OciError(400, "BLOB_UPLOAD_INVALID", s.message());
    case Code::kDigestMismatch: return OciError(400, "DIGEST_INVALID", s.message());
    case Code::kSizeInvalid: return OciError(400, "SIZE_INVALID", s.message());
    case Code::kOutOfRange: return OciError(416, "BLOB_UPLOAD_INVALID", s.message());
    case Code::kFailedPrecondition: return OciError(409, "BLOB_UPLOAD_INVALID", s.message());
    case Code::kUnsupported: return OciError(400, "UNSUPPORTED", s.message());
    case Code::kResourceExhausted: return NoSpace(s);
    // A pull-through upstream that cannot be reached, with nothing cached: a
    // 503 sends containerd on to its next mirror host (never 429: it would
    // retry the same host at once).
    case Code::kUnavailable: {
      http::Response r = OciError(503, "UNAVAILABLE", s.message());
      r.Set("Retry-After", "30");
      return r;
    }
    // Harbor's answer to a quota: 403 DENIED with what was asked, the usage
    // and the limit. docker and containerd do not retry a DENIED.
    case Code::kQuotaExceeded: return OciError(403, "DENIED", s.message());
    default: return OciError(500, "UNKNOWN", "internal error", s.message());
  }
}

}  // namespace pier::registry
