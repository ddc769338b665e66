// Listings: /v2/<name>/tags/list, /v2/_catalog (only what the caller may
// pull), /v2/<name>/referrers/<digest>. Lists are lexically sorted and
// paginated with n/last and a Link header.
#include <nlohmann/json.hpp>

#include "adapter/registry/context.h"
#include "base/digest.h"
#include "base/manifest.h"

namespace pier::registry {
namespace {

http::Response Json(const nlohmann::json& j, std::string_view content_type = "application/json") {
  http::Response r = Empty(200);
  r.Set("Content-Type", std::string(content_type));
  r.body = j.dump();
  return r;
}

}  // namespace

http::Exchange HandleTags(const Context& ctx, const Call& call) {
  const std::string& name = call.route.name;
  Result<std::optional<size_t>> n = ParseLimit(call.req);
  if (!n.ok()) return http::Reply(OciError(400, "PAGINATION_NUMBER_INVALID", n.status().message()));
  if (!ctx.store->RepositoryExists(name)) {
    return http::Reply(OciError(404, "NAME_UNKNOWN", "repository name not known to registry", name));
  }
  std::string last = call.req.Query("last").value_or("");
  nlohmann::json tags = nlohmann::json::array();
  bool more = false;
  if (!n->has_value() || **n > 0) {  // n=0 asks for an empty page
    Result<Page> page = ctx.store->ListTags(name, last, n->value_or(0));
    if (!page.ok()) return http::Reply(FromStatus(page.status(), "NAME_UNKNOWN"));
    for (auto& t : page->items) tags.push_back(t);
    more = page->more;
  }
  http::Response r = Json({{"name", name}, {"tags", tags}});
  if (more) r.Set("Link", NextLink(ctx, "/v2/" + name + "/tags/list", **n, tags.back().get<std::string>()));
  return http::Reply(std::move(r));
}

http::Exchange HandleCatalog(const Context& ctx, const Call& call) {
  Result<std::optional<size_t>> n = ParseLimit(call.req);
  if (!n.ok()) return http::Reply(OciError(400, "PAGINATION_NUMBER_INVALID", n.status().message()));
  std::string last = call.req.Query("last").value_or("");
  nlohmann::json repos = nlohmann::json::array();
  bool more = false;
  if (!n->has_value() || **n > 0) {
    auto visible = [&](std::string_view repo) { return ctx.authorizer->Allowed(call.who, repo, auth::kPull); };
    Result<Page> page = ctx.store->ListRepositories(last, n->value_or(0), visible);
    if (!page.ok()) return http::Reply(FromStatus(page.status(), "NAME_UNKNOWN"));
    for (auto& t : page->items) repos.push_back(t);
    more = page->more;
  }
  if (ctx.authorizer->enabled() && call.who.anonymous && repos.empty()) {
    return http::Reply(Challenge(ctx, call.req, "authentication required", "registry:catalog:*"));
  }
  http::Response r = Json({{"repositories", repos}});
  if (more) r.Set("Link", NextLink(ctx, "/v2/_catalog", **n, repos.back().get<std::string>()));
  return http::Reply(std::move(r));
}

http::Exchange HandleReferrers(const Context& ctx, const Call& call) {
  Result<Digest> subject = Digest::Parse(call.route.reference);
  if (!subject.ok()) return http::Reply(OciError(400, "DIGEST_INVALID", subject.status().message()));
  std::string artifact_type = call.req.Query("artifactType").value_or("");
  Result<std::vector<Descriptor>> refs = ctx.store->ListReferrers(call.route.name, *subject, artifact_type);
  if (!refs.ok()) return http::Reply(FromStatus(refs.status(), "NAME_UNKNOWN"));
  nlohmann::json manifests = nlohmann::json::array();
  for (const Descriptor& d : *refs) {
    auto j = nlohmann::json::parse(DescriptorJson(d), nullptr, false);
    if (!j.is_discarded()) manifests.push_back(std::move(j));
  }
  http::Response r = Json({{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", manifests}},
                          media::kOciIndex);
  if (!artifact_type.empty()) r.Set("OCI-Filters-Applied", "artifactType");
  return http::Reply(std::move(r));
}

}  // namespace pier::registry
