#pragma once
// A bound on how deeply untrusted JSON may nest. nlohmann parses without
// recursion, but dumping, copying and comparing a value recurse once per
// level: a 400 KB manifest of nested arrays in its annotations overflowed
// the stack of the thread serving the PUT (found by tests/fuzz). Every
// parser of JSON from the network checks this first.
#include <cstddef>
#include <string_view>

namespace pier {

// Deeper than anything Pier reads legitimately (manifests, Harbor's API
// bodies and webhooks, the config file nest fewer than 10 levels).
inline constexpr size_t kMaxJsonDepth = 64;

// False when an array or object in `text` nests deeper than `max_depth`
// (brackets inside strings do not count). Text that is not JSON may pass:
// the JSON parser judges that.
bool JsonDepthWithin(std::string_view text, size_t max_depth = kMaxJsonDepth);

}  // namespace pier
