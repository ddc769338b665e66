#pragma once
// CountedBatch: one store operation's WriteBatch together with what it
// changes in the project usage (quotas) and the blob counts (GetStats), kept
// so that every process reading the records agrees on them:
//  - private Db (RocksDB, one process): in memory (ProjectUsage and
//    StoreState's atomics), derived from the records at startup, as ever. An
//    add is applied at once, so the limit check and the add are one step,
//    and undone if the write fails; a removal is applied once it succeeded.
//  - shared Db (PostgreSQL, replicas): rows of the "counts" family (keys.h)
//    written in the same transaction as the records they count, so a crash
//    never sets them apart and no replica rebuilds them at start. Per
//    (project, kind, digest) the number of the project's repositories
//    holding it, read and rewritten under a cluster lock on that key; per
//    project its bytes, and the store's blob count and bytes, as sharded
//    counters (WriteBatch::AddCounter: concurrent commits lose no add and do
//    not queue on one row).
// The quota limit is checked against the usage read before the write: two
// replicas committing new bytes into one project at the same moment can
// pass its limit by what they add at once. One process cannot (its adds go
// through ProjectUsage's lock in private mode and through the key lock and
// a fresh read in shared mode only per digest), see README "Records in
// PostgreSQL".
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "cache/db.h"
#include "cache/key_locks.h"
#include "cache/project_usage.h"

namespace pier::internal {

struct StoreState;

// A holder row (shared records): how many of the project's repositories
// hold the digest, and its size.
struct HolderRef {
  int64_t holders = 0;
  int64_t size = 0;
};

class CountedBatch {
 public:
  explicit CountedBatch(StoreState& st);
  ~CountedBatch();  // unwritten: in-memory adds are undone
  CountedBatch(const CountedBatch&) = delete;
  CountedBatch& operator=(const CountedBatch&) = delete;

  WriteBatch& batch() { return batch_; }

  // A repository of `project` now holds `digest` (it did not before).
  // QuotaExceeded (Harbor's wording) when limit >= 0 and the project's usage
  // would pass it; nothing is counted then. At most one holder change per
  // batch (one key lock, so two can never wait on each other).
  Status AddHolder(std::string_view project, ProjectUsage::Kind kind, std::string_view digest, uint64_t size,
                   int64_t limit);
  // A repository of `project` no longer holds `digest`.
  Status RemoveHolder(std::string_view project, ProjectUsage::Kind kind, std::string_view digest);
  // A blob record appears (1, size) or goes (-1, -size).
  void CountBlob(int64_t blobs, int64_t bytes);

  // Writes the batch, then settles what it counted.
  Status Write();

 private:
  // Takes the holder row's cluster lock (held until destruction), then reads it.
  Result<HolderRef> LockedRef(const std::string& key);

  StoreState& st_;
  const bool shared_;
  WriteBatch batch_;
  bool written_ = false;
  bool holder_changed_ = false;  // AddHolder or RemoveHolder was called
  // Private mode: what memory must undo or apply.
  struct Holder {
    std::string project;
    ProjectUsage::Kind kind;
    std::string digest;
  };
  std::optional<Holder> added_, removed_;
  int64_t blobs_ = 0, bytes_ = 0;
  // Shared mode: the key lock of the holder row, held until destruction.
  std::optional<KeyLocks::Guard> ref_lock_;
};

// The bytes `project` holds.
Result<uint64_t> ProjectUsed(const StoreState& st, std::string_view project);
// Every project's bytes.
Result<std::map<std::string, uint64_t>> ProjectUsages(const StoreState& st);
// The blob records and their total size (GetStats).
Result<std::pair<uint64_t, uint64_t>> BlobCounts(const StoreState& st);
// Startup. Private: derives the usage from the links and manifests (the
// blob counts come from recovery). Shared: derives the count rows once, for
// records written before they existed (under a cluster lock, so replicas
// starting together do it once); later starts read nothing.
Status LoadCounts(StoreState& st);

}  // namespace pier::internal
