#pragma once
// Db: the store's metadata as ordered key-value families (keys.h says what
// is kept where). Two implementations with one contract:
//  - RocksDB in the data folder (OpenRocksDb, cache/rocks_db.cc): the
//    default, one process;
//  - PostgreSQL (cache/pg/db.h): replicas sharing one database.
//
// Promises (both):
//  - Keys and values are bytes; a family's keys are ordered bytewise.
//  - Get: the value, or kNotFound.
//  - Write: every op of the batch or none, durable when it returns OK (a
//    synced WAL write; a committed transaction). One batch is what one
//    store operation changes, so a crash never leaves half of one. Counter
//    ops (WriteBatch::AddCounter) add atomically across writers.
//  - Scan: keys beginning with `prefix`, in order, strictly after `after`
//    when non-empty; fn returns false to stop.
//  - Lock: exclusion among every process sharing the records (shared());
//    for a private Db it holds nothing, since the store's in-process locks
//    already see every writer.
//  - HoldLease: one holder of a name at a time among those processes (who
//    runs schedules and replication); a private Db's only process holds all.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier {

enum class Cf { kBlobs, kLinks, kBlobRepos, kManifests, kTags, kReferrers, kUploads, kRepos };
inline constexpr size_t kNumCfs = 8;
// The family's name (keys.h), as RocksDB and PostgreSQL store it.
const char* CfName(Cf cf);

// A family: one of the store's own (Cf, converts implicitly) or another
// component's, opened by name with Db::ExtraFamily.
class Family {
 public:
  Family(Cf cf) : id_(static_cast<uint32_t>(cf)) {}  // NOLINT: implicit on purpose
  // For Db implementations: the id they handed out.
  static Family FromId(uint32_t id) { return Family(id, 0); }
  uint32_t id() const { return id_; }

 private:
  Family(uint32_t id, int) : id_(id) {}
  uint32_t id_;
};

class WriteBatch {
 public:
  struct Op {
    Family family;
    std::string key;
    std::optional<std::string> value;  // nullopt: delete (unless a counter op)
    std::optional<int64_t> add;        // a counter op (AddCounter): value unused
  };
  void Put(Family f, std::string_view key, std::string_view value) {
    ops_.push_back({f, std::string(key), std::string(value), std::nullopt});
  }
  void Delete(Family f, std::string_view key) { ops_.push_back({f, std::string(key), std::nullopt, std::nullopt}); }
  // Adds `delta` to the counter at `key` (absent counts as 0; the value is
  // EncodeCounter's), atomically against every other writer of the key in
  // any process sharing the Db: concurrent adds never lose one. A key takes
  // either counter ops or Put/Delete within one batch, not both.
  void AddCounter(Family f, std::string_view key, int64_t delta) {
    ops_.push_back({f, std::string(key), std::nullopt, delta});
  }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  void Clear() { ops_.clear(); }

 private:
  std::vector<Op> ops_;
};

// A lock held across processes; released when destroyed.
class HeldLock {
 public:
  virtual ~HeldLock() = default;
};

class Db {
 public:
  virtual ~Db() = default;

  virtual std::string_view kind() const = 0;  // "rocksdb", "postgres"
  // Other processes (replicas) read and write these records too: what a
  // process keeps in memory about them may be stale.
  virtual bool shared() const = 0;

  virtual Result<std::string> Get(Family f, std::string_view key) const = 0;
  Result<bool> Has(Family f, std::string_view key) const;
  virtual Status Write(const WriteBatch& batch) = 0;
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  virtual Status Scan(Family f, std::string_view prefix, std::string_view after, const Visitor& fn) const = 0;
  // Families that are not the store's (Cf): the one named `name`, created
  // when missing. InvalidArgument for a name of ours.
  virtual Result<Family> ExtraFamily(std::string_view name) = 0;

  // Exclusion on (space, key) among the processes sharing this Db, held
  // while the returned lock lives. wait=false: FailedPrecondition at once
  // when another process holds it; wait=true: waits up to about 30 s, then
  // Unavailable. A private Db returns an empty lock at once.
  virtual Result<std::unique_ptr<HeldLock>> Lock(std::string_view space, std::string_view key, bool wait) {
    (void)space;
    (void)key;
    (void)wait;
    return std::unique_ptr<HeldLock>();
  }

  // Whether the records can be read now (readiness): one round trip for a
  // database; RocksDB in the data folder is always there.
  virtual Status Ping() const { return Status::OK(); }

  // A lease on `name` among the processes sharing this Db, on the Db's
  // clock: taken when free or expired, extended when `holder` holds it.
  // The tenure's token (it changes whenever the lease changes hands or
  // lapsed) while `holder` holds it; nullopt while another holder does. A
  // private Db: always held, token 1.
  virtual Result<std::optional<int64_t>> HoldLease(std::string_view name, std::string_view holder,
                                                   std::chrono::milliseconds ttl) {
    (void)name;
    (void)holder;
    (void)ttl;
    return std::optional<int64_t>(1);
  }
  // Gives the lease up at once if `holder` holds it.
  virtual Status ReleaseLease(std::string_view name, std::string_view holder) {
    (void)name;
    (void)holder;
    return Status::OK();
  }
};

// A counter's stored value: 8 bytes, big-endian two's complement (what
// PostgreSQL's int8send gives). Decode: 0 for anything not 8 bytes long.
std::string EncodeCounter(int64_t v);
int64_t DecodeCounter(std::string_view bytes);
// The sum of the counters whose keys begin with `prefix` (a counter kept in
// shards, so that concurrent writers do not queue on one row).
Result<int64_t> SumCounters(const Db& db, Family f, std::string_view prefix);

// RocksDB in `dir` (created, unless read_only); column families other than
// ours that already exist are opened too and left alone.
Result<std::unique_ptr<Db>> OpenRocksDb(const std::filesystem::path& dir, bool read_only);

// A factory of the store's Db (Store::Options::metadata): called once per
// Store::Open.
using DbOpener = std::function<Result<std::unique_ptr<Db>>()>;

}  // namespace pier
