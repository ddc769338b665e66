#pragma once
// DiskSpace: how much room is left on the file system holding the data
// folder, and whether writes must stop to keep `reserve_bytes` free (for
// RocksDB's WAL, flushes and compactions, and for the commits of uploads
// already under way).
//
// Promises:
//  - FreeBytes() is statvfs(2)'s f_bavail * f_frsize (what an unprivileged
//    writer may still use), read at most once per `max_age` (≤ 1 s) of the
//    injected clock, so a check on every request costs a lock and a clock
//    read. A failed statvfs reads as "unknown" (nullopt) and never refuses:
//    the write itself then meets ENOSPC and is answered the same way.
//  - CheckReserve(n) is OK while at least reserve + n bytes are free, else
//    ResourceExhausted whose message says "no space left on device" with the
//    figures; a reserve of 0 only refuses when the disk is already full.
//  - Refusals are counted (for pier_storage_refusals_total{reason="space"})
//    by whoever answers one: CountRefusal().
// Thread-safe.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/status.h"

namespace pier {

class DiskSpace {
 public:
  // Free bytes of the file system holding `dir`; nullopt when it cannot be told.
  using Probe = std::function<std::optional<uint64_t>(const std::filesystem::path& dir)>;
  static std::optional<uint64_t> StatvfsFree(const std::filesystem::path& dir);

  static constexpr std::chrono::milliseconds kMaxAge{500};

  // `clock` must outlive this object. `probe` is statvfs unless a test hands
  // in another.
  DiskSpace(std::filesystem::path dir, uint64_t reserve_bytes, const Clock& clock = SystemClock(),
            Probe probe = StatvfsFree);

  // Free bytes (cached up to kMaxAge); nullopt when statvfs fails.
  std::optional<uint64_t> FreeBytes();
  uint64_t reserve_bytes() const { return reserve_; }
  // OK when `need` more bytes can be written and `reserve_bytes` still stay
  // free; ResourceExhausted ("no space left on device: ...") otherwise.
  Status CheckReserve(uint64_t need = 0);
  // True when free space is known to be below the reserve (or zero).
  bool Low() { return !CheckReserve().ok(); }
  // Drops the cached reading: the next call asks the file system (after an
  // ENOSPC, or after space was freed, so the answer follows at once).
  void Refresh();

  void CountRefusal() { refusals_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

 private:
  const std::filesystem::path dir_;
  const uint64_t reserve_;
  const Clock& clock_;
  const Probe probe_;
  std::mutex mu_;
  std::optional<uint64_t> free_;  // guarded by mu_
  std::chrono::steady_clock::time_point read_at_{};
  bool read_ = false;
  std::atomic<uint64_t> refusals_{0};
};

// The message of a space refusal: contains "no space left on device" (the
// phrase docker's retry logic recognises and stops on) and the figures.
std::string NoSpaceMessage(std::optional<uint64_t> free_bytes, uint64_t reserve_bytes, uint64_t need = 0);

}  // namespace pier
