// Verification of bearer tokens Pier issued: signature, then claims.
#include <cctype>
#include <nlohmann/json.hpp>

#include "adapter/auth/jwt.h"
#include "adapter/auth/token.h"
#include "base/text.h"

namespace pier::auth {
namespace {

using json = nlohmann::json;

bool AudienceMatches(const json& aud, const std::string& service) {
  if (aud.is_string()) return aud.get<std::string>() == service;
  if (!aud.is_array()) return false;
  for (const json& a : aud) {
    if (a.is_string() && a.get<std::string>() == service) return true;
  }
  return false;
}

Result<std::vector<Scope>> ParseAccess(const json& access) {
  std::vector<Scope> grants;
  if (access.is_null()) return grants;
  if (!access.is_array()) return Status::InvalidArgument("token access claim is not a list");
  for (const json& entry : access) {
    if (!entry.is_object()) return Status::InvalidArgument("token access entry is not an object");
    auto type = entry.find("type");
    auto name = entry.find("name");
    auto actions = entry.find("actions");
    if (type == entry.end() || !type->is_string() || name == entry.end() || !name->is_string() ||
        actions == entry.end() || !actions->is_array()) {
      return Status::InvalidArgument("token access entry needs type, name and actions");
    }
    Scope s{type->get<std::string>(), name->get<std::string>(), {}};
    for (const json& a : *actions) {
      if (!a.is_string()) return Status::InvalidArgument("token access actions must be strings");
      s.actions.push_back(a.get<std::string>());
    }
    grants.push_back(std::move(s));
  }
  return grants;
}

}  // namespace

bool ParseBearerAuthorization(std::string_view header, std::string_view* token) {
  header = TrimSpaces(header);
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || !IsSpaceOrTab(header[kScheme.size()])) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  *token = TrimSpaces(header.substr(kScheme.size()));
  return !token->empty();
}

Result<Identity> TokenService::Verify(std::string_view token, int64_t now) const {
  Result<VerifiedJwt> jwt = VerifyEs256(token, key_->pkey());
  if (!jwt.ok()) return jwt.status();
  json claims = json::parse(jwt->payload_json, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) return Status::InvalidArgument("malformed token claims");

  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || iss->get<std::string>() != options_.issuer) {
    return Status::InvalidArgument("token issuer is not " + options_.issuer);
  }
  auto aud = claims.find("aud");
  if (aud == claims.end() || !AudienceMatches(*aud, options_.service)) {
    return Status::InvalidArgument("token is not for service " + options_.service);
  }
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number_integer()) return Status::InvalidArgument("token has no expiry");
  // now - leeway, not exp + leeway: exp comes from the token and may be INT64_MAX.
  if (now - kLeewaySeconds > exp->get<int64_t>()) return Status::InvalidArgument("token expired");
  auto nbf = claims.find("nbf");
  if (nbf != claims.end()) {
    if (!nbf->is_number_integer()) return Status::InvalidArgument("malformed token nbf");
    if (now + kLeewaySeconds < nbf->get<int64_t>()) return Status::InvalidArgument("token not valid yet");
  }
  std::string subject;
  if (auto sub = claims.find("sub"); sub != claims.end()) {
    if (!sub->is_string()) return Status::InvalidArgument("malformed token subject");
    subject = sub->get<std::string>();
  }
  Result<std::vector<Scope>> grants = ParseAccess(claims.contains("access") ? claims["access"] : json());
  if (!grants.ok()) return grants.status();

  Identity who;
  who.anonymous = subject.empty();
  who.user = std::move(subject);
  who.grants = std::make_shared<const std::vector<Scope>>(std::move(*grants));
  return who;
}

}  // namespace pier::auth
