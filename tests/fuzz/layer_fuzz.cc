// InspectLayer on arbitrary bytes (a layer blob from a registry is untrusted):
// the codecs, the tar walker and the zip scanner (tail cap small, so the
// local-header walk runs too) never crash and never loop; what comes out
// survives the JSON round trip the report's cache relies on.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "cache/inspect/layer_summary.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = pier::fuzz::AsText(data, size);
  pier::inspect::MemorySource src(input);
  pier::inspect::InspectOptions o;
  o.zip_tail_cap = 256;
  o.zstd_sample_every = 0;  // compression costs time, finds nothing here
  auto s = pier::inspect::InspectLayer(src, o);
  if (!s.ok()) return 0;
  FUZZ_CHECK(s->compressed_bytes == size, "the whole blob was read");
  const nlohmann::json j = *s;
  auto back = pier::inspect::LayerSummaryFromJson(nlohmann::json::parse(j.dump()));
  FUZZ_CHECK(back.ok(), "a summary's JSON parses back");
  FUZZ_CHECK(nlohmann::json(*back) == j, "the JSON is a fixed point");

  // The same bytes as a zip, both ways.
  for (size_t cap : {size_t{64}, size_t{1} << 20}) {
    pier::inspect::ZipScanner z(cap);
    z.Add(std::span<const char>(input.data(), input.size()));
    const pier::inspect::ZipListing l = z.Finish();
    FUZZ_CHECK(l.source != pier::inspect::ZipSource::kNone || l.entries.empty(), "no source, no entries");
  }
  return 0;
}
