// Replication endpoints, see registry_endpoint.h.
#include "replication/registry_endpoint.h"

#include <algorithm>
#include <cctype>

#include "base/json_fields.h"
#include "base/text.h"
#include "base/harbor_time.h"

namespace pier::replication {
namespace {

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

Status CheckType(const std::string& type) {
  if (type.empty())
    return Status::InvalidArgument("type: required (one of " + Join(SupportedEndpointTypes()) + ")");
  if (Contains(SupportedEndpointTypes(), type)) return Status::OK();
  if (Contains(HarborEndpointTypes(), type)) {
    return Status::InvalidArgument("type: \"" + type +
                                   "\" is a Harbor endpoint type that Pier does not support; supported: " +
                                   Join(SupportedEndpointTypes()));
  }
  return Status::InvalidArgument("type: unknown endpoint type \"" + type +
                                 "\"; supported: " + Join(SupportedEndpointTypes()));
}

Status CheckCredentialType(const std::string& type, std::string_view path) {
  if (type == kCredentialBasic || type == kCredentialOAuth) return Status::OK();
  return Status::InvalidArgument(std::string(path) + ": must be \"basic\" or \"oauth\", got \"" + type +
                                 "\"");
}

Status CheckCaCertificate(const std::string& pem) {
  if (pem.empty() || pem.find("-----BEGIN CERTIFICATE-----") != std::string::npos) return Status::OK();
  return Status::InvalidArgument("ca_certificate: must be a PEM certificate (-----BEGIN CERTIFICATE-----)");
}

}  // namespace

const std::vector<std::string>& HarborEndpointTypes() {
  static const std::vector<std::string> kTypes = {
      "harbor",  "docker-hub", "docker-registry", "huawei-SWR",        "google-gcr",
      "aws-ecr", "azure-acr",  "ali-acr",         "jfrog-artifactory", "quay",
      "gitlab",  "dtr",        "tencent-tcr",     "github-ghcr",       "volcengine-cr"};
  return kTypes;
}

const std::vector<std::string>& SupportedEndpointTypes() {
  static const std::vector<std::string> kTypes = {std::string(kTypeAliAcr), std::string(kTypeDockerRegistry),
                                                  std::string(kTypeHarbor)};
  return kTypes;
}

Result<std::string> NormalizeEndpointUrl(std::string_view url, std::string_view field) {
  std::string bad = std::string(field) + ": must be http(s)://host[:port], got \"" + std::string(url) + "\"";
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front()))) url.remove_prefix(1);
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.remove_suffix(1);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty()) return Status::InvalidArgument(std::string(field) + ": required, http(s)://host[:port]");
  std::string lower = AsciiLower(url);
  std::string scheme;
  if (lower.rfind("http://", 0) == 0) {
    scheme = "http://";
  } else if (lower.rfind("https://", 0) == 0) {
    scheme = "https://";
  } else {
    return Status::InvalidArgument(bad);
  }
  std::string_view rest = url.substr(scheme.size());
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // IPv6 literal
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close == 1) return Status::InvalidArgument(bad);
    for (char c : rest.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return Status::InvalidArgument(bad);
    }
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument(bad);
      port = after.substr(1);
      if (port.empty()) return Status::InvalidArgument(bad);
    }
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return Status::InvalidArgument(bad);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar))
      return Status::InvalidArgument(bad);
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::InvalidArgument(bad);
    }
    int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535) return Status::InvalidArgument(bad);
  }
  return scheme + std::string(rest);
}

Result<Endpoint> ParseEndpointCreate(const nlohmann::json& body) {
  try {
    if (!body.is_object()) return Status::InvalidArgument("body: must be a JSON object");
    Endpoint e;
    std::string url;
    Status s;
    if (!(s = ReadString(body, "", "name", &e.name)).ok()) return s;
    if (!(s = ReadString(body, "", "description", &e.description)).ok()) return s;
    if (!(s = ReadString(body, "", "url", &url)).ok()) return s;
    if (!(s = ReadString(body, "", "type", &e.type)).ok()) return s;
    if (!(s = ReadBool(body, "", "insecure", &e.insecure)).ok()) return s;
    if (!(s = ReadString(body, "", "ca_certificate", &e.ca_certificate)).ok()) return s;
    if (HasField(body, "credential")) {
      const auto& c = body["credential"];
      if (!c.is_object())
        return Status::InvalidArgument("credential: must be an object {type, access_key, access_secret}");
      if (!(s = ReadString(c, "credential", "type", &e.credential.type)).ok()) return s;
      if (e.credential.type.empty()) e.credential.type = std::string(kCredentialBasic);
      if (!(s = ReadString(c, "credential", "access_key", &e.credential.access_key)).ok()) return s;
      if (!(s = ReadString(c, "credential", "access_secret", &e.credential.access_secret)).ok()) {
        return s;
      }
      if (!(s = CheckCredentialType(e.credential.type, "credential.type")).ok()) return s;
    }
    if (e.name.empty()) return Status::InvalidArgument("name: required");
    if (!(s = CheckType(e.type)).ok()) return s;
    auto normalized = NormalizeEndpointUrl(url);
    if (!normalized.ok()) return normalized.status();
    e.url = std::move(normalized).value();
    if (!(s = CheckCaCertificate(e.ca_certificate)).ok()) return s;
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return Status::InvalidArgument(std::string("body: ") + ex.what());
  }
}

