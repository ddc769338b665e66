#pragma once
// BlobFill: one blob download from an upstream as the clients waiting for
// it see it — a GrowingFile they stream from while the download's thread
// appends, plus the download's outcome.
//
// Promises: Available() is what the file holds, less the last byte until
// the digest is verified (Finish(OK)): a client never receives a complete
// body before its bytes are known to be right, and when they are not (or
// the download fails) Failed() turns true and readers drop their clients.
// Thread-safe.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/file.h"
#include "base/growing_file.h"
#include "base/status.h"

namespace pier::proxy {

class BlobFill final : public GrowingFile {
 public:
  // `repo`: the local repository the download is committed into;
  // `upstream`: index of the upstream it comes from.
  BlobFill(std::string repo, size_t upstream) : repo_(std::move(repo)), upstream_(upstream) {}

  const std::string& repo() const { return repo_; }
  size_t upstream() const { return upstream_; }

  // GrowingFile.
  uint64_t Available() const override;
  bool Failed() const override { return failed_.load(std::memory_order_acquire); }
  void WhenBeyond(uint64_t offset, std::function<void()> ready) override;

  // --- the download's side
  // The file can be read through `reader` and the blob has `size` bytes:
  // clients waiting in WaitStarted go on. Once only.
  void Start(UniqueFd reader, uint64_t size);
  bool started() const;
  // The file now holds `written` bytes from offset 0.
  void Grew(uint64_t written);
  // The download is over: OK means verified and committed. Wakes everyone.
  void Finish(Status result);
  // Another local name the upstream confirmed has the blob: linked at the
  // commit. False when the download is already over (link it yourself).
  bool AlsoLink(const std::string& repo);
  std::vector<std::string> TakeAlsoLinked();

  // --- pass-through (below the disk reserve: streamed, never stored) ---
  // Called by the download before Start: one reader only, bytes it has
  // passed are freed (the file is in memory).
  void MarkPassThrough() { pass_through_.store(true, std::memory_order_release); }
  bool pass_through() const { return pass_through_.load(std::memory_order_acquire); }
  // Blocks until the reader (whose progress is the offset it last gave
  // WhenBeyond) is less than `window` bytes behind `written`, then frees the
  // pages of `fd` it has passed. Unavailable when the reader does not move
  // for `timeout` (it went away).
  Status WaitForReader(int fd, uint64_t written, uint64_t window, std::chrono::milliseconds timeout);

  // --- the clients' side
  // Waits until Start or Finish. True when started (then Reader() works).
  bool WaitStarted();
  // Waits until Finish; its result.
  Status Wait();
  // A descriptor of its own on the file, and the blob's size.
  Result<UniqueFd> Reader() const;
  uint64_t size() const { return size_.load(std::memory_order_acquire); }

 private:
  using Waiter = std::pair<uint64_t, std::function<void()>>;
  // Calls the waiters `Available()`/Failed() now satisfies, outside the lock.
  void WakeReady();

  const std::string repo_;
  const size_t upstream_;
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> size_{0};
  std::atomic<bool> verified_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> pass_through_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  uint64_t read_ = 0;     // the reader's offset (pass-through), guarded by mu_
  uint64_t punched_ = 0;  // pages freed below this (pass-through)
  bool done_ = false;
  Status result_;
  UniqueFd reader_;
  std::vector<Waiter> waiters_;
  std::vector<std::string> also_link_;
};

}  // namespace pier::proxy
