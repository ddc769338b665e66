// /replication/policies and /replication/policies/{id}.
#include "adapter/api/context.h"
#include "base/internal_errors.h"
#include "replication/announce.h"

namespace pier::api {
namespace {

using json = nlohmann::json;
using replication::Policy;

// Harbor's output with the remote side's registry object filled in (the
// local side stays {"id":0}, "this instance").
json PolicyOut(Context& ctx, const Policy& p) {
  json j = replication::PolicyToJson(p);
  for (const char* side : {"src_registry", "dest_registry"}) {
    int64_t id = std::string_view(side) == "src_registry" ? p.src_registry_id : p.dest_registry_id;
    if (id == 0) continue;
    auto e = ctx.repl->GetEndpoint(id);
    if (e.ok()) j[side] = replication::EndpointToJson(*e);
  }
  return j;
}

// The remote registry must exist; ali-acr destinations get Pier's name check.
Status CheckReferences(Context& ctx, const Policy& p) {
  const char* field = p.PushMode() ? "dest_registry" : "src_registry";
  auto remote = ctx.repl->GetEndpoint(p.RemoteRegistryId());
  if (!remote.ok()) {
    if (remote.status().code() == Code::kNotFound) {
      return Status::InvalidArgument(std::string(field) + ": registry " + std::to_string(p.RemoteRegistryId()) +
                                     " does not exist");
    }
    return remote.status();
  }
  if (!p.PushMode() || remote->type != replication::kTypeAliAcr) return Status::OK();
  std::vector<std::string> repos;
  if (ctx.store != nullptr) {
    auto page = ctx.store->ListRepositories("", 0, [](std::string_view) { return true; });
    if (!page.ok()) return page.status();
    repos = std::move(page->items);
  }
  return replication::CheckPolicyForDestination(p, *remote, repos);
}

http::Response List(Context& ctx, const ApiCall& call) {
  auto q = ParseListQuery(call.req);
  if (!q.ok()) return FromStatus(q.status());
  auto all = ctx.repl->ListPolicies();
  if (!all.ok()) return FromStatus(all.status());
  std::vector<json> items;
  for (const auto& p : *all) {
    if (q->Matches(p.name)) items.push_back(PolicyOut(ctx, p));
  }
  return PagedResponse(call.req, *q, std::move(items));
}

// Zero series for a policy from the moment it exists (or is enabled or
// renamed), not only for those present at start. The policy is stored
// either way: a failure here costs dashboards data, not the request.
void Announce(Context& ctx, const replication::Policy& p) {
  if (!ctx.options.observer) return;
  if (Status s = replication::AnnouncePolicy(*ctx.repl, *ctx.options.observer, p); !s.ok()) {
    ReportInternalError("metrics", "announcing policy " + p.name, s);
  }
}

http::Response Create(Context& ctx, const ApiCall& call) {
  auto body = ParseBody(call.body);
  if (!body.ok()) return FromStatus(body.status());
  auto p = replication::ParsePolicy(*body);
  if (!p.ok()) return FromStatus(p.status());
  if (Status s = CheckReferences(ctx, *p); !s.ok()) return FromStatus(s);
  auto stored = ctx.repl->CreatePolicy(std::move(*p));
  if (!stored.ok()) return FromStatus(stored.status());
  Announce(ctx, *stored);
  return Created(std::string(kApiPrefix) + "/replication/policies/" + std::to_string(stored->id));
}

http::Response One(Context& ctx, const ApiCall& call, int64_t id) {
  const std::string& m = call.req.method;
  if (m == "GET") {
    auto p = ctx.repl->GetPolicy(id);
    if (!p.ok()) return FromStatus(p.status());
    return JsonResponse(200, PolicyOut(ctx, *p));
  }
  if (m == "PUT") {
    auto body = ParseBody(call.body);
    if (!body.ok()) return FromStatus(body.status());
    auto existing = ctx.repl->GetPolicy(id);
    if (!existing.ok()) return FromStatus(existing.status());
    auto p = replication::ParsePolicy(*body, &*existing);
    if (!p.ok()) return FromStatus(p.status());
    p->id = id;
    if (Status s = CheckReferences(ctx, *p); !s.ok()) return FromStatus(s);
    auto stored = ctx.repl->UpdatePolicy(std::move(*p));
    if (!stored.ok()) return FromStatus(stored.status());
    Announce(ctx, *stored);
    return EmptyResponse(200);
  }
  Status s = ctx.repl->DeletePolicy(id);
  if (!s.ok()) return FromStatus(s);
  return EmptyResponse(200);
}

}  // namespace

http::Response HandlePolicies(Context& ctx, const ApiCall& call) {
  const auto& seg = call.segments;  // "replication", "policies"[, id]
  if (seg.size() == 2) return call.req.method == "GET" ? List(ctx, call) : Create(ctx, call);
  auto id = ParseId(seg[2]);
  if (!id.ok()) return FromStatus(id.status());
  return One(ctx, call, *id);
}

}  // namespace pier::api
