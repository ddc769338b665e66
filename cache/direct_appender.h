#pragma once
// DirectAppender: appends a stream of bytes to a file at increasing offsets
// with O_DIRECT, so a big upload goes from Pier's buffer to the disk without
// being copied into the page cache (on these machines that copy cost more CPU
// than hashing the blob) and leaves no gigabyte of dirty pages for the final
// fsync. Whole aligned buffers are hashed (optionally) and written by a
// background thread while the caller fills the other buffer, so hashing runs
// beside the socket reads; Drain writes the unaligned tail through the file's
// ordinary descriptor.
//
// Promises: after Drain returns OK, every appended byte is in the file (not
// yet fsync'ed: the caller fsyncs its own descriptor, which covers both) and
// the file is exactly `end()` bytes long if it was that long before the
// appends started. Not thread-safe (one owner). The destructor waits for the
// write in flight and writes nothing more: bytes appended since the last
// Drain are lost, which is what an aborted upload wants.
#include <cstdint>
#include <future>
#include <memory>
#include <span>

#include "cache/digest.h"
#include "cache/file.h"
#include "cache/status.h"

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

  static constexpr size_t kBufferSize = 1 << 20;  // per buffer; two per appender
  static constexpr int kMaxActive = 8;            // bounds the memory of all appenders

 private:
  struct Buffer;
  DirectAppender(int fd, UniqueFd direct);
  Status Submit();        // hands the full buffer to the background writer
  Status WaitInFlight();  // result of the write in flight, if any
  static Status WriteBlock(int direct_fd, int fd, const char* data, size_t n, uint64_t offset);
  void HashRange(const char* buf, size_t from, size_t upto);

  int fd_;
  UniqueFd direct_;
  std::unique_ptr<Buffer> bufs_[2];
  int cur_ = 0;
  uint64_t base_ = 0;  // file offset of the current buffer's first byte (aligned)
  size_t len_ = 0;     // bytes in the current buffer
  size_t hashed_ = 0;  // of which already fed to hash_ (or read back from the file)
  Sha256* hash_ = nullptr;
  std::future<Status> inflight_;
};

}  // namespace pier
