// Token minting: grant computation (requested ∩ ACL) and the signed JWT.
#include <openssl/rand.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "adapter/auth/jwt.h"
#include "adapter/auth/token.h"

namespace pier::auth {
namespace {

unsigned ActionBits(std::string_view action) {
  if (action == "pull") return kPull;
  if (action == "push") return kPush;
  if (action == "delete") return kDelete;
  if (action == "*") return kPull | kPush | kDelete;
  return 0;  // unknown actions are never granted
}

Result<std::string> RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return Status::Internal("no randomness for the token id");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace

TokenService::TokenService(std::shared_ptr<const TokenKey> key, std::shared_ptr<const Authorizer> authorizer,
                           TokenOptions options, const Clock& clock)
    : key_(std::move(key)), authorizer_(std::move(authorizer)), options_(std::move(options)), clock_(clock) {}

std::vector<Scope> TokenService::Grant(const Identity& who, const std::vector<Scope>& requested) const {
  // A caller that itself holds a token never gets more through the realm.
  Identity caller{who.anonymous, who.user, nullptr};
  bool admin = !authorizer_->enabled() ||
               (!caller.anonymous && std::find(options_.admins.begin(), options_.admins.end(), caller.user) !=
                                         options_.admins.end());
  std::vector<Scope> granted;
  for (const Scope& want : requested) {
    std::vector<std::string> actions;
    if (want.type == "repository") {
      for (const std::string& a : want.actions) {
        unsigned bits = ActionBits(a);
        if (bits != 0 && authorizer_->Allowed(caller, want.name, bits)) actions.push_back(a);
      }
    } else if (want.type == "registry" && want.name == "catalog" && admin) {
      if (std::find(want.actions.begin(), want.actions.end(), "*") != want.actions.end())
        actions.push_back("*");
    }
    if (actions.empty()) continue;
    auto same = std::find_if(granted.begin(), granted.end(),
                             [&](const Scope& g) { return g.type == want.type && g.name == want.name; });
    if (same == granted.end()) {
      granted.push_back(Scope{want.type, want.name, std::move(actions)});
      continue;
    }
    for (std::string& a : actions) {
      if (std::find(same->actions.begin(), same->actions.end(), a) == same->actions.end()) {
        same->actions.push_back(std::move(a));
      }
    }
  }
  return granted;
}

Result<IssuedToken> TokenService::Issue(const Identity& who, const std::vector<Scope>& granted,
                                        int64_t now) const {
  Result<std::string> jti = RandomHex(16);
  if (!jti.ok()) return jti.status();
  nlohmann::json access = nlohmann::json::array();
  for (const Scope& g : granted)
    access.push_back({{"type", g.type}, {"name", g.name}, {"actions", g.actions}});
  int64_t expires_in = options_.expiration_seconds > 0 ? options_.expiration_seconds : 300;
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"sub", who.anonymous ? std::string() : who.user},
                           {"aud", options_.service},
                           {"exp", now + expires_in},
                           {"nbf", now},
                           {"iat", now},
                           {"jti", *jti},
                           {"access", access}};
  // x5c carries the certificate so docker-registry can match it against its
  // rootcertbundle; Pier itself verifies with its own key and ignores it.
  nlohmann::json header = {{"typ", "JWT"}, {"alg", "ES256"}, {"x5c", {key_->cert_der_base64()}}};
  Result<std::string> token = SignEs256(header.dump(), claims.dump(), key_->pkey());
  if (!token.ok()) return token.status();
  return IssuedToken{std::move(*token), expires_in, now};
}

}  // namespace pier::auth
