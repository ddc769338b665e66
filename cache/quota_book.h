#pragma once
// QuotaBook: the projects' storage limits and Harbor-style quota ids, kept
// in the store's RocksDB (column family "quotas", keys.h) and in memory for
// the checks on every commit. Usage is not here (project_usage.h).
// Thread-safe.
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

  mutable std::mutex mu_;
  Db* db_ = nullptr;
  std::optional<Family> family_;
  std::map<std::string, Entry> entries_;
  int64_t last_id_ = 0;
};

}  // namespace pier
