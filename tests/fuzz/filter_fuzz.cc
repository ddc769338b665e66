// A policy's "filters" array. An accepted array written back with
// FiltersToJson parses to the same JSON; the matchers run on a fixed set of
// repositories and artifacts and only ever narrow what they are given.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "base/json_depth.h"
#include "replication/filter.h"
#include "tests/fuzz/fuzz_check.h"

namespace pr = pier::replication;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  // The API refuses deeper bodies before any parser sees them (ParseBody in
  // adapter/api/common.cc): nlohmann copies values recursively.
  if (!pier::JsonDepthWithin(text)) return 0;
  auto array = nlohmann::json::parse(text, nullptr, false);
  if (array.is_discarded()) return 0;
  auto filters = pr::ParseFilters(array);
  if (!filters.ok()) {
    FUZZ_CHECK(filters.status().code() == pier::Code::kInvalidArgument,
               "ParseFilters refuses with InvalidArgument");
    return 0;
  }
  FUZZ_CHECK(pr::ValidateFilters(*filters).ok(), "parsed filters validate");
  nlohmann::json out = pr::FiltersToJson(*filters);
  auto back = pr::ParseFilters(out);
  FUZZ_CHECK(back.ok() && pr::FiltersToJson(*back) == out, "FiltersToJson round-trips");

  for (const char* repo : {"library/busybox", "team/app", "a/b/c", "x", ""}) {
    (void)pr::MatchRepository(*filters, repo);
  }
  const std::vector<pr::Artifact> artifacts = {
      {"sha256:" + std::string(64, 'a'), {"v1", "latest"}, {"prod"}, "image"},
      {"sha256:" + std::string(64, 'b'), {}, {}, "image"},
      {"sha256:" + std::string(64, 'c'), {"sig"}, {"prod", "qa"}, "artifact"},
  };
  auto kept = pr::FilterArtifacts(*filters, artifacts);
  FUZZ_CHECK(kept.size() <= artifacts.size(), "filtering only removes artifacts");
  for (const auto& a : kept) {
    bool known = false;
    for (const auto& b : artifacts) {
      if (a.digest != b.digest) continue;
      known = true;
      FUZZ_CHECK(a.tags.size() <= b.tags.size(), "filtering only narrows tag lists");
    }
    FUZZ_CHECK(known, "kept artifacts come from the input");
  }
  (void)pr::PlatformFilter(*filters);
  return 0;
}
