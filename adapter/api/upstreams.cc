// GET /proxy/upstreams: the pull-through cache's upstreams (config
// `proxy.upstreams[]`) with their health, shaped like Harbor's registry
// objects where the fields mean the same (name, url, type, insecure, status)
// plus the proxy's own. Pier's upstreams live in the config file, not in
// Harbor's projects, so they are read-only here.
//
// `status` is the pull-through cache's own view, not a ping: "unhealthy"
// while Pier considers the upstream offline after a failed call (its
// offline_period), when clients are served from the cache without asking
// it. Secrets never appear: `credential_configured` says whether a
// username/password is set, `ca_configured` whether a CA file is.
#include "adapter/api/context.h"
#include "cache/proxy/pull_through.h"

namespace pier::api {

using json = nlohmann::json;

http::Response HandleUpstreams(Context& ctx, const ApiCall& call) {
  auto q = ParseListQuery(call.req);
  if (!q.ok()) return FromStatus(q.status());
  std::vector<json> items;
  const auto& pt = ctx.options.pull_through;
  if (pt != nullptr) {
    const std::vector<proxy::Upstream>& ups = pt->upstreams();
    for (size_t i = 0; i < ups.size(); ++i) {
      const proxy::Upstream& u = ups[i];
      if (!q->Matches(u.name)) continue;
      items.push_back({{"name", u.name},
                       {"url", u.url},
                       {"type", u.docker_hub ? "docker-hub" : "docker-registry"},
                       {"prefix", u.prefix},
                       {"ns", u.ns},
                       {"insecure", u.insecure},
                       {"ca_configured", !u.ca_file.empty()},
                       {"credential_configured", !u.username.empty() || !u.password_file.empty()},
                       {"tag_ttl_seconds", u.tag_ttl_seconds},
                       {"offline_period_seconds", u.offline_period_seconds},
                       {"status", pt->Offline(i) ? "unhealthy" : "healthy"}});
    }
  }
  return PagedResponse(call.req, *q, std::move(items));
}

}  // namespace pier::api
