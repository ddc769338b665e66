#pragma once
// Pier's Docker token realm (distribution's "token authentication
// specification"): it turns a caller's identity and the scopes it asks for
// into a short-lived ES256 JWT, and checks such tokens when they come back
// as "Authorization: Bearer ...".
//
// Promises:
// - A token grants at most what the ACL lets its subject do at issue time:
//   granted = requested ∩ allowed. Unknown or denied actions and unknown
//   resource types are silently left out (as the spec asks), never an error.
// - registry:catalog:* goes only to users named in `admins` (or to anyone
//   when auth is off, as everything is open then).
// - Verification accepts only tokens signed by this key with alg ES256,
//   issued by `issuer` for `service`, inside exp/nbf (± kLeewaySeconds).
// - Tokens are secrets: nothing here logs them.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/auth/auth.h"
#include "adapter/auth/scope.h"
#include "adapter/auth/token_key.h"
#include "base/clock.h"
#include "base/status.h"

namespace pier::auth {

struct TokenOptions {
  std::string issuer = "pier";   // the "iss" claim; docker-registry's auth.token.issuer
  std::string service = "pier";  // the "aud" claim; docker-registry's auth.token.service
  int64_t expiration_seconds = 300;
  std::vector<std::string> admins;  // may be granted registry:catalog:*
};

struct IssuedToken {
  std::string token;
  int64_t expires_in = 0;  // seconds
  int64_t issued_at = 0;   // unix seconds
};

class TokenService {
 public:
  static constexpr int64_t kLeewaySeconds = 30;  // clock skew allowed on exp and nbf

  // `clock` (which must outlive the service) gives "now" to the
  // Issue/Verify overloads without one.
  TokenService(std::shared_ptr<const TokenKey> key, std::shared_ptr<const Authorizer> authorizer,
               TokenOptions options, const Clock& clock = SystemClock());

  const TokenOptions& options() const { return options_; }
  const TokenKey& key() const { return *key_; }

  // The part of `requested` that `who` may have; scopes with the same type
  // and name are merged, scopes left with no action are dropped.
  std::vector<Scope> Grant(const Identity& who, const std::vector<Scope>& requested) const;

  // A signed token for `who` (sub = user, "" when anonymous) carrying
  // `granted` as its access claim, valid from `now` (unix seconds).
  Result<IssuedToken> Issue(const Identity& who, const std::vector<Scope>& granted, int64_t now) const;
  // The same, valid from the clock's now.
  Result<IssuedToken> Issue(const Identity& who, const std::vector<Scope>& granted) const {
    return Issue(who, granted, clock_.UnixSeconds());
  }

  // Checks a token (the part after "Bearer "). Returns its subject as an
  // Identity whose `grants` are the token's access claim. InvalidArgument
  // with a short reason (never the token itself) otherwise.
  Result<Identity> Verify(std::string_view token, int64_t now) const;
  // The same at the clock's now.
  Result<Identity> Verify(std::string_view token) const { return Verify(token, clock_.UnixSeconds()); }

 private:
  std::shared_ptr<const TokenKey> key_;
  std::shared_ptr<const Authorizer> authorizer_;
  TokenOptions options_;
  const Clock& clock_;
};

// True when `header` is "Bearer <token>" (scheme case-insensitive); sets
// `token` to the part after the scheme, trimmed.
bool ParseBearerAuthorization(std::string_view header, std::string_view* token);

}  // namespace pier::auth
