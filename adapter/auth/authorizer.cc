// Authorizer: Basic authentication with a verification cache, and the ACL.
#include <openssl/evp.h>

#include <chrono>

#include "adapter/auth/auth.h"
#include "adapter/auth/basic.h"
#include "base/glob.h"

namespace pier::auth {
namespace {

constexpr int64_t kCacheTtlMs = 5 * 60 * 1000;
constexpr size_t kCacheMaxEntries = 10000;
constexpr unsigned kAllActions = kPull | kPush | kDelete;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Hex SHA-256 of the header value: the cache key, so no credential is kept.
std::string CacheKey(std::string_view header) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(header.data(), header.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

bool OnlySpaces(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t') return false;
  }
  return true;
}

}  // namespace

Result<unsigned> ParseActions(const std::vector<std::string>& words) {
  if (words.empty()) return Status::InvalidArgument("no actions given (expected pull, push, delete or *)");
  unsigned bits = 0;
  for (const auto& w : words) {
    if (w == "pull") {
      bits |= kPull;
    } else if (w == "push") {
      bits |= kPush;
    } else if (w == "delete") {
      bits |= kDelete;
    } else if (w == "*") {
      bits |= kAllActions;
    } else {
      return Status::InvalidArgument("unknown action \"" + w + "\" (expected pull, push, delete or *)");
    }
  }
  return bits;
}

Authorizer::Authorizer(std::optional<Htpasswd> users, std::vector<AclRule> rules, bool anonymous_pull)
    : users_(std::move(users)), rules_(std::move(rules)), anonymous_pull_(anonymous_pull) {}

Result<Identity> Authorizer::Authenticate(std::string_view authorization) const {
  if (!enabled() || OnlySpaces(authorization)) return Identity{};

  std::string key = CacheKey(authorization);
  int64_t now = NowMs();
  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = verified_.find(key);
    if (it != verified_.end()) {
      if (it->second.second > now) return Identity{false, it->second.first, nullptr};
      verified_.erase(it);
    }
  }

  auto creds = ParseBasicAuthorization(authorization);
  if (!creds.ok()) return creds.status();
  // bcrypt is slow by design: verify outside the lock.
  if (!users_->Verify(creds->user, creds->password)) {
    return Status::NotFound("invalid username or password");
  }

  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (verified_.size() >= kCacheMaxEntries) {
      std::erase_if(verified_, [now](const auto& entry) { return entry.second.second <= now; });
      if (verified_.size() >= kCacheMaxEntries) verified_.clear();
    }
    verified_[key] = {creds->user, now + kCacheTtlMs};
  }
  return Identity{false, creds->user, nullptr};
}

bool Authorizer::Allowed(const Identity& who, std::string_view repo, unsigned actions) const {
  if (!enabled()) return true;
  if (who.grants) return GrantsCover(*who.grants, repo, actions);
  unsigned granted = 0;
  // What anonymous clients may do, every authenticated user may do too (as
  // Harbor's public projects): logging in never shows less.
  if (anonymous_pull_) granted |= kPull;
  if (rules_.empty()) {
    if (!who.anonymous) granted = kAllActions;
  } else {
    for (const auto& rule : rules_) {
      bool subject = rule.subject == "anonymous" || (!who.anonymous && (rule.subject == "*" || rule.subject == who.user));
      if (!subject || (rule.actions & ~granted) == 0) continue;
      if (GlobMatch(rule.repository, repo)) granted |= rule.actions;
      if ((granted & actions) == actions) return true;
    }
  }
  return (granted & actions) == actions;
}

}  // namespace pier::auth
