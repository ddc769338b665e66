#include "cache/store_impl.h"

namespace pier::internal {

Result<SessionClaim> SessionTable::Claim(const std::string& uuid) {
  {
    std::lock_guard lock(mu_);
    if (!busy_.insert(uuid).second) return Status::FailedPrecondition("another request is writing to this upload");
  }
  // Ours in this process; now across replicas (nothing when the Db is private).
  auto remote = db_->Lock("upload", uuid, /*wait=*/false);
  if (!remote.ok()) {
    Release(uuid);
    if (remote.status().code() == Code::kFailedPrecondition) {
      return Status::FailedPrecondition("another request is writing to this upload");
    }
    return remote.status();
  }
  return SessionClaim(this, uuid, std::move(remote).value());
}

void SessionTable::Release(const std::string& uuid) {
  std::lock_guard lock(mu_);
  busy_.erase(uuid);
}

std::optional<HashState> SessionTable::TakeHash(const std::string& uuid, uint64_t offset) {
  std::lock_guard lock(mu_);
  auto it = hashes_.find(uuid);
  if (it == hashes_.end()) return std::nullopt;
  std::optional<HashState> h;
  if (it->second.offset == offset) h = std::move(it->second);
  hashes_.erase(it);  // a hash for another offset is useless: it cannot be rewound
  return h;
}

void SessionTable::PutHash(const std::string& uuid, HashState h) {
  std::lock_guard lock(mu_);
  hashes_.insert_or_assign(uuid, std::move(h));
}

void SessionTable::DropHash(const std::string& uuid) {
  std::lock_guard lock(mu_);
  hashes_.erase(uuid);
}

}  // namespace pier::internal
