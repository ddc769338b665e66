#pragma once
// KeyLocks: per-key exclusion for the store's read-modify-write steps
// (blob commit, delete and mount by digest; manifest and tag changes by
// repository). In this process a fixed set of mutexes picked by key hash
// (no map of mutexes to manage); when the Db is shared with other replicas
// (Db::shared), the key is also locked in the database (Db::Lock) while the
// stripe is held, so two replicas never interleave on one key.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "cache/db.h"

namespace pier::internal {

class KeyLocks {
 public:
  // `space` names the lock space in the database ("blob", "manifest").
  KeyLocks(std::string space, Db* db) : space_(std::move(space)), db_(db) {}

  class Guard {
   public:
    Guard(std::unique_lock<std::mutex> local, std::unique_ptr<HeldLock> remote)
        : local_(std::move(local)), remote_(std::move(remote)) {}
    Guard(Guard&&) noexcept = default;
    Guard& operator=(Guard&&) noexcept = default;
    ~Guard() { remote_.reset(); }  // the database lock goes before the stripe

   private:
    std::unique_lock<std::mutex> local_;
    std::unique_ptr<HeldLock> remote_;
  };

  // Waits for the key (Unavailable when the database lock cannot be had).
  Result<Guard> Lock(std::string_view key);

  // Every change made under a key's lock bumps its stripe's generation, so
  // work done without the lock can tell whether anything changed since (GC's
  // plan). Only this process's changes count: with a shared Db, a caller
  // must not rely on an unchanged generation (see reliable_generations).
  void Bump(std::string_view key) { gen_[Index(key)].fetch_add(1); }
  uint64_t Generation(std::string_view key) const { return gen_[Index(key)].load(); }
  bool reliable_generations() const { return !db_->shared(); }

 private:
  static size_t Index(std::string_view key) { return std::hash<std::string_view>()(key) % kStripes; }
  static constexpr size_t kStripes = 64;
  const std::string space_;
  Db* const db_;
  std::array<std::mutex, kStripes> mu_;
  std::array<std::atomic<uint64_t>, kStripes> gen_{};
};

}  // namespace pier::internal
