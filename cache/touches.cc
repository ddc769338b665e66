#include "cache/touches.h"

#include <algorithm>
#include <functional>
#include <string>

namespace pier {

uint64_t TouchTable::Key(std::string_view repo, std::string_view digest) {
  std::string k;
  k.reserve(repo.size() + 1 + digest.size());
  k.append(repo).push_back('\0');
  k.append(digest);
  return std::hash<std::string>()(k);
}

void TouchTable::Touch(std::string_view repo, std::string_view digest, int64_t now_unix) {
  const uint64_t k = Key(repo, digest);
  std::lock_guard lock(mu_);
  if (last_.size() >= capacity_ && !last_.contains(k)) {
    last_.clear();
    floor_ = std::max(floor_, now_unix);
    return;
  }
  int64_t& t = last_[k];
  t = std::max(t, now_unix);
}

int64_t TouchTable::LastTouch(std::string_view repo, std::string_view digest) const {
  const uint64_t k = Key(repo, digest);
  std::lock_guard lock(mu_);
  auto it = last_.find(k);
  return it == last_.end() ? floor_ : std::max(floor_, it->second);
}

void TouchTable::ForgetBefore(int64_t unix_seconds) {
  std::lock_guard lock(mu_);
  std::erase_if(last_, [&](const auto& kv) { return kv.second <= unix_seconds; });
}

size_t TouchTable::size() const {
  std::lock_guard lock(mu_);
  return last_.size();
}

}  // namespace pier
