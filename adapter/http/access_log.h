#pragma once
// AccessLog: the one access-log line per request that every handler writes
// when its response is decided (logfmt event "request": method, path,
// status, remote, duration_ms, and the user when the handler knows one).
// Copyable, so it can ride along into a body's finish callback. Disabled, it
// writes nothing. The query string is never logged (it may hold a token).
#include <chrono>
#include <string>

#include "adapter/http/message.h"

namespace pier::http {

class AccessLog {
 public:
  AccessLog(const Request& req, bool enabled);
  void operator()(const Response& r, const std::string& user = "") const;

 private:
  bool enabled_;
  std::string method_, path_, remote_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace pier::http
