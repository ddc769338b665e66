// /registries, /registries/ping, /registries/{id}, /registries/{id}/info.
#include <memory>

#include "adapter/api/context.h"
#include "adapter/client/registry_client.h"
#include "base/log.h"
#include "replication/client_factory.h"
#include "replication/engine.h"

namespace pier::api {
namespace {

using json = nlohmann::json;
using replication::Endpoint;

// Harbor's answer for a failed check, with what failed: a credential the
// registry refused is not a registry that is down.
http::Response Unhealthy(const Status& why) {
  if (why.code() == Code::kFailedPrecondition) {
    return ApiError(400, "BAD_REQUEST",
                    "the registry is unhealthy: it refused the credential (check access_key and access_secret): " +
                        why.message());
  }
  return ApiError(400, "BAD_REQUEST", "the registry is unhealthy: " + why.message());
}

// Pings and logs why it failed (never the secret).
Status Check(Context& ctx, const Endpoint& e) {
  Status s = ctx.options.pinger(e);
  if (!s.ok()) log::Warn("registry ping failed", {{"url", e.url}, {"error", s.message()}});
  return s;
}

http::Response List(Context& ctx, const ApiCall& call) {
  auto q = ParseListQuery(call.req);
  if (!q.ok()) return FromStatus(q.status());
  auto all = ctx.repl->ListEndpoints();
  if (!all.ok()) return FromStatus(all.status());
  std::vector<json> items;
  for (const auto& e : *all) {
    if (q->Matches(e.name)) items.push_back(replication::EndpointToJson(e));
  }
  return PagedResponse(call.req, *q, std::move(items));
}

http::Response Create(Context& ctx, const ApiCall& call) {
  auto body = ParseBody(call.body);
  if (!body.ok()) return FromStatus(body.status());
  auto e = replication::ParseEndpointCreate(*body);
  if (!e.ok()) return FromStatus(e.status());
  // Name clash first: no point pinging for a request that cannot succeed.
  auto all = ctx.repl->ListEndpoints();
  if (!all.ok()) return FromStatus(all.status());
  for (const auto& x : *all) {
    if (x.name == e->name) return ApiError(409, "CONFLICT", "registry name \"" + e->name + "\" already exists");
  }
  if (Status h = Check(ctx, *e); !h.ok()) return Unhealthy(h);
  e->status = "healthy";
  auto stored = ctx.repl->CreateEndpoint(std::move(*e));
  if (!stored.ok()) return FromStatus(stored.status());
  return Created(std::string(kApiPrefix) + "/registries/" + std::to_string(stored->id));
}

// POST /registries/ping {id?, type, url, credential_type, access_key,
// access_secret, insecure, ca_certificate}: with an id, the stored endpoint
// with the given fields replacing its own ("*****" or no secret: the stored one).
http::Response Ping(Context& ctx, const ApiCall& call) {
  auto body = ParseBody(call.body);
  if (!body.ok()) return FromStatus(body.status());
  Endpoint target;
  if (body->contains("id") && !(*body)["id"].is_null()) {
    const json& id = (*body)["id"];
    if (!id.is_number_integer()) return ApiError(400, "BAD_REQUEST", "id: must be an integer");
    auto existing = ctx.repl->GetEndpoint(id.get<int64_t>());
    if (!existing.ok()) return FromStatus(existing.status());
    json flat = json::object();
    for (const char* k : {"url", "credential_type", "access_key", "access_secret", "insecure", "ca_certificate"}) {
      if (body->contains(k)) flat[k] = (*body)[k];
    }
    auto merged = replication::ApplyEndpointUpdate(*existing, flat);
    if (!merged.ok()) return FromStatus(merged.status());
    target = std::move(*merged);
    // A URL change clears the secret on update; for a test ping the stored
    // one is still what the client means unless it sent another.
    if (!flat.contains("access_secret") || flat["access_secret"] == replication::kSecretMask) {
      target.credential.access_secret = existing->credential.access_secret;
    }
  } else {
    json create = {{"name", "ping"}};
    for (const char* k : {"url", "type", "insecure", "ca_certificate"}) {
      if (body->contains(k)) create[k] = (*body)[k];
    }
    json cred = json::object();
    if (body->contains("credential_type")) cred["type"] = (*body)["credential_type"];
    if (body->contains("access_key")) cred["access_key"] = (*body)["access_key"];
    if (body->contains("access_secret")) cred["access_secret"] = (*body)["access_secret"];
    create["credential"] = cred;
    auto parsed = replication::ParseEndpointCreate(create);
    if (!parsed.ok()) return FromStatus(parsed.status());
    target = std::move(*parsed);
  }
  if (Status h = Check(ctx, target); !h.ok()) return Unhealthy(h);
  return EmptyResponse(200);
}

http::Response One(Context& ctx, const ApiCall& call, int64_t id) {
  const std::string& m = call.req.method;
  if (m == "GET") {
    auto e = ctx.repl->GetEndpoint(id);
    if (!e.ok()) return FromStatus(e.status());
    return JsonResponse(200, replication::EndpointToJson(*e));
  }
  if (m == "PUT") {
    auto body = ParseBody(call.body);
    if (!body.ok()) return FromStatus(body.status());
    auto existing = ctx.repl->GetEndpoint(id);
    if (!existing.ok()) return FromStatus(existing.status());
    auto updated = replication::ApplyEndpointUpdate(*existing, *body);
    if (!updated.ok()) return FromStatus(updated.status());
    updated->id = id;
    bool moved = updated->url != existing->url;
    // What decides whether Pier can talk to it changed: check it as a create
    // does, and store nothing that does not work.
    const auto& u = *updated;
    if (moved || u.insecure != existing->insecure || u.ca_certificate != existing->ca_certificate ||
        u.credential.type != existing->credential.type || u.credential.access_key != existing->credential.access_key ||
        u.credential.access_secret != existing->credential.access_secret) {
      if (Status h = Check(ctx, u); !h.ok()) return Unhealthy(h);
      updated->status = "healthy";
    }
    auto stored = ctx.repl->UpdateEndpoint(std::move(*updated));
    if (!stored.ok()) return FromStatus(stored.status());
    // Another URL is another registry: what the engine knew of it is void.
    if (moved && ctx.options.engine) ctx.options.engine->ForgetDestination(id);
    return EmptyResponse(200);
  }
  // DELETE
  Status s = ctx.repl->DeleteEndpoint(id);
  if (!s.ok()) return FromStatus(s);
  if (ctx.options.engine) ctx.options.engine->ForgetDestination(id);
  return EmptyResponse(200);
}

}  // namespace

Status PingEndpoint(const Endpoint& e) {
  replication::ClientTuning tuning;
  tuning.no_progress_timeout_seconds = 10;  // a health check answers quickly or not at all
  auto c = client::RegistryClient::Create(replication::ClientOptionsFor(e, tuning));
  if (!c.ok()) return c.status();
  client::Call call;
  Status s = (*c)->Ping(call);
  // FailedPrecondition marks "the registry answered and refused the
  // credential" for Unhealthy's message; every other failure keeps its code.
  if (!s.ok() && call.error.kind == client::ErrorKind::kAuth) return Status::FailedPrecondition(s.message());
  return s;
}

http::Response HandleRegistries(Context& ctx, const ApiCall& call) {
  const auto& seg = call.segments;  // seg[0] == "registries"
  if (seg.size() == 1) return call.req.method == "GET" ? List(ctx, call) : Create(ctx, call);
  if (seg.size() == 2 && seg[1] == "ping") return Ping(ctx, call);
  auto id = ParseId(seg[1]);
  if (!id.ok()) return FromStatus(id.status());
  if (seg.size() == 3) {  // info
    auto e = ctx.repl->GetEndpoint(*id);
    if (!e.ok()) return FromStatus(e.status());
    return JsonResponse(200, replication::EndpointInfo(*e));
  }
  return One(ctx, call, *id);
}

}  // namespace pier::api
