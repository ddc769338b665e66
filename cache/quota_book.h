#pragma once
// QuotaBook: the projects' storage limits and Harbor-style quota ids, kept
// in the store's Db (family "quotas", keys.h) and in memory for the checks
// on every commit. With records shared by replicas the memory catches up:
// lookups by id and listings read the database again, the per-commit limit
// at most 5 s late, and new ids are allocated under a lock of all replicas.
// Usage is not here (project_usage.h).
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cache/db.h"

namespace pier {

class QuotaBook {
 public:
  struct Entry {
    int64_t id = 0;
    int64_t hard = -1;
    int64_t created_unix = 0;
    int64_t updated_unix = 0;
  };

  // Loads the entries from `db` (creating the column family when missing).
  Status Load(Db* db);
  // -1 when the project has no limit (or no entry).
  int64_t Limit(std::string_view project) const;
  // The project's entry, created (id given, no limit) and stored when new.
  Result<Entry> Ensure(std::string_view project, int64_t now_unix);
  Result<Entry> SetLimit(std::string_view project, int64_t hard, int64_t now_unix);
  std::map<std::string, Entry> All() const;
  // The project whose entry has `id`.
  std::optional<std::string> ProjectById(int64_t id) const;

 private:
  Status Store(const std::string& project, const Entry& e, bool new_id);
  // Reads every entry from the database (replacing what is in memory).
  Status ReloadLocked() const;
  // With records shared by replicas, another one may have added entries or
  // changed limits: reload (always, or when the last reload is older than
  // 5 s: the per-commit limit check).
  void CatchUpLocked(bool always) const;

  mutable std::mutex mu_;
  Db* db_ = nullptr;
  std::optional<Family> family_;
  mutable std::map<std::string, Entry> entries_;
  mutable int64_t last_id_ = 0;
  mutable std::chrono::steady_clock::time_point reloaded_{};
};

}  // namespace pier
