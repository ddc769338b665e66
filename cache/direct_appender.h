#pragma once
// DirectAppender: appends a stream of bytes to a file at increasing offsets
// with O_DIRECT, so a big upload goes from Pier's buffer to the disk without
// being copied into the page cache (on these machines that copy cost more CPU
// than hashing the blob) and leaves no gigabyte of dirty pages for the final
// fsync. It is a three-stage pipeline over three aligned buffers: the caller
// fills one while a hashing thread feeds the previous one to the hash (in
// order) and a writing thread writes it, so socket reads, SHA-256 and the disk
// all run at once. Drain writes the unaligned tail through the file's ordinary
// descriptor.
//
// Promises: after Drain returns OK, every appended byte is in the file (not
// yet fsync'ed: the caller fsyncs its own descriptor, which covers both), the
// hash (if given) has seen every appended byte in order, and the file is
// exactly `end()` bytes long if it was that long before the appends started.
// Not thread-safe (one owner). The destructor waits for the work in flight and
// writes nothing more: bytes appended since the last Drain are lost, which is
// what an aborted upload wants.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "base/digest.h"
#include "base/file.h"
#include "base/status.h"

namespace pier {

class DirectAppender {
 public:
  // Appends to `fd` (open read-write) from `offset`, which must be the
  // file's current size. Null when direct I/O is unavailable (file system,
  // no /proc) or too many appenders are active (their buffers count against
  // memory): the caller then writes through `fd` itself. With `hash`, every
  // appended byte is also fed to it, in order; it is current after Drain and
  // must not be touched between an Append and the next Drain.
  static std::unique_ptr<DirectAppender> Open(int fd, uint64_t offset, Sha256* hash = nullptr);
  ~DirectAppender();
  DirectAppender(const DirectAppender&) = delete;
  DirectAppender& operator=(const DirectAppender&) = delete;

  Status Append(std::span<const char> data);
  Status Drain();
  uint64_t end() const { return base_ + len_; }

  static constexpr size_t kBufferSize = 1 << 20;  // per buffer
  static constexpr int kBuffers = 3;              // filling, hashing, writing
  static constexpr int kMaxActive = 6;            // bounds the memory of all appenders

 private:
  struct Slot;
  DirectAppender(int fd, UniqueFd direct, Sha256* hash);
  void Submit();              // hands the full current buffer to the two threads
  void WaitIdle(int slot);    // until that buffer's hashing and writing are done
  Status WriteError();        // the first failed background write, if any
  void Stage(std::deque<int>& queue, const std::function<Status(Slot&)>& work);
  Status HashSlot(Slot& s);
  Status WriteSlot(Slot& s);
  static Status WriteBlock(int direct_fd, int fd, const char* data, size_t n, uint64_t offset);

  const int fd_;
  UniqueFd direct_;
  Sha256* const hash_;
  std::unique_ptr<Slot[]> slots_;
  int cur_ = 0;
  uint64_t base_ = 0;  // file offset of the current buffer's first byte (aligned)
  size_t len_ = 0;     // bytes in the current buffer
  size_t hashed_ = 0;  // of which already hashed (or read back from the file)

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> to_hash_, to_write_;
  bool closing_ = false;
  Status error_;
  std::thread hasher_, writer_;  // last: started once everything above exists
};

}  // namespace pier
