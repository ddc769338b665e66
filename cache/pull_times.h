#pragma once
// PullTimes: when each manifest was last pulled (GET), kept in memory and
// written to the "pulls" column family (keys.h) in one batch at most every
// kFlushSeconds, so a pull never costs a synced RocksDB write of its own.
//
// Promises: Lookup sees every Note at once (pending or flushed). A flush is
// due kFlushSeconds after the previous one; the store runs it from the next
// NotePull past that time and when it closes. A crash loses at most the
// pulls of the last kFlushSeconds (retention then sees an older pull time,
// which only makes it keep less by latestPulledN / nDaysSinceLastPull).
// Thread-safe.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

namespace pier {

class Db;

class PullTimes {
 public:
  static constexpr int64_t kFlushSeconds = 30;

  // Records a pull of the manifest keyed `key` (keys.h: <repo>\0<digest>)
  // at `now`. Returns true when a flush is due (the caller then calls Flush).
  bool Note(std::string key, int64_t now);
  // The last pull time of `key`: pending, else the flushed one, else 0.
  Result<int64_t> Lookup(Db& db, std::string_view key);
  // Writes the pending pulls in one synced batch and forgets them.
  Status Flush(Db& db, int64_t now);
  // Drops `key` (its manifest was deleted) from memory; the caller deletes
  // the flushed row in its own batch.
  void Forget(std::string_view key);
  size_t pending() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> pending_;
  int64_t last_flush_ = -1;  // -1: never; the first Note starts the period
};

}  // namespace pier
