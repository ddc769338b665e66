#pragma once
// Replication endpoints ("registries" in Harbor's API): the Harbor registry
// object field for field, its create/update parsing, its JSON output and
// the capability answers (/registries/{id}/info, /replication/adapters).
//
// Promises: parsing never throws and answers InvalidArgument naming the
// field; JSON output never contains a stored secret (it prints "*****").
// Uniqueness of names and health checks (ping) are the caller's business.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier::replication {

inline constexpr std::string_view kTypeDockerRegistry = "docker-registry";
inline constexpr std::string_view kTypeAliAcr = "ali-acr";
inline constexpr std::string_view kTypeHarbor = "harbor";

inline constexpr std::string_view kCredentialBasic = "basic";
inline constexpr std::string_view kCredentialOAuth = "oauth";

inline constexpr std::string_view kSecretMask = "*****";

struct Credential {
  std::string type = "basic";  // basic | oauth
  std::string access_key;
  std::string access_secret;
};

struct Endpoint {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string url;   // "http(s)://host[:port]", no trailing '/'
  std::string type;  // docker-registry | ali-acr | harbor
  Credential credential;
  bool insecure = false;
  std::string ca_certificate;      // PEM, optional
  std::string status = "unknown";  // healthy | unhealthy | unknown (not yet pinged)
  std::chrono::system_clock::time_point creation_time{};
  std::chrono::system_clock::time_point update_time{};
};

// Every endpoint type name Harbor knows (its adapter list).
const std::vector<std::string>& HarborEndpointTypes();
// The types Pier can create and replicate with; the answer to
// GET /replication/adapters.
const std::vector<std::string>& SupportedEndpointTypes();

// Body of POST /registries: {name, description, url, type,
// credential{type, access_key, access_secret}, insecure, ca_certificate}.
// id, status and times are ignored (the caller sets them). Errors:
// "name: required", "url: must be http(s)://host[:port] ...",
// "type: ... not supported by Pier (supported: ...)", unknown type,
// "credential.type: must be basic or oauth", wrong JSON types.
Result<Endpoint> ParseEndpointCreate(const nlohmann::json& body);

// Applies the body of PUT /registries/{id}: name, description, url,
// credential_type, access_key, access_secret, insecure, ca_certificate, each
// optional, or the credential nested as POST takes it ({"credential":
// {type, access_key, access_secret}}; one form per field). Unknown keys are
// refused; the read-only fields of a GET (id, status, times; type when
// unchanged) are accepted and ignored, so a GET's object can be PUT back. Changing the URL without giving a new secret clears the stored
// secret (Harbor: a secret must not follow a registry to another host). An
// access_secret equal to "*****" (the mask a GET returned) means "unchanged".
// id, type, status and creation_time are kept; update_time is the caller's.
Result<Endpoint> ApplyEndpointUpdate(const Endpoint& existing, const nlohmann::json& body);

// Harbor's registry object; credential.access_secret is "*****" when a
// secret is stored, "" otherwise.
nlohmann::json EndpointToJson(const Endpoint& e);

// Answer of GET /registries/{id}/info: {type, description,
// supported_resource_filters:[{"type":"name","style":"input"},
// {"type":"tag","style":"input"}, (harbor only) {"type":"label","style":"list","values":[]}],
// supported_triggers:["manual","scheduled","event_based"],
// supported_copy_by_chunk:true}. Pier's platform filter is not listed
// (Harbor's UI would not know how to draw it).
nlohmann::json EndpointInfo(const Endpoint& e);

// Checks a URL as ParseEndpointCreate does and returns it normalised
// (surrounding spaces and trailing '/' removed). `field` names it in errors.
Result<std::string> NormalizeEndpointUrl(std::string_view url, std::string_view field = "url");

}  // namespace pier::replication
