// Digest::Parse on arbitrary text: a digest that parses re-serialises to
// exactly the input, and only sha256 digests are accepted.
#include <cstddef>
#include <cstdint>

#include "base/digest.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  auto d = pier::Digest::Parse(text);
  if (!d.ok()) {
    FUZZ_CHECK(
        d.status().code() == pier::Code::kInvalidArgument || d.status().code() == pier::Code::kUnsupported,
        "Digest::Parse fails only with InvalidArgument or Unsupported");
    return 0;
  }
  FUZZ_CHECK(d->str() == text, "a parsed digest re-serialises to its text");
  FUZZ_CHECK(d->algorithm == "sha256" && d->hex.size() == 64, "only sha256 digests are accepted");
  auto again = pier::Digest::Parse(d->str());
  FUZZ_CHECK(again.ok() && *again == *d, "parsing is idempotent");
  return 0;
}
