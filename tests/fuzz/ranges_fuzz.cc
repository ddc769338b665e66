// The registry's byte-range headers: `Range` on blob GETs (resolved against
// a blob size taken from the first 8 input bytes) and `Content-Range` on
// upload PATCH. A satisfiable range lies inside the blob; a parsed
// Content-Range re-renders as "<first>-<last>" and parses back the same.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "adapter/registry/ranges.h"
#include "tests/fuzz/fuzz_check.h"

using pier::registry::ParseContentRange;
using pier::registry::ParseRangeHeader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t blob_size = 0;
  if (size >= sizeof(blob_size)) {
    std::memcpy(&blob_size, data, sizeof(blob_size));
    data += sizeof(blob_size);
    size -= sizeof(blob_size);
  }
  std::string_view value = pier::fuzz::AsText(data, size);

  auto r = ParseRangeHeader(value, blob_size);
  if (r.ok()) {
    FUZZ_CHECK(r->length >= 1, "a satisfiable range is not empty");
    FUZZ_CHECK(r->offset < blob_size, "a satisfiable range starts inside the blob");
    FUZZ_CHECK(r->length <= blob_size - r->offset, "a satisfiable range ends inside the blob");
  } else {
    auto code = r.status().code();
    FUZZ_CHECK(code == pier::Code::kInvalidArgument || code == pier::Code::kOutOfRange,
               "Range fails with InvalidArgument (serve all) or OutOfRange (416)");
  }

  auto c = ParseContentRange(value);
  if (c.ok()) {
    FUZZ_CHECK(c->first <= c->last && c->length() >= 1, "a Content-Range covers at least one byte");
    auto again = ParseContentRange(std::to_string(c->first) + "-" + std::to_string(c->last));
    FUZZ_CHECK(again.ok() && again->first == c->first && again->last == c->last, "Content-Range re-renders");
  }
  return 0;
}
