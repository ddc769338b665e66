#pragma once
// TouchTable: when a repository's blob or manifest was last read (HEAD or
// GET). Garbage collection keeps what a client looked at within the grace
// period, whatever its age: docker HEADs a layer, finds it, skips the upload
// and PUTs a manifest naming it, and that blob must not go in between
// (Harbor's blob probe "touches" a blob for the same reason). In memory
// only, so a read never writes to RocksDB: GC runs in the same process, and
// after a restart every link counts as read at startup (the floor), which
// errs on keeping.
//
// Bounded: at most `capacity` entries, keyed by a 64-bit hash of
// (repository, digest) — a collision only keeps something longer. When full
// the table forgets everything and raises the floor to that moment, which
// again errs on keeping. Thread-safe.
#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace pier {

class TouchTable {
 public:
  TouchTable(int64_t floor_unix, size_t capacity = size_t{1} << 20) : floor_(floor_unix), capacity_(capacity) {}

  void Touch(std::string_view repo, std::string_view digest, int64_t now_unix);
  // The last read of (repo, digest) this table knows of, at least the floor.
  int64_t LastTouch(std::string_view repo, std::string_view digest) const;
  // Forgets reads at or before `unix_seconds` (they no longer protect
  // anything once the grace period is past them).
  void ForgetBefore(int64_t unix_seconds);
  size_t size() const;

 private:
  static uint64_t Key(std::string_view repo, std::string_view digest);

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, int64_t> last_;
  int64_t floor_;
  size_t capacity_;
};

}  // namespace pier
