#pragma once
// ByteSource: the one reading interface the inspect pipeline is built on
// (blob → decompressed tar → entry content), so each stage streams and a
// test can feed any stage from memory.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace pier::inspect {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes; 0 only at the end of the stream.
  virtual Result<size_t> Read(std::span<char> out) = 0;
};

// The bytes of `fd` from offset 0 to its end, read with pread (the fd may be
// shared; its file offset is left alone).
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  Result<size_t> Read(std::span<char> out) override;

 private:
  int fd_;
  uint64_t offset_ = 0;
};

// The bytes a positional reader gives from offset 0 to its end (a remote
// blob's ranged reads: BlobReader::ReadAt). `read` returns fewer bytes than
// asked only at the end.
class ReadAtSource : public ByteSource {
 public:
  using ReadAtFn = std::function<Result<size_t>(uint64_t offset, std::span<char> out)>;
  explicit ReadAtSource(ReadAtFn read) : read_(std::move(read)) {}
  Result<size_t> Read(std::span<char> out) override {
    Result<size_t> n = read_(offset_, out);
    if (n.ok()) offset_ += *n;
    return n;
  }

 private:
  ReadAtFn read_;
  uint64_t offset_ = 0;
};

// A view of memory the caller keeps alive (tests, small blobs).
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  Result<size_t> Read(std::span<char> out) override;

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// Reads until `out` is full or the stream ends; returns the count.
Result<size_t> ReadFull(ByteSource& src, std::span<char> out);

}  // namespace pier::inspect
