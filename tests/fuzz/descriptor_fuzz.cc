// ParseDescriptorJson (descriptors read back from the referrers index and
// the replication planner) on arbitrary text: a parsed descriptor renders
// with DescriptorJson to text that parses to the same fields.
#include <cstddef>
#include <cstdint>

#include "base/manifest.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto d = pier::ParseDescriptorJson(pier::fuzz::AsText(data, size));
  if (!d.ok()) {
    FUZZ_CHECK(d.status().code() == pier::Code::kInvalidArgument,
               "ParseDescriptorJson fails only with InvalidArgument");
    return 0;
  }
  FUZZ_CHECK(d->size >= 0, "sizes are non-negative");
  std::string text = pier::DescriptorJson(*d);
  auto back = pier::ParseDescriptorJson(text);
  FUZZ_CHECK(back.ok(), "DescriptorJson output parses");
  FUZZ_CHECK(back->media_type == d->media_type && back->digest == d->digest && back->size == d->size &&
                 back->artifact_type == d->artifact_type,
             "descriptor fields round-trip");
  FUZZ_CHECK(pier::DescriptorJson(*back) == text, "DescriptorJson is a fixed point");
  return 0;
}
