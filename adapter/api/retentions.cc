// /retentions: Harbor's tag retention (reference/caching.md 5.5; the model
// is in cache/retention/). One policy per project; scope.ref is the
// project's quota id (GET /quotas), since Pier has no Harbor projects.
//   GET    /retentions/metadatas
//   POST   /retentions                                201 + Location
//   GET|PUT|DELETE /retentions/{id}
//   POST   /retentions/{id}/executions                {"dry_run":bool}
//   GET    /retentions/{id}/executions                paged, X-Total-Count
//   PATCH  /retentions/{id}/executions/{eid}          stop
//   GET    /retentions/{id}/executions/{eid}/tasks
//   GET    /retentions/{id}/executions/{eid}/tasks/{tid}  the log, text/plain
#include "adapter/api/context.h"
#include "cache/retention/service.h"

namespace pier::api {
namespace {

using nlohmann::json;

http::Response Bad(const Status& s) { return ApiError(400, "BAD_REQUEST", s.message()); }

// The body as a policy whose project exists.
Result<retention::Policy> ReadPolicy(retention::Service& svc, const std::string& body) {
  auto j = ParseBody(body);
  if (!j.ok()) return j.status();
  auto p = retention::ParsePolicy(*j);
  if (!p.ok()) return p.status();
  if (auto project = svc.ProjectName(p->project_id); !project.ok()) {
    if (project.status().code() == Code::kNotFound) return Status::InvalidArgument("scope.ref: " + project.status().message());
    return project.status();
  }
  return p;
}

http::Response Policies(Context& ctx, retention::Service& svc, const ApiCall& call) {
  const auto& s = call.segments;
  const std::string& m = call.req.method;
  if (s.size() == 1) {  // POST /retentions
    auto p = ReadPolicy(svc, call.body);
    if (!p.ok()) return p.status().code() == Code::kInvalidArgument ? Bad(p.status()) : FromStatus(p.status());
    auto id = svc.records().CreatePolicy(*p);
    if (!id.ok()) return id.status().code() == Code::kInvalidArgument ? Bad(id.status()) : FromStatus(id.status());
    return Created(std::string(kApiPrefix) + "/retentions/" + std::to_string(*id));
  }
  auto id = ParseId(s[1]);
  if (!id.ok()) return ApiError(404, "NOT_FOUND", "retention policy " + s[1].substr(0, 64) + " unknown");
  if (m == "GET") {
    auto p = svc.records().GetPolicy(*id);
    if (!p.ok()) return FromStatus(p.status());
    return JsonResponse(200, retention::PolicyJson(*p));
  }
  if (m == "DELETE") {
    if (Status st = svc.records().DeletePolicy(*id); !st.ok()) return FromStatus(st);
    svc.Forget(*id);
    return EmptyResponse(200);
  }
  if (auto old = svc.records().GetPolicy(*id); !old.ok()) return FromStatus(old.status());
  auto p = ReadPolicy(svc, call.body);
  if (!p.ok()) return p.status().code() == Code::kInvalidArgument ? Bad(p.status()) : FromStatus(p.status());
  p->id = *id;
  if (Status st = svc.records().UpdatePolicy(*p); !st.ok())
    return st.code() == Code::kInvalidArgument ? Bad(st) : FromStatus(st);
  svc.Forget(*id);
  (void)ctx;
  return EmptyResponse(200);
}

http::Response Executions(retention::Service& svc, const ApiCall& call) {
  const auto& s = call.segments;
  auto pid = ParseId(s[1]);
  if (!pid.ok()) return ApiError(404, "NOT_FOUND", "retention policy " + s[1].substr(0, 64) + " unknown");
  auto policy = svc.records().GetPolicy(*pid);
  if (!policy.ok()) return FromStatus(policy.status());
  if (s.size() == 3 && call.req.method == "POST") {
    auto j = ParseBody(call.body.empty() ? "{}" : call.body);
    if (!j.ok()) return Bad(j.status());
    bool dry_run = false;
    if (j->contains("dry_run")) {
      if (!(*j)["dry_run"].is_boolean()) return ApiError(400, "BAD_REQUEST", "dry_run: must be true or false");
      dry_run = (*j)["dry_run"].get<bool>();
    }
    auto e = svc.Execute(*pid, dry_run, "MANUAL");
    if (!e.ok()) {
      if (e.status().code() == Code::kFailedPrecondition) return ApiError(409, "CONFLICT", e.status().message());
      return FromStatus(e.status());
    }
    return Created(std::string(kApiPrefix) + "/retentions/" + s[1] + "/executions/" + std::to_string(e->id));
  }
  if (s.size() == 3) {
    auto q = ParseListQuery(call.req);
    if (!q.ok()) return FromStatus(q.status());
    auto execs = svc.records().ListExecutions(*pid);
    if (!execs.ok()) return FromStatus(execs.status());
    std::vector<json> items;
    for (const auto& e : *execs) items.push_back(retention::ExecutionJson(e));
    return PagedResponse(call.req, *q, std::move(items));
  }
  auto eid = ParseId(s[3]);
  if (!eid.ok()) return ApiError(404, "NOT_FOUND", "execution " + s[3].substr(0, 64) + " unknown");
  auto exec = svc.records().GetExecution(*pid, *eid);
  if (!exec.ok()) return FromStatus(exec.status());
  if (s.size() == 4) {  // PATCH: stop (Harbor's body {"action":"stop"}; the only action)
    if (Status st = svc.Stop(*pid, *eid); !st.ok()) return FromStatus(st);
    return EmptyResponse(200);
  }
  auto tasks = svc.records().ListTasks(*eid);
  if (!tasks.ok()) return FromStatus(tasks.status());
  if (s.size() == 5) {
    auto q = ParseListQuery(call.req);
    if (!q.ok()) return FromStatus(q.status());
    std::vector<json> items;
    for (const auto& t : *tasks) items.push_back(retention::TaskJson(t));
    return PagedResponse(call.req, *q, std::move(items));
  }
  auto tid = ParseId(s[5]);
  bool found = false;
  for (const auto& t : *tasks) found = found || (tid.ok() && t.id == *tid);
  if (!found) return ApiError(404, "NOT_FOUND", "task " + s[5].substr(0, 64) + " unknown");
  auto log = svc.records().GetLog(*tid);
  if (!log.ok()) return FromStatus(log.status());
  http::Response r = EmptyResponse(200);
  r.Set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(log).value();
  return r;
}

}  // namespace

http::Response HandleRetentions(Context& ctx, const ApiCall& call) {
  const auto& s = call.segments;
  if (s.size() == 2 && s[1] == "metadatas") return JsonResponse(200, retention::Metadatas());
  if (ctx.options.retention == nullptr) return ApiError(400, "BAD_REQUEST", "tag retention is not available");
  retention::Service& svc = *ctx.options.retention;
  if (s.size() <= 2) return Policies(ctx, svc, call);
  return Executions(svc, call);
}

}  // namespace pier::api
