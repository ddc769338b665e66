#pragma once
// The two byte-range dialects of the registry API:
//  - `Range: bytes=<a>-<b>` / `bytes=<a>-` / `bytes=-<n>` on blob GETs (RFC 9110);
//  - `Content-Range: <a>-<b>` (inclusive) on upload PATCH/PUT, exactly as the
//    OCI spec writes it; any other form (`bytes=a-b`, `bytes a-b/len`) is
//    refused with 400 BLOB_UPLOAD_INVALID.
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace pier::registry {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Resolves a Range header against a blob of `size` bytes. InvalidArgument
// when the header is malformed or has several ranges (callers then serve the
// whole blob, as RFC 9110 allows); OutOfRange when unsatisfiable (416).
Result<ByteRange> ParseRangeHeader(std::string_view value, uint64_t size);

// Parses an upload chunk's Content-Range into [first, last] inclusive.
// InvalidArgument when malformed or last < first.
struct ChunkRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
};
Result<ChunkRange> ParseContentRange(std::string_view value);

}  // namespace pier::registry