Result<Endpoint> ApplyEndpointUpdate(const Endpoint& existing, const nlohmann::json& in) {
  try {
    if (!in.is_object()) return Status::InvalidArgument("body: must be a JSON object");
    // Harbor's update fields, the nested credential POST takes, and the
    // read-only fields of a GET (so an object can be PUT back as read).
    PIER_TRY(CheckKeys(in, "body",
                       {"name", "description", "url", "insecure", "ca_certificate", "credential_type", "access_key",
                        "access_secret", "credential", "id", "type", "status", "creation_time", "update_time"}));
    if (HasField(in, "type") && (!in["type"].is_string() || in["type"].get<std::string>() != existing.type)) {
      return Status::InvalidArgument("type: cannot be changed (\"" + existing.type + "\"); create another registry");
    }
    nlohmann::json body = in;
    if (HasField(in, "credential")) {
      const auto& c = in["credential"];
      if (!c.is_object())
        return Status::InvalidArgument("credential: must be an object {type, access_key, access_secret}");
      PIER_TRY(CheckKeys(c, "credential", {"type", "access_key", "access_secret"}));
      for (const auto& [nested, flat] : {std::pair{"type", "credential_type"}, std::pair{"access_key", "access_key"},
                                         std::pair{"access_secret", "access_secret"}}) {
        if (!c.contains(nested)) continue;
        if (HasField(in, flat)) {
          return Status::InvalidArgument(std::string("credential.") + nested + ": given twice (also as " + flat + ")");
        }
        body[flat] = c[nested];
      }
    }
    Endpoint e = existing;
    Status s;
    if (!(s = ReadString(body, "", "name", &e.name)).ok()) return s;
    if (HasField(body, "name") && e.name.empty()) return Status::InvalidArgument("name: must not be empty");
    if (!(s = ReadString(body, "", "description", &e.description)).ok()) return s;
    if (HasField(body, "url")) {
      std::string url;
      if (!(s = ReadString(body, "", "url", &url)).ok()) return s;
      auto normalized = NormalizeEndpointUrl(url);
      if (!normalized.ok()) return normalized.status();
      e.url = std::move(normalized).value();
    }
    if (!(s = ReadBool(body, "", "insecure", &e.insecure)).ok()) return s;
    if (!(s = ReadString(body, "", "ca_certificate", &e.ca_certificate)).ok()) return s;
    if (!(s = CheckCaCertificate(e.ca_certificate)).ok()) return s;
    if (!(s = ReadString(body, "", "credential_type", &e.credential.type)).ok()) return s;
    if (e.credential.type.empty()) e.credential.type = std::string(kCredentialBasic);
    if (!(s = CheckCredentialType(e.credential.type, "credential_type")).ok()) return s;
    if (!(s = ReadString(body, "", "access_key", &e.credential.access_key)).ok()) return s;
    std::string secret;
    if (!(s = ReadString(body, "", "access_secret", &secret)).ok()) return s;
    bool new_secret = HasField(body, "access_secret") && secret != kSecretMask;
    if (new_secret) {
      e.credential.access_secret = secret;
    } else if (e.url != existing.url) {
      e.credential.access_secret.clear();
    }
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return Status::InvalidArgument(std::string("body: ") + ex.what());
  }
}

nlohmann::json EndpointToJson(const Endpoint& e) {
  return {
      {"id", e.id},
      {"name", e.name},
      {"description", e.description},
      {"url", e.url},
      {"type", e.type},
      {"credential",
       {{"type", e.credential.type},
        {"access_key", e.credential.access_key},
        {"access_secret", e.credential.access_secret.empty() ? "" : std::string(kSecretMask)}}},
      {"insecure", e.insecure},
      {"ca_certificate", e.ca_certificate},
      {"status", e.status},
      {"creation_time", FormatTime(e.creation_time)},
      {"update_time", FormatTime(e.update_time)},
  };
}

nlohmann::json EndpointInfo(const Endpoint& e) {
  // The label filter is offered for every type, as free input without
  // `values`. Harbor's harbor adapter lists the remote Harbor's label objects
  // (ids, colours, scopes) there for a picker; Pier's label filter matches
  // image-config label names instead (labels.h), which any registry type
  // carries and which Pier could only enumerate by reading every image's
  // config at the remote. An always-empty `values` list offered a picker with
  // nothing to pick, so it is dropped rather than filled with a guess.
  auto filters = nlohmann::json::array({
      {{"type", "name"}, {"style", "input"}},
      {{"type", "tag"}, {"style", "input"}},
      {{"type", "label"}, {"style", "input"}},
  });
  return {
      {"type", e.type},
      {"description", e.description},
      {"supported_resource_filters", filters},
      {"supported_triggers", {"manual", "scheduled", "event_based"}},
      {"supported_copy_by_chunk", true},
  };
}

}  // namespace pier::replication
