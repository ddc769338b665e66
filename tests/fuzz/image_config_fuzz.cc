// Image config blobs fetched from a remote registry in pull mode, read for
// their labels (config.Labels). ConfigLabelNames never throws; the names
// come back sorted and unique.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "replication/labels.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto names = pier::replication::ConfigLabelNames(pier::fuzz::AsText(data, size));
  FUZZ_CHECK(std::is_sorted(names.begin(), names.end()), "label names are sorted");
  FUZZ_CHECK(std::adjacent_find(names.begin(), names.end()) == names.end(), "label names are unique");
  return 0;
}
