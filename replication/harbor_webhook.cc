#include "replication/harbor_webhook.h"

#include <nlohmann/json.hpp>

#include "adapter/client/url.h"
#include "base/json_depth.h"
#include "base/text.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;

Status Invalid(const std::string& field, const std::string& what) {
  return Status::InvalidArgument(field + ": " + what);
}

// CloudEvents type → Harbor's event type.
std::string FromCloudType(std::string_view t) {
  if (t == "harbor.artifact.pushed") return "PUSH_ARTIFACT";
  if (t == "harbor.artifact.deleted") return "DELETE_ARTIFACT";
  if (t == "harbor.tag.created") return "CREATE_TAG";
  if (t == "harbor.tag.deleted") return "DELETE_TAG";
  return "";
}

bool Known(std::string_view t) {
  return t == "PUSH_ARTIFACT" || t == "DELETE_ARTIFACT" || t == "CREATE_TAG" || t == "DELETE_TAG";
}

std::string Str(const json& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// host[:port] of Harbor's resource_url, which usually has no scheme
// ("harbor.example:8443/library/app:1"); "" when it does not parse.
std::string SourceHostOf(std::string_view resource_url) {
  if (resource_url.empty()) return "";
  std::string text(resource_url);
  if (text.find("://") == std::string::npos) text = "https://" + text;
  auto url = client::Url::Parse(text);
  return url.ok() ? url->HostHeader() : std::string();
}

}  // namespace

Result<std::vector<HarborEvent>> ParseHarborWebhook(std::string_view content_type, std::string_view body) {
  if (!JsonDepthWithin(body)) return Status::InvalidArgument("body: JSON nests too deeply");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("body: not a JSON object");
  bool cloud = content_type.find("cloudevents") != std::string_view::npos || j.contains("specversion");
  std::string type;
  std::string id;
  int64_t occur_at = 0;
  const json* data = nullptr;
  if (cloud) {
    type = FromCloudType(Str(j, "type"));
    if (type.empty()) return Invalid("type", "not an artifact or tag event Pier handles");
    id = Str(j, "id");
    auto d = j.find("data");
    if (d == j.end() || !d->is_object()) return Invalid("data", "required, an object");
    data = &*d;
  } else {
    type = Str(j, "type");
    if (!Known(type)) return Invalid("type", "must be PUSH_ARTIFACT, DELETE_ARTIFACT, CREATE_TAG or DELETE_TAG");
    auto o = j.find("occur_at");
    if (o != j.end() && o->is_number_integer()) occur_at = o->get<int64_t>();
    auto d = j.find("event_data");
    if (d == j.end() || !d->is_object()) return Invalid("event_data", "required, an object");
    data = &*d;
  }
  const std::string prefix = cloud ? "data" : "event_data";
  auto repo = data->find("repository");
  if (repo == data->end() || !repo->is_object()) return Invalid(prefix + ".repository", "required, an object");
  std::string full = Str(*repo, "repo_full_name");
  if (full.empty()) {
    std::string ns = Str(*repo, "namespace"), name = Str(*repo, "name");
    if (!ns.empty() && !name.empty()) full = ns + "/" + name;
  }
  if (full.empty()) return Invalid(prefix + ".repository.repo_full_name", "required");
  auto res = data->find("resources");
  if (res == data->end() || !res->is_array() || res->empty()) {
    return Invalid(prefix + ".resources", "required, a non-empty array");
  }
  std::vector<HarborEvent> out;
  for (size_t i = 0; i < res->size(); ++i) {
    const json& r = (*res)[i];
    std::string at = prefix + ".resources[" + std::to_string(i) + "]";
    if (!r.is_object()) return Invalid(at, "must be an object");
    HarborEvent e;
    e.type = type;
    e.repository = full;
    e.digest = Str(r, "digest");
    e.reference = Str(r, "tag");
    if (e.reference.empty()) e.reference = e.digest;
    if (e.reference.empty()) return Invalid(at + ".tag", "a tag or a digest is required");
    e.occur_at = occur_at;
    e.source_host = SourceHostOf(Str(r, "resource_url"));
    e.id = !id.empty() ? id + "#" + std::to_string(i)
                       : type + "|" + std::to_string(occur_at) + "|" + full + "|" + e.reference + "|" + e.digest;
    out.push_back(std::move(e));
  }
  return out;
}

bool SameRegistryHost(std::string_view endpoint_url, std::string_view source_host) {
  auto url = client::Url::Parse(endpoint_url);
  if (!url.ok()) return false;
  // "h" matches https://h and http://h; "h:5000" matches a URL on port 5000.
  return source_host == url->HostHeader() || source_host == url->host + ":" + std::to_string(url->port);
}

}  // namespace pier::replication
