#include "cache/inspect/byte_source.h"

#include <algorithm>
#include <cstring>

#include "base/file.h"

namespace pier::inspect {

Result<size_t> FdSource::Read(std::span<char> out) {
  Result<size_t> n = ReadAt(fd_, offset_, out);
  if (n.ok()) offset_ += *n;
  return n;
}

Result<size_t> MemorySource::Read(std::span<char> out) {
  const size_t n = std::min(out.size(), bytes_.size() - pos_);
  std::memcpy(out.data(), bytes_.data() + pos_, n);
  pos_ += n;
  return n;
}

Result<size_t> ReadFull(ByteSource& src, std::span<char> out) {
  size_t got = 0;
  while (got < out.size()) {
    Result<size_t> n = src.Read(out.subspan(got));
    PIER_TRY(n);
    if (*n == 0) break;
    got += *n;
  }
  return got;
}

}  // namespace pier::inspect
