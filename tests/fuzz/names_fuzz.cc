// Repository names and tags, checked against the OCI spec's regular
// expressions (std::regex as the reference), so the hand-written scanners in
// base/names.cc never accept or refuse differently from the spec.
#include <cstddef>
#include <cstdint>
#include <regex>

#include "base/names.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// distribution/reference: path-component (separated by '/'), 255 max.
const std::regex& RepositoryRegex() {
  static const std::regex re("[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*",
                             std::regex::ECMAScript | std::regex::optimize);
  return re;
}

const std::regex& TagRegex() {
  static const std::regex re("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}",
                             std::regex::ECMAScript | std::regex::optimize);
  return re;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  bool repo = pier::IsValidRepositoryName(text);
  bool tag = pier::IsValidTag(text);
  (void)pier::LooksLikeDigest(text);
  // std::regex recurses per character: keep the reference check to the
  // lengths where the answer can differ (just past both limits).
  if (size <= 260) {
    std::string s(text);
    bool repo_ref = !s.empty() && s.size() <= 255 && std::regex_match(s, RepositoryRegex());
    bool tag_ref = std::regex_match(s, TagRegex());
    FUZZ_CHECK(repo == repo_ref, "IsValidRepositoryName agrees with the spec's regex");
    FUZZ_CHECK(tag == tag_ref, "IsValidTag agrees with the spec's regex");
  } else {
    FUZZ_CHECK(!repo && !tag, "nothing longer than 255 characters is a name or tag");
  }
  return 0;
}
