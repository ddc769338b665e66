// /replication/executions, /replication/executions/{id},
// /replication/executions/{id}/tasks and .../tasks/{task_id}/log.
#include "adapter/api/context.h"
#include "replication/engine.h"
#include "replication/execution_store.h"

namespace pier::api {
namespace {

using json = nlohmann::json;

Status NeedEngine(Context& ctx) {
  if (ctx.options.engine == nullptr || ctx.options.executions == nullptr) {
    return Status::Unsupported("replication executions are not available in this instance");
  }
  return Status::OK();
}

// Harbor's execution object, plus Pier's byte counts under "pier" (what
// `pier replicate` draws its progress bar from): live while it runs, as they
// stood at the end once it ended.
json ExecutionOut(Context& ctx, const replication::Execution& e) {
  json j = replication::ExecutionToJson(e);
  if (auto p = ctx.options.engine->Progress(e.id)) j["pier"] = replication::ProgressToJson(*p);
  else if (e.final_progress) j["pier"] = replication::ProgressToJson(*e.final_progress);
  return j;
}

http::Response List(Context& ctx, const ApiCall& call) {
  auto q = ParseListQuery(call.req);
  if (!q.ok()) return FromStatus(q.status());
  replication::ExecutionFilter f;
  if (auto v = call.req.Query("policy_id"); v && !v->empty()) {
    auto id = ParseId(*v);
    if (!id.ok()) return ApiError(400, "BAD_REQUEST", "policy_id: must be a positive integer");
    f.policy_id = *id;
  }
  if (auto v = call.req.Query("status")) f.status = *v;
  if (auto v = call.req.Query("trigger")) f.trigger = *v;
  auto all = ctx.options.executions->ListExecutions(f);
  if (!all.ok()) return FromStatus(all.status());
  std::vector<json> items;
  for (const auto& e : *all) items.push_back(ExecutionOut(ctx, e));
  return PagedResponse(call.req, *q, std::move(items));
}

http::Response Start(Context& ctx, const ApiCall& call) {
  auto body = ParseBody(call.body);
  if (!body.ok()) return FromStatus(body.status());
  auto it = body->find("policy_id");
  if (it == body->end() || !it->is_number_integer() || it->get<int64_t>() <= 0) {
    return ApiError(400, "BAD_REQUEST", "policy_id: required, a positive integer");
  }
  auto e = ctx.options.engine->Start(it->get<int64_t>(), replication::kTriggerManual);
  if (!e.ok()) return FromStatus(e.status());
  return Created(std::string(kApiPrefix) + "/replication/executions/" + std::to_string(e->id));
}

http::Response Tasks(Context& ctx, const ApiCall& call, int64_t exec_id) {
  auto e = ctx.options.executions->GetExecution(exec_id);
  if (!e.ok()) return FromStatus(e.status());
  auto q = ParseListQuery(call.req);
  if (!q.ok()) return FromStatus(q.status());
  replication::TaskFilter f;
  if (auto v = call.req.Query("status")) f.status = *v;
  if (auto v = call.req.Query("resource_type")) f.resource_type = *v;
  auto tasks = ctx.options.executions->ListTasks(exec_id, f);
  if (!tasks.ok()) return FromStatus(tasks.status());
  std::vector<json> items;
  for (const auto& t : *tasks) items.push_back(replication::TaskToJson(t));
  return PagedResponse(call.req, *q, std::move(items));
}

http::Response Log(Context& ctx, int64_t exec_id, std::string_view task_segment) {
  auto task_id = ParseId(task_segment);
  if (!task_id.ok()) return FromStatus(task_id.status());
  auto t = ctx.options.executions->GetTask(exec_id, *task_id);
  if (!t.ok()) return FromStatus(t.status());
  auto text = ctx.options.executions->ReadLog(*task_id);
  if (!text.ok()) return FromStatus(text.status());
  return TextResponse(std::move(*text));
}

}  // namespace

http::Response HandleExecutions(Context& ctx, const ApiCall& call) {
  if (Status s = NeedEngine(ctx); !s.ok()) return FromStatus(s);
  const auto& seg = call.segments;  // "replication", "executions"[, id[, "tasks"[, task, "log"]]]
  if (seg.size() == 2) return call.req.method == "GET" ? List(ctx, call) : Start(ctx, call);
  auto id = ParseId(seg[2]);
  if (!id.ok()) return FromStatus(id.status());
  if (seg.size() == 4) return Tasks(ctx, call, *id);
  if (seg.size() == 6) return Log(ctx, *id, seg[4]);
  if (call.req.method == "PUT") {
    Status s = ctx.options.engine->Stop(*id);
    if (!s.ok()) return FromStatus(s);
    return EmptyResponse(200);
  }
  auto e = ctx.options.executions->GetExecution(*id);
  if (!e.ok()) return FromStatus(e.status());
  return JsonResponse(200, ExecutionOut(ctx, *e));
}

}  // namespace pier::api
