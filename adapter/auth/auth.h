#pragma once
// Authentication (htpasswd Basic) and authorization (per-repository ACL).
//
// Model: when no htpasswd is configured, auth is off and every caller may do
// everything. When it is on, a request is anonymous (no Authorization
// header) or a verified user; wrong credentials are an error, never a
// downgrade to anonymous. Permissions come from ACL rules: subject (a user
// name, "anonymous", or "*" = any authenticated user) → repository glob
// (glob.h) → actions. With auth on and no rules, every authenticated user
// may do everything and anonymous may do nothing except pull when
// `anonymous_pull` is set (which also holds with rules present).
// A caller holding a Pier-issued bearer token (token.h) may do exactly what
// the token grants, nothing more: the ACL was applied when it was issued.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "adapter/auth/scope.h"
#include "base/status.h"

namespace pier::auth {

enum Action : unsigned { kPull = 1u, kPush = 2u, kDelete = 4u };
// "pull" / "push" / "delete" (also "*" = all) → bits; InvalidArgument naming the bad word.
Result<unsigned> ParseActions(const std::vector<std::string>& words);

struct AclRule {
  std::string subject;     // user, "anonymous" or "*"
  std::string repository;  // glob
  unsigned actions = 0;
};

// An htpasswd file: "user:hash" lines. Accepts bcrypt ($2y$, $2b$, $2a$) and
// sha-crypt ($5$, $6$) hashes, verified with crypt_r. An entry with another
// scheme (apr1 MD5, SHA1, plain) or a malformed hash is left out, with a
// warning naming the line and user, and every other user keeps working: one
// stale line must not lock everybody out. A file that cannot be read as
// user:hash lines at all (no colon, duplicate or reserved user) is refused.
class Htpasswd {
 public:
  static Result<Htpasswd> Load(const std::filesystem::path& file);
  static Result<Htpasswd> Parse(std::string_view text);
  // Constant-time comparison of the crypt output; false for unknown users.
  bool Verify(std::string_view user, std::string_view password) const;
  size_t size() const { return hashes_.size(); }
  // One message per entry left out ("line 3: user carol: unsupported ...");
  // never contains a hash.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::unordered_map<std::string, std::string> hashes_;
  std::vector<std::string> warnings_;
};

struct Identity {
  bool anonymous = true;
  std::string user;  // empty when anonymous
  // Set when the caller presented a bearer token: its access claim.
  std::shared_ptr<const std::vector<Scope>> grants;
};

class Authorizer {
 public:
  // No htpasswd: auth disabled.
  Authorizer(std::optional<Htpasswd> users, std::vector<AclRule> rules, bool anonymous_pull);

  bool enabled() const { return users_.has_value(); }
  // Reads an Authorization header value ("" = anonymous). Returns the
  // identity, or InvalidArgument (malformed header) / NotFound (bad
  // user or password). Successful bcrypt checks are cached (keyed by a
  // SHA-256 of the credentials, never the password itself) for a few
  // minutes, because bcrypt costs ~50 ms and clients send Basic on every
  // request.
  Result<Identity> Authenticate(std::string_view authorization) const;
  // Whether `who` may perform every action in `actions` on `repo` (for a
  // token holder: whether the token grants them).
  bool Allowed(const Identity& who, std::string_view repo, unsigned actions) const;

 private:
  std::optional<Htpasswd> users_;
  std::vector<AclRule> rules_;
  bool anonymous_pull_;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::pair<std::string, int64_t>> verified_;  // key → (user, expiry)
};

}  // namespace pier::auth
