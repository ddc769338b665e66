#pragma once
// ImageGate: lets the images (tasks) bound for one destination onto its link
// one after another, so the first image is complete early instead of every
// image crawling along at once (the completion order).
//
// An image waits until the unfinished bytes of the images admitted before
// it are at most `overlap_bytes` (a blob counts until the destination has
// acknowledged it: bytes written to a socket may sit in buffers on the way
// for seconds); then it is admitted and its blobs go to the workers. Many
// small images are admitted together (their bytes add up to the overlap).
// Waiting images go smallest first, then in arrival order. An image whose
// stop token is stopped is admitted at once: its jobs end immediately, and
// its execution must not wait behind other executions.
// Thread-safe; `start` callbacks run outside the lock, on the thread of the
// call that admitted them.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <vector>

namespace pier::replication {

class ImageGate {
 public:
  explicit ImageGate(uint64_t overlap_bytes) : overlap_(overlap_bytes) {}

  // Queues image `key` (unique while it is in the gate) with `bytes` unsent.
  void Enter(int64_t key, uint64_t bytes, std::stop_token stop, std::function<void()> start);
  // `n` bytes of image `key` are finished (at the destination, skipped or failed).
  void Sent(int64_t key, uint64_t n);
  // Image `key` is finished (or never started): it no longer counts.
  void Leave(int64_t key);
  // Re-checks waiting images (call after requesting a stop).
  void Wake();

  uint64_t admitted_unsent() const;
  size_t waiting() const;

 private:
  struct Waiting {
    uint64_t bytes;
    uint64_t seq;
    int64_t key;
    std::stop_token stop;
    std::function<void()> start;
  };
  // Moves admissible images into `out`; called with mu_ held.
  void AdmitLocked(std::vector<std::function<void()>>& out);
  void Run(std::vector<std::function<void()>>& starts);

  const uint64_t overlap_;
  mutable std::mutex mu_;
  std::map<int64_t, uint64_t> admitted_;  // key → unsent bytes
  uint64_t admitted_total_ = 0;
  std::vector<Waiting> waiting_;
  uint64_t seq_ = 0;
};

}  // namespace pier::replication
