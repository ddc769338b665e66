// GET /report?repository=R&reference=T[&against=A][&content=false]: the
// layer advisor's report on one pushed build (replication/advisor/advisor.h),
// the JSON `pier report --json` prints.
//
// A Pier extension (Harbor has no such resource). Query parameters rather
// than Harbor's /projects/{p}/repositories/{r}/artifacts/{ref} path, whose
// nested repository names must be double-escaped (a%252Fb): `pier report`
// and curl users pass names as they are. Access: anyone who may pull the
// repository (api.cc checks it before this runs), not only admins — the
// report is for the team that owns the image.
#include "adapter/api/context.h"
#include "base/digest.h"
#include "base/names.h"
#include "replication/advisor/advisor.h"

namespace pier::api {

Result<std::string> ReportRepository(const http::Request& req) {
  std::optional<std::string> repo = req.Query("repository");
  if (!repo || repo->empty()) return Status::InvalidArgument("query parameter repository is required");
  if (!IsValidRepositoryName(*repo)) return Status::InvalidArgument("repository: invalid repository name");
  return *repo;
}

namespace {

Status CheckReference(std::string_view field, std::string_view ref) {
  if (ref.starts_with("sha256:")) {
    if (!Digest::Parse(ref).ok()) return Status::InvalidArgument(std::string(field) + ": invalid digest");
    return Status::OK();
  }
  if (!IsValidTag(ref)) return Status::InvalidArgument(std::string(field) + ": invalid tag");
  return Status::OK();
}

}  // namespace

http::Response HandleReport(Context& ctx, const ApiCall& call) {
  if (ctx.options.advisor == nullptr) return ApiError(400, "BAD_REQUEST", "the layer advisor is not available");
  auto repo = ReportRepository(call.req);
  if (!repo.ok()) return FromStatus(repo.status());
  advisor::ReportRequest r;
  r.repository = *repo;
  r.reference = call.req.Query("reference").value_or("");
  if (r.reference.empty()) return ApiError(400, "BAD_REQUEST", "query parameter reference is required");
  if (Status s = CheckReference("reference", r.reference); !s.ok()) return FromStatus(s);
  r.against = call.req.Query("against").value_or("");
  if (!r.against.empty()) {
    if (Status s = CheckReference("against", r.against); !s.ok()) return FromStatus(s);
  }
  std::string content = call.req.Query("content").value_or("true");
  if (content != "true" && content != "false") {
    return ApiError(400, "BAD_REQUEST", "content: expected true or false");
  }
  r.content = content == "true";
  auto report = ctx.options.advisor->Report(r);
  if (!report.ok()) return FromStatus(report.status());
  return JsonResponse(200, *report);
}

}  // namespace pier::api
