#include "cache/direct_appender.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace pier {
namespace {

constexpr size_t kAlign = 4096;  // covers the logical block size of the disks we meet
std::atomic<int> g_active{0};

}  // namespace

struct DirectAppender::Buffer {
  char* data = nullptr;
  Buffer() {
    void* p = nullptr;
    if (posix_memalign(&p, kAlign, kBufferSize) == 0) data = static_cast<char*>(p);
  }
  ~Buffer() { std::free(data); }
};

std::unique_ptr<DirectAppender> DirectAppender::Open(int fd, uint64_t offset, Sha256* hash) {
  if (g_active.fetch_add(1) >= kMaxActive) {
    g_active.fetch_sub(1);
    return nullptr;
  }
  // Reopening through /proc gives a second description of the same inode
  // with its own flags, so the caller's descriptor stays buffered.
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  int d = ::open(proc.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (d < 0) {
    g_active.fetch_sub(1);
    return nullptr;
  }
  std::unique_ptr<DirectAppender> a(new DirectAppender(fd, UniqueFd(d)));
  if (!a->bufs_[0]->data || !a->bufs_[1]->data) return nullptr;
  // The current buffer starts at the aligned offset below `offset`; the
  // bytes already in the file between the two are read back into it.
  a->base_ = offset / kAlign * kAlign;
  a->len_ = static_cast<size_t>(offset - a->base_);
  a->hashed_ = a->len_;
  a->hash_ = hash;
  if (a->len_ > 0) {
    auto n = ReadAt(fd, a->base_, std::span<char>(a->bufs_[0]->data, a->len_));
    if (!n.ok() || *n != a->len_) return nullptr;
  }
  return a;
}

DirectAppender::DirectAppender(int fd, UniqueFd direct) : fd_(fd), direct_(std::move(direct)) {
  bufs_[0] = std::make_unique<Buffer>();
  bufs_[1] = std::make_unique<Buffer>();
}

DirectAppender::~DirectAppender() {
  (void)WaitInFlight();
  g_active.fetch_sub(1);
}

Status DirectAppender::Append(std::span<const char> data) {
  while (!data.empty()) {
    size_t n = std::min(data.size(), kBufferSize - len_);
    std::memcpy(bufs_[cur_]->data + len_, data.data(), n);
    len_ += n;
    data = data.subspan(n);
    if (len_ == kBufferSize) {
      if (Status s = Submit(); !s.ok()) return s;
    }
  }
  return Status::OK();
}

Status DirectAppender::Submit() {
  if (Status s = WaitInFlight(); !s.ok()) return s;
  const char* p = bufs_[cur_]->data;
  int dfd = direct_.get(), fd = fd_;
  uint64_t at = base_;
  size_t from = hashed_;
  inflight_ = std::async(std::launch::async, [this, dfd, fd, p, at, from] {
    HashRange(p, from, kBufferSize);
    return WriteBlock(dfd, fd, p, kBufferSize, at);
  });
  cur_ ^= 1;
  base_ += kBufferSize;
  len_ = 0;
  hashed_ = 0;
  return Status::OK();
}

Status DirectAppender::WaitInFlight() {
  if (!inflight_.valid()) return Status::OK();
  return inflight_.get();
}

Status DirectAppender::Drain() {
  if (Status s = WaitInFlight(); !s.ok()) return s;
  char* p = bufs_[cur_]->data;
  HashRange(p, hashed_, len_);
  size_t whole = len_ / kAlign * kAlign;
  if (whole > 0) {
    if (Status s = WriteBlock(direct_.get(), fd_, p, whole, base_); !s.ok()) return s;
  }
  size_t tail = len_ - whole;
  if (tail > 0) {
    if (Status s = WriteAt(fd_, base_ + whole, std::span<const char>(p + whole, tail)); !s.ok()) return s;
  }
  // Keep the partial block: the next whole-block write covers it again.
  std::memmove(p, p + whole, tail);
  base_ += whole;
  len_ = tail;
  hashed_ = tail;
  return Status::OK();
}

// Runs on the background thread for a submitted buffer or on the owner's
// thread in Drain, never both at once (Submit and Drain wait first), so the
// hash sees the bytes in order.
void DirectAppender::HashRange(const char* buf, size_t from, size_t upto) {
  if (hash_ && upto > from) hash_->Update(std::span<const char>(buf + from, upto - from));
}

Status DirectAppender::WriteBlock(int direct_fd, int fd, const char* data, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t w = ::pwrite(direct_fd, data, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0 || static_cast<size_t>(w) % kAlign != 0) {
      // EINVAL (alignment the file system will not take) or a short write
      // that broke alignment: the rest goes through the page cache.
      size_t done = w > 0 ? static_cast<size_t>(w) : 0;
      return WriteAt(fd, offset + done, std::span<const char>(data + done, n - done));
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::OK();
}

}  // namespace pier
