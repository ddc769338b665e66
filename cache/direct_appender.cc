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

struct DirectAppender::Slot {
  char* data = nullptr;
  uint64_t at = 0;      // file offset of data[0]
  size_t hash_from = 0;  // data[hash_from, kBufferSize) still to hash
  int pending = 0;      // stages (hash, write) not done yet; guarded by mu_
  ~Slot() { std::free(data); }
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
  std::unique_ptr<DirectAppender> a(new DirectAppender(fd, UniqueFd(d), hash));
  for (int i = 0; i < kBuffers; ++i) {
    if (!a->slots_[i].data) return nullptr;
  }
  // The current buffer starts at the aligned offset below `offset`; the
  // bytes already in the file between the two are read back into it.
  a->base_ = offset / kAlign * kAlign;
  a->len_ = static_cast<size_t>(offset - a->base_);
  a->hashed_ = a->len_;
  if (a->len_ > 0) {
    auto n = ReadAt(fd, a->base_, std::span<char>(a->slots_[0].data, a->len_));
    if (!n.ok() || *n != a->len_) return nullptr;
  }
  return a;
}

DirectAppender::DirectAppender(int fd, UniqueFd direct, Sha256* hash)
    : fd_(fd), direct_(std::move(direct)), hash_(hash), slots_(new Slot[kBuffers]) {
  for (int i = 0; i < kBuffers; ++i) {
    void* p = nullptr;
    if (posix_memalign(&p, kAlign, kBufferSize) == 0) slots_[i].data = static_cast<char*>(p);
  }
  hasher_ = std::thread([this] { Stage(to_hash_, [this](Slot& s) { return HashSlot(s); }); });
  writer_ = std::thread([this] { Stage(to_write_, [this](Slot& s) { return WriteSlot(s); }); });
}

DirectAppender::~DirectAppender() {
  for (int i = 0; i < kBuffers; ++i) WaitIdle(i);
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  hasher_.join();
  writer_.join();
  g_active.fetch_sub(1);
}

Status DirectAppender::Append(std::span<const char> data) {
  if (Status s = WriteError(); !s.ok()) return s;
  while (!data.empty()) {
    size_t n = std::min(data.size(), kBufferSize - len_);
    std::memcpy(slots_[cur_].data + len_, data.data(), n);
    len_ += n;
    data = data.subspan(n);
    if (len_ == kBufferSize) Submit();
  }
  return Status::OK();
}

void DirectAppender::Submit() {
  Slot& s = slots_[cur_];
  s.at = base_;
  s.hash_from = hashed_;
  {
    std::lock_guard lock(mu_);
    s.pending = 2;
    to_hash_.push_back(cur_);
    to_write_.push_back(cur_);
  }
  cv_.notify_all();
  cur_ = (cur_ + 1) % kBuffers;
  base_ += kBufferSize;
  len_ = 0;
  hashed_ = 0;
  WaitIdle(cur_);  // the buffer we fill next must be hashed and written
}

void DirectAppender::WaitIdle(int slot) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return slots_[slot].pending == 0; });
}

Status DirectAppender::WriteError() {
  std::lock_guard lock(mu_);
  return error_;
}

// Each stage is one thread taking buffers in submission order (so the hash
// sees bytes in order); a buffer is free again once both stages are done.
void DirectAppender::Stage(std::deque<int>& queue, const std::function<Status(Slot&)>& work) {
  for (;;) {
    int i;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue.empty(); });
      if (queue.empty()) return;
      i = queue.front();
      queue.pop_front();
    }
    Status st = work(slots_[i]);
    {
      std::lock_guard lock(mu_);
      if (!st.ok() && error_.ok()) error_ = std::move(st);
      --slots_[i].pending;
    }
    cv_.notify_all();
  }
}

Status DirectAppender::HashSlot(Slot& s) {
  if (hash_ && s.hash_from < kBufferSize) {
    hash_->Update(std::span<const char>(s.data + s.hash_from, kBufferSize - s.hash_from));
  }
  return Status::OK();
}

Status DirectAppender::WriteSlot(Slot& s) { return WriteBlock(direct_.get(), fd_, s.data, kBufferSize, s.at); }

Status DirectAppender::Drain() {
  for (int i = 0; i < kBuffers; ++i) WaitIdle(i);
  if (Status s = WriteError(); !s.ok()) return s;
  char* p = slots_[cur_].data;
  if (hash_ && len_ > hashed_) hash_->Update(std::span<const char>(p + hashed_, len_ - hashed_));
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
