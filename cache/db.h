#pragma once
// Db: the store's RocksDB handle with the column families of keys.h. Hides
// RocksDB types from the rest of the store except WriteBatch, and turns
// rocksdb::Status into pier::Status. Every Write is synced (WAL fsync):
// callers only write when the change must survive a crash.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier {

enum class Cf { kBlobs, kLinks, kBlobRepos, kManifests, kTags, kReferrers, kUploads, kRepos };
inline constexpr size_t kNumCfs = 8;

Status FromRocks(const rocksdb::Status& s);

class Db {
 public:
  // Opens (creating when !read_only) the database in `dir`. Column families
  // other than ours that already exist are opened too and left alone.
  static Result<std::unique_ptr<Db>> Open(const std::filesystem::path& dir, bool read_only);
  // Only Open can make the token: a Db always holds an open database.
  class Token {
    friend class Db;
    Token() = default;
  };
  explicit Db(Token) {}
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // NotFound when the key is absent.
  Result<std::string> Get(Cf cf, std::string_view key) const;
  Result<bool> Has(Cf cf, std::string_view key) const;
  // Applies the batch atomically and durably (sync=true).
  Status Write(rocksdb::WriteBatch* batch);
  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<size_t>(cf)]; }

  // Calls fn(key, value) for the keys beginning with `prefix`, in key order,
  // starting after `after` (a full key; exclusive) when it is non-empty.
  // fn returns false to stop early.
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  Status Scan(Cf cf, std::string_view prefix, std::string_view after, const Visitor& fn) const;

  // Column families that are not ours (Cf): the handle of `name`, created
  // when missing. InvalidArgument for one of ours. The handle lives as long
  // as this Db.
  Result<rocksdb::ColumnFamilyHandle*> ExtraFamily(std::string_view name);
  rocksdb::DB* raw() const { return db_.get(); }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> all_handles_;  // owned; destroyed before db_
  std::array<rocksdb::ColumnFamilyHandle*, kNumCfs> handles_{};
  std::mutex extra_mu_;  // guards all_handles_ growth (ExtraFamily)
  // A write failed for space: no write reaches RocksDB again until Resume()
  // succeeds (see Write).
  std::atomic<bool> out_of_space_{false};
};

// Batch helpers taking our Cf enum.
void BatchPut(Db& db, rocksdb::WriteBatch* b, Cf cf, std::string_view key, std::string_view value);
void BatchDelete(Db& db, rocksdb::WriteBatch* b, Cf cf, std::string_view key);

}  // namespace pier
