// 401 challenges: Basic, or Bearer pointing at Pier's token realm.
#include "adapter/registry/context.h"

namespace pier::registry {
namespace {

// A Host header usable inside a URL and a quoted challenge parameter.
bool IsSafeHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string TokenRealm(const Context& ctx, const http::Request& req) {
  if (!ctx.options.token_realm.empty()) return ctx.options.token_realm;
  if (!ctx.options.public_url.empty()) return ctx.options.public_url + "/token";
  std::string_view host = req.Header("host");
  // An unusable Host (missing, or with characters that would break the
  // header) still gets a challenge; clients resolve the path against the
  // registry they called.
  if (!IsSafeHost(host)) return "/token";
  return std::string(req.tls ? "https://" : "http://") + std::string(host) + "/token";
}

http::Response Challenge(const Context& ctx, const http::Request& req, std::string_view message,
                         std::string_view scope, bool insufficient) {
  http::Response r = OciError(401, "UNAUTHORIZED", message);
  if (!ctx.options.token) {
    r.Set("WWW-Authenticate", "Basic realm=\"" + ctx.options.realm + "\"");
    return r;
  }
  std::string value = "Bearer realm=\"" + TokenRealm(ctx, req) + "\",service=\"" +
                      ctx.options.token->options().service + "\"";
  if (!scope.empty()) value += ",scope=\"" + std::string(scope) + "\"";
  if (insufficient) value += ",error=\"insufficient_scope\"";
  r.Set("WWW-Authenticate", std::move(value));
  return r;
}

}  // namespace pier::registry
