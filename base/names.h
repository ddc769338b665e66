#pragma once
// Validation of the names clients send: repository names, tags, and
// references (tag or digest), per the OCI Distribution Spec. Everything that
// later becomes part of a RocksDB key or a log line passes through here.
#include <string_view>

namespace pier {

// Components [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/', total length
// at most 255 characters. Rejects "..", empty components, upper case.
bool IsValidRepositoryName(std::string_view name);

// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool IsValidTag(std::string_view tag);

// True when `reference` looks like a digest ("alg:enc") rather than a tag.
bool LooksLikeDigest(std::string_view reference);

}  // namespace pier
