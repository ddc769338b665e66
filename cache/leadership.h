#pragma once
// Leadership: which replica does the cluster's once-only work — runs the
// replication executions (and so holds each destination's bandwidth budget
// and its one upload per digest), fires the cron schedules of replication,
// GC and retention. Replicas sharing their records (Store::shared_metadata)
// elect one through a lease in the database (Store::HoldLease); a single
// node is always the leader, with no thread and no database traffic.
//
// Promises:
//  - At most one replica believes it leads at any time, given the lease's
//    clock: a leader that cannot renew steps down (on_lose) once its lease
//    may have expired, before another replica can take it.
//  - A leader that dies (kill -9, a lost node) is replaced within the lease
//    TTL plus one tick: its lease runs out and a follower's next tick takes
//    it (on_gain).
//  - leader() turns false the moment the lease is in doubt; the callbacks
//    run on a thread of their own, one at a time and in order (so a slow
//    on_gain never delays a renewal): on_gain when this replica becomes
//    leader, on_tick about every tick while it leads, on_lose when it stops
//    leading (lost lease, or destruction).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/store.h"

namespace pier {

class Leadership {
 public:
  struct Options {
    std::string name = "leader";
    std::string holder;  // unique per process incarnation (host, pid, start time)
    std::chrono::milliseconds ttl{10000};
    std::chrono::milliseconds tick{1000};
    std::function<void()> on_gain, on_tick, on_lose;
  };
  Leadership(std::shared_ptr<Store> store, Options options);
  ~Leadership();  // Stop()
  // Steps down (on_lose runs) and releases the lease; leader() stays false.
  // Idempotent.
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // A single node leads at once (on_gain runs here); replicas start the
  // election thread.
  void Start();
  void Stop();
  bool leader() const { return leader_.load(); }
  // Times this replica became leader (metrics).
  uint64_t tenures() const { return tenures_.load(); }

 private:
  void Loop();
  void Step();
  void Lose();
  void Duties();
  enum class Duty { kGain, kTick, kLose };
  void Post(Duty d);

  std::shared_ptr<Store> store_;
  const Options o_;
  std::atomic<bool> leader_{false};
  std::atomic<uint64_t> tenures_{0};
  int64_t token_ = 0;
  std::chrono::steady_clock::time_point held_until_{};
  std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;         // the lease thread stops
  bool duties_closing_ = false;  // the duty thread stops once its queue is empty
  std::vector<Duty> duties_;  // guarded by mu_
  std::thread thread_, duty_thread_;
};

}  // namespace pier
