// Dispatch for /api/v2.0: route → method → (on the blocking pool) admin
// authentication → resource handler; plus one access-log line per request.
#include "adapter/api/api.h"

#include <algorithm>

#include "adapter/api/context.h"
#include "adapter/http/access_log.h"
#include "base/log.h"

namespace pier::api {
namespace {

using Fn = http::Response (*)(Context&, const ApiCall&);

constexpr uint64_t kBodyLimit = 1 << 20;  // 1 MiB: these are small JSON objects

struct Route {
  Fn fn = nullptr;
  std::vector<std::string_view> methods;
  // Who may call it: admins only (the management API), or anyone who may
  // pull the repository the request names (the layer advisor's report).
  bool repository_readers = false;
};

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The resource for the segments after /api/v2.0; fn == nullptr: no such path.
Route Match(const std::vector<std::string>& s) {
  if (s.size() >= 1 && s[0] == "registries") {
    if (s.size() == 1) return {HandleRegistries, {"GET", "POST"}};
    if (s.size() == 2 && s[1] == "ping") return {HandleRegistries, {"POST"}};
    if (s.size() == 2) return {HandleRegistries, {"GET", "PUT", "DELETE"}};
    if (s.size() == 3 && s[2] == "info") return {HandleRegistries, {"GET"}};
  }
  if (s.size() >= 2 && s[0] == "replication") {
    if (s.size() == 2 && s[1] == "adapters") return {HandleAdapters, {"GET"}};
    if (s.size() == 2 && s[1] == "policies") return {HandlePolicies, {"GET", "POST"}};
    if (s.size() == 3 && s[1] == "policies") return {HandlePolicies, {"GET", "PUT", "DELETE"}};
    if (s[1] == "executions") {
      if (s.size() == 2) return {HandleExecutions, {"GET", "POST"}};
      if (s.size() == 3) return {HandleExecutions, {"GET", "PUT"}};
      if (s.size() == 4 && s[3] == "tasks") return {HandleExecutions, {"GET"}};
      if (s.size() == 6 && s[3] == "tasks" && s[5] == "log") return {HandleExecutions, {"GET"}};
    }
  }
  if (s.size() == 2 && s[0] == "proxy" && s[1] == "upstreams") return {HandleUpstreams, {"GET"}};
  if (s.size() == 1 && s[0] == "quotas") return {HandleQuotas, {"GET"}};
  if (s.size() == 2 && s[0] == "quotas") return {HandleQuotas, {"GET", "PUT"}};
  if (s.size() >= 2 && s[0] == "system" && s[1] == "gc") {
    if (s.size() == 2) return {HandleGc, {"GET"}};
    if (s.size() == 3 && s[2] == "schedule") return {HandleGc, {"GET", "POST", "PUT"}};
    if (s.size() == 3) return {HandleGc, {"GET", "PUT"}};
    if (s.size() == 4 && s[3] == "log") return {HandleGc, {"GET"}};
  }
  if (s.size() == 1 && s[0] == "report") return {HandleReport, {"GET"}, true};
  if (s.size() >= 1 && s[0] == "retentions") {
    if (s.size() == 1) return {HandleRetentions, {"POST"}};
    if (s.size() == 2) return {HandleRetentions, s[1] == "metadatas" ? std::vector<std::string_view>{"GET"}
                                                                       : std::vector<std::string_view>{"GET", "PUT", "DELETE"}};
    if (s.size() == 3 && s[2] == "executions") return {HandleRetentions, {"GET", "POST"}};
    if (s.size() == 4 && s[2] == "executions") return {HandleRetentions, {"PATCH"}};
    if (s.size() >= 5 && s.size() <= 6 && s[2] == "executions" && s[4] == "tasks") return {HandleRetentions, {"GET"}};
  }
  return {};
}

}  // namespace

ApiHandler::ApiHandler(std::shared_ptr<replication::ReplicationStore> repl, std::shared_ptr<Store> store,
                       std::shared_ptr<auth::Authorizer> authorizer, ApiOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->repl = std::move(repl);
  impl_->store = std::move(store);
  impl_->authorizer = std::move(authorizer);
  if (!options.pinger) options.pinger = PingEndpoint;
  impl_->options = std::move(options);
}

http::Exchange ApiHandler::Begin(const http::Request& req) {
  http::AccessLog log_line(req, impl_->options.access_log);
  auto reply = [&](http::Response r) {
    log_line(r);
    return http::Reply(std::move(r));
  };

  std::string_view rest = std::string_view(req.path).substr(std::min(req.path.size(), kApiPrefix.size()));
  std::vector<std::string> segments = Split(rest);
  Route route = Match(segments);
  if (route.fn == nullptr) return reply(ApiError(404, "NOT_FOUND", "no such API path"));
  if (std::find(route.methods.begin(), route.methods.end(), req.method) == route.methods.end()) {
    return reply(ApiError(405, "METHOD_NOT_ALLOWED", "method " + req.method + " not allowed here"));
  }

  http::Exchange ex;
  bool has_body = req.method == "POST" || req.method == "PUT";
  ex.mode = has_body ? http::BodyMode::kBuffer : http::BodyMode::kIgnore;
  ex.buffer_limit = kBodyLimit;
  // Authentication (bcrypt), RocksDB writes and pings all block: run on the pool.
  ex.blocking = true;
  ex.finish = [impl = impl_, req, segments = std::move(segments), fn = route.fn,
               readers = route.repository_readers, log_line](http::BodyResult body) -> http::Response {
    http::Response r = [&]() -> http::Response {
      Context& ctx = *impl;
      // Auth decision (see api.h): open when auth is off; otherwise admins only.
      if (readers && ctx.authorizer != nullptr && ctx.authorizer->enabled()) {
        // Anonymous callers too, when the ACL lets anonymous pull it.
        auto who = ctx.authorizer->Authenticate(req.Header("authorization"));
        if (!who.ok()) {
          http::Response c = ApiError(401, "UNAUTHORIZED", "authentication required");
          c.Set("WWW-Authenticate", "Basic realm=\"" + ctx.options.realm + "\"");
          return c;
        }
        auto repo = ReportRepository(req);
        if (!repo.ok()) return FromStatus(repo.status());
        if (!ctx.authorizer->Allowed(*who, *repo, auth::kPull)) {
          if (who->anonymous) {
            http::Response c = ApiError(401, "UNAUTHORIZED", "authentication required");
            c.Set("WWW-Authenticate", "Basic realm=\"" + ctx.options.realm + "\"");
            return c;
          }
          return ApiError(403, "FORBIDDEN", "no pull access to repository " + *repo);
        }
      } else if (ctx.authorizer != nullptr && ctx.authorizer->enabled()) {
        auto who = ctx.authorizer->Authenticate(req.Header("authorization"));
        if (!who.ok() || who->anonymous) {
          http::Response c = ApiError(401, "UNAUTHORIZED", "authentication required");
          c.Set("WWW-Authenticate", "Basic realm=\"" + ctx.options.realm + "\"");
          return c;
        }
        const auto& admins = ctx.options.admins;
        if (std::find(admins.begin(), admins.end(), who->user) == admins.end()) {
          return ApiError(403, "FORBIDDEN", "the management API needs an admin user");
        }
      }
      if (!body.status.ok()) {
        if (body.status.code() == Code::kSizeInvalid) return ApiError(413, "PAYLOAD_TOO_LARGE", "body larger than 1 MiB");
        return ApiError(400, "BAD_REQUEST", "body: " + body.status.message());
      }
      ApiCall call{req, segments, body.buffered};
      return fn(ctx, call);
    }();
    log_line(r);
    return r;
  };
  return ex;
}

bool PrefixRouter::IsApiPath(std::string_view path) {
  if (!path.starts_with(kApiPrefix)) return false;
  return path.size() == kApiPrefix.size() || path[kApiPrefix.size()] == '/';
}

http::Exchange PrefixRouter::Begin(const http::Request& request) {
  return IsApiPath(request.path) ? api_->Begin(request) : fallback_->Begin(request);
}

}  // namespace pier::api
