#include "adapter/http/access_log.h"

#include <array>
#include <cstdio>
#include <vector>

#include "base/log.h"
#include "base/text.h"

namespace pier::http {
namespace {

// Parameter names whose values are secrets, lower case. Exact names first,
// then endings that cover the families (refresh_token, id_token,
// X-Amz-Security-Token, client_secret, X-Goog-Signature, ...).
constexpr std::array<std::string_view, 8> kSecretNames = {"_state", "sig",     "code", "key",
                                                          "apikey", "api_key", "auth", "authorization"};
constexpr std::array<std::string_view, 6> kSecretEndings = {"token",  "secret",    "password",
                                                            "passwd", "signature", "credential"};

bool IsSecretName(std::string_view raw_name) {
  // '+' is a space in form encoding; a name that does not decode is judged as written.
  std::string plus_free(raw_name);
  for (char& c : plus_free) {
    if (c == '+') c = ' ';
  }
  std::optional<std::string> decoded = PercentDecode(plus_free);
  std::string name = AsciiLower(decoded ? *decoded : plus_free);
  for (std::string_view s : kSecretNames) {
    if (name == s) return true;
  }
  for (std::string_view e : kSecretEndings) {
    if (name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

}  // namespace

std::string RedactQuery(std::string_view query) {
  std::string out;
  out.reserve(query.size());
  while (true) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && IsSecretName(param.substr(0, eq))) {
      out.append(param.substr(0, eq + 1));
      out.append("REDACTED");
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    query.remove_prefix(amp + 1);
  }
  return out;
}

AccessLog::AccessLog(const Request& req, bool enabled)
    : enabled_(enabled), start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  method_ = req.method;
  path_ = req.path;
  if (!req.query.empty()) query_ = RedactQuery(req.query);
  remote_ = req.remote;
}

void AccessLog::operator()(const Response& r, const std::string& user) const {
  if (!enabled_) return;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_)
                .count();
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", static_cast<double>(us) / 1000.0);
  std::vector<log::Field> fields = {{"method", method_}, {"path", path_}};
  if (!query_.empty()) fields.emplace_back("query", query_);
  fields.emplace_back("status", std::to_string(r.status));
  fields.emplace_back("remote", remote_);
  if (!user.empty()) fields.emplace_back("user", user);
  fields.emplace_back("duration_ms", ms);
  log::Write(log::Level::kInfo, "request", fields);
}

}  // namespace pier::http
