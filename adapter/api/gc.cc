// Harbor's GC API: /system/gc (history), /system/gc/{id} (GET; PUT stops),
// /system/gc/{id}/log and /system/gc/schedule (GET, POST, PUT).
#include "adapter/api/context.h"
#include "base/json_fields.h"
#include "cache/gc/gc_service.h"
#include "base/harbor_time.h"

namespace pier::api {
namespace {

using json = nlohmann::json;

std::string Time(int64_t unix_ms) {
  return FormatTime(std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
}

// Harbor's GCHistory object, plus Pier's figures of a finished run under
// "pier" (the GcReport: freed_bytes, blobs, manifests, uploads, orphans,
// pinned bytes; and the error of a failed run).
json RunOut(const gc::GcRun& r) {
  json j = {{"id", r.id},
            {"job_name", "GARBAGE_COLLECTION"},
            {"job_kind", r.kind},
            {"job_parameters", gc::ParametersJson(r.parameters)},
            {"job_status", r.status},
            {"deleted", false},
            {"creation_time", Time(r.created_ms)},
            {"update_time", Time(r.updated_ms)}};
  json pier = json::object();
  if (r.report) pier = gc::ReportJson(*r.report);
  if (!r.error.empty()) pier["error"] = r.error;
  if (r.log_lines_dropped > 0) pier["log_lines_dropped"] = r.log_lines_dropped;
  if (!pier.empty()) j["pier"] = std::move(pier);
  return j;
}

http::Response List(gc::GcService& gc, const ApiCall& call) {
  auto q = ParseListQuery(call.req);
  if (!q.ok()) return FromStatus(q.status());
  auto runs = gc.List();
  if (!runs.ok()) return FromStatus(runs.status());
  std::vector<json> items;
  for (const auto& r : *runs) items.push_back(RunOut(r));
  return PagedResponse(call.req, *q, std::move(items));
}

http::Response Log(gc::GcService& gc, int64_t id) {
  auto text = gc.Log(id);
  if (!text.ok()) return FromStatus(text.status());
  return TextResponse(std::move(*text));
}

// Harbor's schedule object: the GC job that fires on it, with
// schedule.next_scheduled_time; "pier".source says whether it is the
// config's gc.schedule or one set through this API.
http::Response GetSchedule(gc::GcService& gc) {
  auto s = gc.Schedule();
  json sched = {{"type", s.schedule.type}, {"cron", s.schedule.cron}};
  if (s.next) sched["next_scheduled_time"] = FormatTime(*s.next);
  json j = {{"job_name", "GARBAGE_COLLECTION"},
            {"job_kind", "SCHEDULE"},
            {"job_parameters", gc::ParametersJson(s.parameters)},
            {"schedule", std::move(sched)},
            {"parameters", {{"delete_untagged", s.parameters.delete_untagged},
                            {"dry_run", s.parameters.dry_run},
                            {"workers", s.parameters.workers}}},
            {"creation_time", Time(s.updated_ms)},
            {"update_time", Time(s.updated_ms)},
            {"pier", {{"source", s.from_api ? "api" : "config"}}}};
  return JsonResponse(200, j);
}

// {"schedule":{"type","cron"},"parameters":{"delete_untagged","dry_run","workers"}}.
// POST with type Manual runs now (201 + Location of the run); otherwise the
// schedule is saved (POST 201, PUT 200). PUT with Manual is refused: a
// schedule that runs once is not a schedule.
http::Response SetSchedule(gc::GcService& gc, const ApiCall& call) {
  auto body = ParseBody(call.body);
  if (!body.ok()) return FromStatus(body.status());
  if (!HasField(*body, "schedule") || !(*body)["schedule"].is_object()) {
    return ApiError(400, "BAD_REQUEST", "schedule: required, an object with type and cron");
  }
  const json& sj = (*body)["schedule"];
  std::string type, cron;
  if (Status s = ReadString(sj, "schedule", "type", &type); !s.ok()) return FromStatus(s);
  if (Status s = ReadString(sj, "schedule", "cron", &cron); !s.ok()) return FromStatus(s);
  if (type.empty()) return ApiError(400, "BAD_REQUEST", "schedule.type: required");
  gc::GcParameters p;
  if (HasField(*body, "parameters")) {
    const json& pj = (*body)["parameters"];
    if (!pj.is_object()) return ApiError(400, "BAD_REQUEST", "parameters: must be an object");
    if (Status s = ReadBool(pj, "parameters", "delete_untagged", &p.delete_untagged); !s.ok()) return FromStatus(s);
    if (Status s = ReadBool(pj, "parameters", "dry_run", &p.dry_run); !s.ok()) return FromStatus(s);
    if (Status s = ReadInt(pj, "parameters", "workers", 1, 10, &p.workers); !s.ok()) return FromStatus(s);
  }
  auto normalized = gc::NormalizeSchedule(type, cron);
  if (!normalized.ok()) return FromStatus(normalized.status());
  if (type == "Manual" && call.req.method == "POST") {
    auto run = gc.StartRun(gc::kKindManual, p);
    if (!run.ok()) return FromStatus(run.status());
    return Created(std::string(kApiPrefix) + "/system/gc/" + std::to_string(run->id));
  }
  if (Status s = gc.SetSchedule(*normalized, p); !s.ok()) return FromStatus(s);
  if (call.req.method == "POST") return Created(std::string(kApiPrefix) + "/system/gc/schedule");
  return EmptyResponse(200);
}

}  // namespace

http::Response HandleGc(Context& ctx, const ApiCall& call) {
  if (ctx.options.gc == nullptr) {
    return FromStatus(Status::Unsupported("garbage collection is not available in this instance"));
  }
  gc::GcService& gc = *ctx.options.gc;
  const auto& seg = call.segments;  // "system", "gc"[, id | "schedule"[, "log"]]
  if (seg.size() == 2) return List(gc, call);
  if (seg[2] == "schedule") return call.req.method == "GET" ? GetSchedule(gc) : SetSchedule(gc, call);
  auto id = ParseId(seg[2]);
  if (!id.ok()) return FromStatus(id.status());
  if (seg.size() == 4) return Log(gc, *id);
  if (call.req.method == "PUT") {
    if (Status s = gc.Stop(*id); !s.ok()) return FromStatus(s);
    return EmptyResponse(200);
  }
  auto run = gc.Get(*id);
  if (!run.ok()) return FromStatus(run.status());
  return JsonResponse(200, RunOut(*run));
}

}  // namespace pier::api
