#pragma once
// AccessLog: the one access-log line per request that every handler writes
// when its response is decided (logfmt event "request": method, path,
// status, remote, duration_ms, the user when the handler knows one, and the
// query string when there is one, its secrets redacted).
// Copyable, so it can ride along into a body's finish callback. Disabled, it
// writes nothing.
#include <chrono>
#include <string>
#include <string_view>

#include "adapter/http/message.h"

namespace pier::http {

class AccessLog {
 public:
  AccessLog(const Request& req, bool enabled);
  void operator()(const Response& r, const std::string& user = "") const;

 private:
  bool enabled_;
  std::string method_, path_, query_, remote_;
  std::chrono::steady_clock::time_point start_;
};

// `query` (raw, without '?') with the value of every parameter that may carry
// a secret replaced by "REDACTED": upload state (`_state`), tokens
// (`token`, `access_token`, `X-Amz-Security-Token`, ...), passwords, client
// secrets, signatures of pre-signed URLs (`X-Amz-Signature`, `Signature`,
// `sig`) and credentials. Names compare case-insensitively after
// percent-decoding; everything else (`ns=docker.io`, `n=100&last=a`) is kept
// byte for byte. Redacting too much is preferred to logging a secret.
std::string RedactQuery(std::string_view query);

}  // namespace pier::http
