#include "cache/key_locks.h"

namespace pier::internal {

Result<KeyLocks::Guard> KeyLocks::Lock(std::string_view key) {
  std::unique_lock<std::mutex> local(mu_[Index(key)]);
  auto remote = db_->Lock(space_, key, /*wait=*/true);
  if (!remote.ok()) return remote.status();
  return Guard(std::move(local), std::move(remote).value());
}

}  // namespace pier::internal
