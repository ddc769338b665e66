#include "cache/proxy/upstream.h"

#include <set>

#include "base/file.h"
#include "base/json_fields.h"
#include "base/names.h"
#include "base/text.h"

namespace pier::proxy {
namespace {

bool IsDockerHubHost(std::string_view host) {
  return host == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io" ||
         host == "registry.hub.docker.com";
}

// "https://registry-1.docker.io/" → "registry-1.docker.io".
std::string HostOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find('/'));
  return AsciiLower(url);
}

Status ParseOne(const nlohmann::json& u, const std::string& where, Upstream* up) {
  PIER_TRY(CheckKeys(u, where,
                     {"name", "url", "prefix", "ns", "username", "password_file", "insecure", "ca",
                      "tag_ttl_seconds", "offline_period_seconds"}));
  PIER_TRY(ReadString(u, where, "name", &up->name));
  PIER_TRY(ReadString(u, where, "url", &up->url));
  PIER_TRY(ReadString(u, where, "prefix", &up->prefix));
  PIER_TRY(ReadString(u, where, "username", &up->username));
  PIER_TRY(ReadString(u, where, "password_file", &up->password_file));
  PIER_TRY(ReadBool(u, where, "insecure", &up->insecure));
  PIER_TRY(ReadString(u, where, "ca", &up->ca_file));
  PIER_TRY(ReadInt(u, where, "tag_ttl_seconds", 0, 365LL * 24 * 3600, &up->tag_ttl_seconds));
  PIER_TRY(ReadInt(u, where, "offline_period_seconds", 0, 24 * 3600, &up->offline_period_seconds));
  if (HasField(u, "ns")) {
    const auto& ns = u["ns"];
    if (!ns.is_array()) return FieldError(FieldPath(where, "ns"), "must be an array of registry host names");
    for (size_t i = 0; i < ns.size(); ++i) {
      std::string path = IndexPath(FieldPath(where, "ns"), i);
      if (!ns[i].is_string() || ns[i].get<std::string>().empty()) {
        return FieldError(path, "must be a registry host name such as docker.io or ghcr.io");
      }
      std::string host = AsciiLower(ns[i].get<std::string>());
      if (host.find_first_of("/?# ") != std::string::npos) {
        return FieldError(path, "must be a host name (with an optional :port), not a URL");
      }
      up->ns.push_back(host);
    }
  }
  if (up->name.empty()) return FieldError(FieldPath(where, "name"), "is required");
  if (!IsValidRepositoryName(up->name) || up->name.find('/') != std::string::npos) {
    return FieldError(FieldPath(where, "name"), "must be one lowercase name component ([a-z0-9] with . _ -)");
  }
  if (up->url.empty()) return FieldError(FieldPath(where, "url"), "is required");
  if (up->url.rfind("http://", 0) != 0 && up->url.rfind("https://", 0) != 0) {
    return FieldError(FieldPath(where, "url"), "must start with http:// or https://");
  }
  if (up->prefix.empty()) up->prefix = up->name;
  if (!IsValidRepositoryName(up->prefix)) {
    return FieldError(FieldPath(where, "prefix"), "must be a valid repository name prefix (lowercase, '/'-separated)");
  }
  if (!up->password_file.empty()) {
    Result<std::string> pw = ReadSmallFile(up->password_file);
    if (!pw.ok()) return FieldError(FieldPath(where, "password_file"), pw.status().message());
    // One trailing newline (echo, editors) is not part of the secret.
    up->password = *pw;
    if (!up->password.empty() && up->password.back() == '\n') up->password.pop_back();
    if (!up->password.empty() && up->password.back() == '\r') up->password.pop_back();
  }
  if (!up->password.empty() && up->username.empty()) {
    return FieldError(FieldPath(where, "username"), "is required with password_file");
  }
  if (!up->ca_file.empty()) {
    Result<std::string> ca = ReadSmallFile(up->ca_file);
    if (!ca.ok()) return FieldError(FieldPath(where, "ca"), ca.status().message());
    up->ca_pem = *ca;
  }
  up->docker_hub = IsDockerHubHost(HostOf(up->url));
  for (const std::string& h : up->ns) up->docker_hub = up->docker_hub || IsDockerHubHost(h);
  return Status::OK();
}

bool UnderPrefix(std::string_view name, std::string_view prefix) {
  return name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix && name[prefix.size()] == '/';
}

}  // namespace

Result<std::vector<Upstream>> ParseUpstreams(const nlohmann::json& upstreams, std::string_view path) {
  if (!upstreams.is_array()) return FieldError(path, "must be an array of upstream objects");
  std::vector<Upstream> out;
  std::set<std::string> names, hosts;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    std::string where = IndexPath(path, i);
    Upstream up;
    PIER_TRY(ParseOne(upstreams[i], where, &up));
    if (!names.insert(up.name).second) return FieldError(FieldPath(where, "name"), "\"" + up.name + "\" is used twice");
    for (const std::string& h : up.ns) {
      if (!hosts.insert(h).second) return FieldError(FieldPath(where, "ns"), "\"" + h + "\" is claimed twice");
    }
    for (const Upstream& other : out) {
      if (other.prefix == up.prefix || UnderPrefix(up.prefix, other.prefix) || UnderPrefix(other.prefix, up.prefix)) {
        return FieldError(FieldPath(where, "prefix"),
                          "\"" + up.prefix + "\" overlaps the prefix of upstream \"" + other.name + "\"");
      }
    }
    out.push_back(std::move(up));
  }
  return out;
}

std::optional<Target> Resolve(const std::vector<Upstream>& upstreams, std::string_view name,
                              std::optional<std::string_view> ns) {
  auto make = [&](size_t i, std::string_view repo) -> std::optional<Target> {
    const Upstream& up = upstreams[i];
    std::string upstream_repo(repo);
    if (up.docker_hub && upstream_repo.find('/') == std::string::npos) upstream_repo = "library/" + upstream_repo;
    std::string local = up.prefix + "/" + upstream_repo;
    // A local name past the 255-character limit cannot be stored.
    if (!IsValidRepositoryName(local) || !IsValidRepositoryName(upstream_repo)) return std::nullopt;
    return Target{i, std::move(upstream_repo), std::move(local)};
  };
  for (size_t i = 0; i < upstreams.size(); ++i) {
    if (UnderPrefix(name, upstreams[i].prefix)) return make(i, name.substr(upstreams[i].prefix.size() + 1));
  }
  if (ns && !ns->empty()) {
    std::string host = AsciiLower(*ns);
    for (size_t i = 0; i < upstreams.size(); ++i) {
      for (const std::string& h : upstreams[i].ns) {
        if (h == host) return make(i, name);
      }
    }
  }
  return std::nullopt;
}

Status UpstreamError(const Upstream& up, const Status& cause) {
  return Status::Unavailable("upstream " + up.name + " (" + up.url + "): " + cause.message());
}

}  // namespace pier::proxy
