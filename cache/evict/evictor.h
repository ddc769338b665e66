#pragma once
// Evictor: keeps the store below its capacity watermarks (the config's
// storage.max_bytes, high_watermark_percent, low_watermark_percent,
// evict_replicated) by running Store::Evict.
//
// Promises:
//  - Capacity and usage: with max_bytes > 0, the store's blob bytes against
//    max_bytes; with max_bytes = 0, the data folder's file system (its size
//    against its size minus what is available), so the marks are "percent of
//    the disk". Marks are whole bytes: capacity * percent / 100.
//  - A check (every `interval` on its thread, or CheckNow) does nothing
//    below the high mark; above it, one Store::Evict pass asked to free
//    usage - low mark, pull-through copies first, hosted images only with
//    evict_replicated and only those every destination holds (`replicated`),
//    never what `pins` (loaded afresh per pass) or recent use keeps.
//  - Blocked: the last pass freed less than it was asked (everything left is
//    pinned, in use, or not safe elsewhere): an operator must look
//    (alert PierEvictionBlocked). Cleared by a check that finds usage at or
//    below the high mark or a pass that freed what it was asked.
//  - Figures for /metrics from GetStats(): usage measured at the call (the
//    store's counters, or one statvfs), the rest from the last check.
// Thread-safe.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/clock.h"
#include "base/status.h"
#include "cache/store.h"

namespace pier::evict {

struct FsUsage {
  uint64_t total = 0;      // f_blocks * f_frsize
  uint64_t available = 0;  // f_bavail * f_frsize
};

struct EvictorOptions {
  std::filesystem::path dir;  // the data folder (max_bytes = 0 measures its file system)
  uint64_t max_bytes = 0;
  int high_watermark_percent = 90;
  int low_watermark_percent = 80;
  bool evict_replicated = false;
  int64_t min_idle_seconds = 600;
  std::chrono::milliseconds interval{10000};
  decltype(EvictOptions::replicated) replicated;
  // Pins for one pass (replication/gc_pins.h's PinsHook); absent: none.
  std::function<std::function<bool(std::string_view, const Digest&)>()> pins;
  // The file system's figures; statvfs unless a test hands in another.
  std::function<std::optional<FsUsage>(const std::filesystem::path&)> probe;
};

struct EvictorStats {
  bool known = false;  // usage could be measured
  uint64_t used_bytes = 0;
  uint64_t capacity_bytes = 0;
  uint64_t high_bytes = 0;
  uint64_t low_bytes = 0;
  uint64_t passes = 0;
  uint64_t evicted_cached_bytes = 0;      // since start
  uint64_t evicted_replicated_bytes = 0;  // since start
  uint64_t images_evicted = 0;
  bool blocked = false;
};

class Evictor {
 public:
  static std::optional<FsUsage> Statvfs(const std::filesystem::path& dir);

  Evictor(std::shared_ptr<Store> store, EvictorOptions options);
  ~Evictor();
  Evictor(const Evictor&) = delete;
  Evictor& operator=(const Evictor&) = delete;

  // Checks every options.interval on a thread until Stop (or destruction).
  void Start();
  void Stop();
  // One check now; the pass's report (empty when below the high mark).
  Result<EvictReport> CheckNow();
  EvictorStats GetStats() const;

 private:
  void Loop();
  // Usage and capacity now; nullopt when unknown.
  std::optional<std::pair<uint64_t, uint64_t>> Measure() const;
  // Sets the usage figures of `s` from a measurement now.
  void Fill(EvictorStats* s) const;

  std::shared_ptr<Store> store_;
  const EvictorOptions o_;
  std::mutex check_mu_;  // one check at a time
  mutable std::mutex mu_;
  EvictorStats stats_;   // guarded by mu_
  std::condition_variable cv_;
  bool stop_ = false;    // guarded by mu_
  std::thread thread_;
};

}  // namespace pier::evict
