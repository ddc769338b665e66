#pragma once
// Glob matching with doublestar 1.x semantics (the ones Harbor's filters and
// Pier's ACLs use): '*' matches within one path component (never '/'),
// '**' matches across components (including none), '?' one non-'/' char,
// '[a-z]' / '[!a-z]' classes, '{a,b}' alternatives (may nest). An empty
// pattern matches everything. A malformed pattern (unclosed '[' or '{')
// matches nothing.
#include <string_view>

namespace pier {

bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace pier
