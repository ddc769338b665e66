// /quotas: Harbor's project quotas (reference/caching.md 5.6). A project is
// the first component of a repository name; it appears here once it holds
// something or has a limit. GET /quotas (reference=project,
// reference_id=<quota id> or name=<project>), GET /quotas/{id},
// PUT /quotas/{id} {"hard":{"storage":N}} (-1: no limit). Pier extension,
// since Pier has no project API to create one with a limit: PUT
// /quotas/{project name} sets the limit of a project before its first push.
#include "adapter/api/context.h"
#include "base/names.h"
#include "base/harbor_time.h"

namespace pier::api {
namespace {

using nlohmann::json;

json QuotaJson(const ProjectQuota& q) {
  auto t = [](int64_t unix) { return FormatTime(std::chrono::system_clock::from_time_t(unix)); };
  return json{{"id", q.id},
              {"ref", {{"id", q.id}, {"name", q.project}, {"owner_name", "admin"}}},
              {"creation_time", t(q.created_unix)},
              {"update_time", t(q.updated_unix)},
              {"hard", {{"storage", q.hard}}},
              {"used", {{"storage", q.used}}}};
}

http::Response List(Context& ctx, const ApiCall& call) {
  auto q = ParseListQuery(call.req);
  if (!q.ok()) return FromStatus(q.status());
  if (auto ref = call.req.Query("reference"); ref && *ref != "project") {
    return ApiError(400, "BAD_REQUEST", "reference: only \"project\" quotas exist");
  }
  std::optional<int64_t> ref_id;
  if (auto id = call.req.Query("reference_id")) {
    auto parsed = ParseId(*id);
    if (!parsed.ok()) return ApiError(400, "BAD_REQUEST", "reference_id: " + parsed.status().message());
    ref_id = *parsed;
  }
  auto all = ctx.store->ListQuotas();
  if (!all.ok()) return FromStatus(all.status());
  std::vector<json> items;
  for (const auto& quota : *all) {
    if (ref_id && quota.id != *ref_id) continue;
    if (!q->Matches(quota.project)) continue;
    items.push_back(QuotaJson(quota));
  }
  return PagedResponse(call.req, *q, std::move(items));
}

// {"hard":{"storage":N}}: the limit, or InvalidArgument naming the field.
Result<int64_t> ParseHard(const std::string& body) {
  auto j = ParseBody(body);
  if (!j.ok()) return j.status();
  if (!j->contains("hard") || !(*j)["hard"].is_object()) return Status::InvalidArgument("hard: missing or not an object");
  const json& hard = (*j)["hard"];
  for (const auto& [k, v] : hard.items()) {
    if (k != "storage") return Status::InvalidArgument("hard." + k + ": unknown resource (only storage)");
  }
  if (!hard.contains("storage") || !hard["storage"].is_number_integer()) {
    return Status::InvalidArgument("hard.storage: must be an integer number of bytes, -1 for no limit");
  }
  const int64_t n = hard["storage"].get<int64_t>();
  if (n < -1) return Status::InvalidArgument("hard.storage: must be -1 (no limit) or a number of bytes");
  return n;
}

}  // namespace

http::Response HandleQuotas(Context& ctx, const ApiCall& call) {
  const auto& s = call.segments;
  if (s.size() == 1) return List(ctx, call);
  // The id, or (Pier) a project name that is not all digits.
  std::string project;
  if (auto id = ParseId(s[1]); id.ok()) {
    auto quota = ctx.store->GetQuota(*id);
    if (!quota.ok()) return FromStatus(quota.status());
    if (call.req.method == "GET") return JsonResponse(200, QuotaJson(*quota));
    project = quota->project;
  } else {
    if (call.req.method == "GET" || !IsValidRepositoryName(s[1]) || s[1].find('/') != std::string::npos) {
      return ApiError(404, "NOT_FOUND", "quota " + s[1].substr(0, 64) + " unknown");
    }
    project = s[1];
  }
  auto hard = ParseHard(call.body);
  if (!hard.ok()) return ApiError(400, "BAD_REQUEST", hard.status().message());
  auto set = ctx.store->SetQuota(project, *hard);
  if (!set.ok()) return FromStatus(set.status());
  return EmptyResponse(200);
}

}  // namespace pier::api
