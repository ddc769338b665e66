#pragma once
// One garbage collection run over a store (Store::CollectGarbage): the
// repository sweep is in store_gc.cc, the whole-store passes (blob records
// without links, expired uploads, crash leftovers) in store_gc_files.cc.
// Internal to cache/.
#include <atomic>
#include <map>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cache/store_impl.h"

namespace pier::internal {

class GcRun {
 public:
  GcRun(StoreState& st, const GcOptions& options);
  // Sweeps the repositories on `workers` threads, then the whole store.
  Status Run(int workers);
  const GcReport& report() const { return report_; }

 private:
  // What a repository's sweep would take (planned without its lock).
  struct RepoPlan {
    struct Manifest {
      std::string digest;
      std::string subject;
      bool orphan_referrer = false;
    };
    std::vector<Manifest> manifests;  // not kept
    std::vector<Digest> links;        // unreferenced, old, unread, unpinned
    GcReport kept;                    // pinned_blobs/bytes
  };
  Status SweepRepository(const std::string& repo);
  Status PlanRepository(const std::string& repo, RepoPlan* plan);
  // Deletes what the plan names, each link re-checked under its blob lock;
  // the caller holds the repository's manifest lock (not for a dry run).
  Status ApplyPlan(const std::string& repo, const RepoPlan& plan);
  Status SettleDryRun();
  // store_gc_files.cc
  Status SweepUnlinkedBlobs();
  Status SweepUploads();
  Status SweepOrphanFiles();
  Status SweepOrphanUploadFiles();
  Status SweepOrphanBlobFiles();

  bool Stopping() const;
  // Gives way to requests: when the store served any since *seen (the
  // caller's last look), sleeps kPaceFactor times as long as the work since
  // `started` took (at most kMaxPause), so a busy registry keeps most of the
  // CPU and an idle one lets GC run at full speed. Then restarts the clock.
  void Pace(std::chrono::steady_clock::time_point* started, uint64_t* seen) const;
  static constexpr int kPaceFactor = 3;
  class Pacer;  // store_gc_files.cc
  static constexpr std::chrono::milliseconds kMaxPause{100};
  void Log(const std::string& line);
  void Add(const GcReport& part);
  bool Pinned(std::string_view repo, const std::string& digest) const;
  // Written (`since`) or read after the grace cutoff: kept.
  bool Protected(std::string_view repo, const std::string& digest, int64_t since) const;
  bool Old(int64_t unix_seconds) const { return unix_seconds <= cutoff_; }

  StoreState& st_;
  const GcOptions& o_;
  const int64_t now_;
  const int64_t cutoff_;  // now - grace: anything later is protected
  std::mutex log_mu_;
  std::mutex report_mu_;
  GcReport report_;
  std::map<std::string, uint64_t> dry_unlinks_;  // dry run: digest -> links that would go
};

}  // namespace pier::internal
