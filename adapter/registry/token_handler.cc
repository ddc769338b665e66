// The /token endpoint: parameters → credentials → grants → signed token.
#include "adapter/registry/token_handler.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "adapter/http/access_log.h"
#include "base/log.h"

namespace pier::registry {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kPath = "/token";
constexpr uint64_t kFormLimit = 64 * 1024;

// Query strings and form bodies (application/x-www-form-urlencoded, where
// '+' is a space). Nullopt on a malformed percent-escape.
std::optional<Params> ParseForm(std::string_view text) {
  Params out;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view item = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key(item.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    for (char& c : key) c = c == '+' ? ' ' : c;
    for (char& c : value) c = c == '+' ? ' ' : c;
    auto k = http::PercentDecode(key);
    auto v = http::PercentDecode(value);
    OPENSSL_cleanse(value.data(), value.size());  // may be a password
    if (!k || !v) return std::nullopt;
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

std::optional<std::string> First(const Params& p, std::string_view key) {
  for (const auto& [k, v] : p) {
    if (k == key) return v;
  }
  return std::nullopt;
}

http::Response JsonError(int status, std::string_view code, std::string_view message) {
  nlohmann::json e = {{"code", code}, {"message", message}};
  http::Response r;
  r.status = status;
  r.body = nlohmann::json{{"errors", nlohmann::json::array({e})}}.dump();
  r.Set("Content-Type", "application/json");
  return r;
}

std::string Rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "Basic base64(user:password)" for the password grant, so both variants
// go through the same Authorizer (and its verification cache).
std::string BasicHeader(const std::string& user, const std::string& password) {
  std::string plain = user + ":" + password;
  std::string b64(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                      reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  OPENSSL_cleanse(plain.data(), plain.size());
  b64.resize(static_cast<size_t>(n > 0 ? n : 0));
  return "Basic " + b64;
}

struct Outcome {
  http::Response response;
  std::string user;  // for the access log
};

Outcome Serve(const auth::TokenService& tokens, const auth::Authorizer& authorizer,
              const TokenHandlerOptions& options, const http::Request& req, const http::BodyResult& body) {
  Outcome out;
  std::optional<Params> params;
  std::string authorization(req.Header("authorization"));
  if (req.method == "POST") {
    if (!body.status.ok()) {
      bool large = body.status.code() == Code::kSizeInvalid;
      out.response = JsonError(large ? 413 : 400, "INVALID_REQUEST",
                               large ? "form larger than 64 KiB" : "body: " + body.status.message());
      return out;
    }
    params = ParseForm(body.buffered);
    if (!params) {
      out.response = JsonError(400, "INVALID_REQUEST", "body: malformed form encoding");
      return out;
    }
    std::string grant = First(*params, "grant_type").value_or("");
    if (grant != "password") {
      out.response = JsonError(400, "UNSUPPORTED_GRANT_TYPE",
                               "grant_type: only \"password\" is supported (refresh tokens are not)");
      return out;
    }
    std::optional<std::string> user = First(*params, "username");
    std::optional<std::string> password = First(*params, "password");
    if (!user || user->empty() || !password) {
      out.response =
          JsonError(400, "INVALID_REQUEST", "username and password: required for grant_type=password");
      return out;
    }
    authorization = BasicHeader(*user, *password);
    for (auto& [k, v] : *params) {
      if (k == "password") OPENSSL_cleanse(v.data(), v.size());
    }
  } else {
    params = ParseForm(req.query);
    if (!params) {
      out.response = JsonError(400, "INVALID_REQUEST", "query: malformed percent-encoding");
      return out;
    }
  }

  const std::string& service = tokens.options().service;
  if (auto s = First(*params, "service"); s && *s != service) {
    out.response =
        JsonError(400, "INVALID_REQUEST",
                  "service: \"" + s->substr(0, 200) + "\" is not served here (expected \"" + service + "\")");
    return out;
  }
  std::vector<auth::Scope> requested;
  for (const auto& [k, v] : *params) {
    if (k != "scope") continue;
    Result<std::vector<auth::Scope>> scopes = auth::ParseScopes(v);
    if (!scopes.ok()) {
      out.response = JsonError(400, "INVALID_REQUEST", "scope: " + scopes.status().message());
      return out;
    }
    requested.insert(requested.end(), scopes->begin(), scopes->end());
  }

  Result<auth::Identity> who = authorizer.Authenticate(authorization);
  OPENSSL_cleanse(authorization.data(), authorization.size());
  if (!who.ok()) {
    out.response = JsonError(401, "UNAUTHORIZED", who.status().message());
    out.response.Set("WWW-Authenticate", "Basic realm=\"" + options.basic_realm + "\"");
    return out;
  }
  out.user = who->user;
  if (auto account = First(*params, "account");
      account && !account->empty() && !who->anonymous && *account != who->user) {
    out.response = JsonError(400, "INVALID_REQUEST", "account: does not match the credentials' user");
    return out;
  }

  std::vector<auth::Scope> granted = tokens.Grant(*who, requested);
  Result<auth::IssuedToken> token = tokens.Issue(*who, granted);
  if (!token.ok()) {
    log::Error("token issue failed", {{"error", token.status().message()}});
    out.response = JsonError(500, "UNKNOWN", "could not issue a token");
    return out;
  }
  std::string granted_text;
  for (const auth::Scope& g : granted) granted_text += (granted_text.empty() ? "" : " ") + g.ToString();
  nlohmann::json answer = {
      {"token", token->token},           {"access_token", token->token},           {"token_type", "Bearer"},
      {"expires_in", token->expires_in}, {"issued_at", Rfc3339(token->issued_at)}, {"scope", granted_text}};
  out.response.status = 200;
  out.response.body = answer.dump();
  out.response.Set("Content-Type", "application/json");
  out.response.Set("Cache-Control", "no-store");
  return out;
}

}  // namespace

TokenHandler::TokenHandler(std::shared_ptr<const auth::TokenService> tokens,
                           std::shared_ptr<auth::Authorizer> authorizer, TokenHandlerOptions options,
                           std::shared_ptr<http::Handler> next)
    : tokens_(std::move(tokens)),
      authorizer_(std::move(authorizer)),
      options_(std::move(options)),
      next_(std::move(next)) {}

http::Exchange TokenHandler::Begin(const http::Request& req) {
  if (req.path != kPath) return next_->Begin(req);
  http::AccessLog log_line(req, options_.access_log);
  if (req.method != "GET" && req.method != "POST") {
    http::Response r = JsonError(405, "UNSUPPORTED", "method " + req.method + " not allowed on /token");
    log_line(r, "");
    return http::Reply(std::move(r));
  }
  http::Exchange ex;
  ex.mode = req.method == "POST" ? http::BodyMode::kBuffer : http::BodyMode::kIgnore;
  ex.buffer_limit = kFormLimit;
  ex.blocking = true;  // bcrypt
  ex.finish = [tokens = tokens_, authorizer = authorizer_, options = options_, req,
               log_line](http::BodyResult body) {
    Outcome out = Serve(*tokens, *authorizer, options, req, body);
    if (!body.buffered.empty()) OPENSSL_cleanse(body.buffered.data(), body.buffered.size());
    log_line(out.response, out.user);
    return std::move(out.response);
  };
  return ex;
}

}  // namespace pier::registry
