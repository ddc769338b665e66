#include "replication/exec_progress.h"

#include <algorithm>

namespace pier::replication {

bool ExecProgress::Add(const std::string& digest, uint64_t size) {
  std::lock_guard lock(mu_);
  auto [it, added] = blobs_.try_emplace(digest);
  if (!added) return false;
  it->second.size = size;
  p_.bytes_total += size;
  p_.bytes_pending += size;
  p_.blobs_pending += 1;
  return true;
}

void ExecProgress::MoveLocked(Blob& b, uint64_t upto, uint64_t* into) {
  upto = std::min(upto, b.size);
  if (upto <= b.counted) return;
  uint64_t d = upto - b.counted;
  b.counted = upto;
  if (b.failed) failed_pending_ -= d;
  *into += d;
  p_.bytes_pending -= d;
}

void ExecProgress::Acknowledged(const std::string& digest, uint64_t bytes) {
  std::lock_guard lock(mu_);
  wire_ += bytes;
  auto it = blobs_.find(digest);
  if (it == blobs_.end() || (it->second.finished && !it->second.failed)) return;
  MoveLocked(it->second, it->second.counted + bytes, &p_.bytes_sent);
}

void ExecProgress::AlreadyThere(const std::string& digest, uint64_t bytes) {
  std::lock_guard lock(mu_);
  auto it = blobs_.find(digest);
  if (it == blobs_.end() || (it->second.finished && !it->second.failed)) return;
  MoveLocked(it->second, it->second.counted + bytes, &p_.bytes_skipped);
}

void ExecProgress::Finished(const std::string& digest, BlobOutcome outcome) {
  std::lock_guard lock(mu_);
  auto it = blobs_.find(digest);
  if (it == blobs_.end()) return;
  Blob& b = it->second;
  const bool ok = outcome != BlobOutcome::kFailed;
  // A success is final; a failure can still be made good by another task
  // that needs the same blob.
  if (b.finished && (!b.failed || !ok)) return;
  if (!b.finished) {
    b.finished = true;
    p_.blobs_pending -= 1;
    p_.blobs_done += 1;
  }
  if (b.failed) {
    failed_pending_ -= b.size - b.counted;
    b.failed = false;
  }
  if (outcome == BlobOutcome::kUploaded) {
    MoveLocked(b, b.size, &p_.bytes_sent);
  } else if (ok) {
    MoveLocked(b, b.size, &p_.bytes_skipped);
  } else {
    b.failed = true;
    failed_pending_ += b.size - b.counted;
  }
}

TransferProgress ExecProgress::Snapshot() const {
  std::lock_guard lock(mu_);
  return p_;
}

uint64_t ExecProgress::WireBytes() const {
  std::lock_guard lock(mu_);
  return wire_;
}

uint64_t ExecProgress::MovingBytes() const {
  std::lock_guard lock(mu_);
  return p_.bytes_pending - failed_pending_;
}

}  // namespace pier::replication
