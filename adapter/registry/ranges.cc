#include "adapter/registry/ranges.h"

#include <charconv>

#include "base/text.h"

namespace pier::registry {
namespace {


bool ParseU64(std::string_view s, uint64_t* out) {
  s = TrimSpaces(s);
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<ByteRange> ParseRangeHeader(std::string_view value, uint64_t size) {
  value = TrimSpaces(value);
  if (value.substr(0, 6) != "bytes=") return Status::InvalidArgument("range unit must be bytes");
  std::string_view spec = TrimSpaces(value.substr(6));
  if (spec.find(',') != std::string_view::npos) return Status::InvalidArgument("multiple ranges");
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return Status::InvalidArgument("malformed range");
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (TrimSpaces(a).empty()) {  // suffix range: the last n bytes
    uint64_t n = 0;
    if (!ParseU64(b, &n)) return Status::InvalidArgument("malformed range");
    if (n == 0 || size == 0) return Status::OutOfRange("unsatisfiable range");
    if (n > size) n = size;
    return ByteRange{size - n, n};
  }
  if (!ParseU64(a, &first)) return Status::InvalidArgument("malformed range");
  if (TrimSpaces(b).empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!ParseU64(b, &last) || last < first) {
    return Status::InvalidArgument("malformed range");
  }
  if (first >= size) return Status::OutOfRange("unsatisfiable range");
  if (last >= size) last = size - 1;
  return ByteRange{first, last - first + 1};
}

Result<ChunkRange> ParseContentRange(std::string_view value) {
  // Only the spec's form: `bytes=` is Range syntax and `bytes a-b/len` is a
  // response header's; accepting them let malformed clients look correct.
  value = TrimSpaces(value);
  size_t dash = value.find('-');
  if (value.find_first_not_of("0123456789-") != std::string_view::npos || dash == std::string_view::npos) return Status::InvalidArgument("Content-Range must be <start>-<end>");
  ChunkRange r;
  if (!ParseU64(value.substr(0, dash), &r.first) || !ParseU64(value.substr(dash + 1), &r.last) || r.last < r.first) {
    return Status::InvalidArgument("Content-Range must be <start>-<end> (decimal, inclusive, end >= start)");
  }
  return r;
}

}  // namespace pier::registry
