#include "adapter/http/access_log.h"

#include <cstdio>

#include "base/log.h"

namespace pier::http {

AccessLog::AccessLog(const Request& req, bool enabled)
    : enabled_(enabled), start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  method_ = req.method;
  path_ = req.path;
  remote_ = req.remote;
}

void AccessLog::operator()(const Response& r, const std::string& user) const {
  if (!enabled_) return;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_).count();
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", static_cast<double>(us) / 1000.0);
  std::string status = std::to_string(r.status);
  if (user.empty()) {
    log::Info("request", {{"method", method_}, {"path", path_}, {"status", status}, {"remote", remote_},
                          {"duration_ms", ms}});
  } else {
    log::Info("request", {{"method", method_}, {"path", path_}, {"status", status}, {"remote", remote_},
                          {"user", user}, {"duration_ms", ms}});
  }
}

}  // namespace pier::http
