#include "cache/proxy/blob_fill.h"

#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pier::proxy {

uint64_t BlobFill::Available() const {
  const uint64_t written = written_.load(std::memory_order_acquire);
  if (verified_.load(std::memory_order_acquire)) return written;
  const uint64_t size = size_.load(std::memory_order_acquire);
  return size > 0 ? std::min(written, size - 1) : 0;
}

void BlobFill::WhenBeyond(uint64_t offset, std::function<void()> ready) {
  {
    std::lock_guard lock(mu_);
    if (offset > read_) {
      read_ = offset;
      if (pass_through()) cv_.notify_all();  // the download may write on
    }
    // Checked under the lock Grew/Finish take after publishing: no wake-up
    // can fall between this check and the registration.
    if (!Failed() && Available() <= offset) {
      waiters_.emplace_back(offset, std::move(ready));
      return;
    }
  }
  ready();
}

void BlobFill::WakeReady() {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    const uint64_t available = Available();
    const bool failed = Failed();
    auto keep = std::partition(waiters_.begin(), waiters_.end(),
                               [&](const Waiter& w) { return !failed && w.first >= available; });
    for (auto it = keep; it != waiters_.end(); ++it) ready.push_back(std::move(it->second));
    waiters_.erase(keep, waiters_.end());
  }
  for (auto& f : ready) f();
}

void BlobFill::Start(UniqueFd reader, uint64_t size) {
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    reader_ = std::move(reader);
    size_.store(size, std::memory_order_release);
    started_ = true;
  }
  cv_.notify_all();
}

bool BlobFill::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

void BlobFill::Grew(uint64_t written) {
  written_.store(written, std::memory_order_release);
  WakeReady();
}

void BlobFill::Finish(Status result) {
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    if (result.ok()) {
      verified_.store(true, std::memory_order_release);
    } else {
      failed_.store(true, std::memory_order_release);
    }
    result_ = std::move(result);
    done_ = true;
  }
  cv_.notify_all();
  WakeReady();
}

bool BlobFill::AlsoLink(const std::string& repo) {
  std::lock_guard lock(mu_);
  if (done_) return false;
  also_link_.push_back(repo);
  return true;
}

std::vector<std::string> BlobFill::TakeAlsoLinked() {
  std::lock_guard lock(mu_);
  return std::move(also_link_);
}

Status BlobFill::WaitForReader(int fd, uint64_t written, uint64_t window, std::chrono::milliseconds timeout) {
  uint64_t from = 0, to = 0;
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return written < read_ + window || done_; })) {
      return Status::Unavailable("the client stopped reading a passed-through blob");
    }
    // Whole 64 KiB pieces the reader is past.
    constexpr uint64_t kPiece = 64 << 10;
    to = read_ / kPiece * kPiece;
    if (to > punched_) {
      from = punched_;
      punched_ = to;
    }
  }
  if (to > from && ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                               static_cast<off_t>(to - from)) != 0) {
    return Status::IOError(std::string("freeing a passed-through blob's memory: ") + std::strerror(errno));
  }
  return Status::OK();
}

bool BlobFill::WaitStarted() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return started_ || done_; });
  return started_ && !failed_.load();
}

Status BlobFill::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return done_; });
  return result_;
}

Result<UniqueFd> BlobFill::Reader() const {
  std::lock_guard lock(mu_);
  if (!reader_.valid()) return Status::FailedPrecondition("the download has not started");
  int fd = ::fcntl(reader_.get(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("dup of a download's file: ") + std::strerror(errno));
  return UniqueFd(fd);
}

}  // namespace pier::proxy
