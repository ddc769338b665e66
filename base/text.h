#pragma once
// ASCII text helpers shared by every parser of header values and config
// lines (HTTP optional whitespace is space and tab only).
#include <string_view>

namespace pier {

inline bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

// `s` without leading and trailing spaces and tabs.
inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpaceOrTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrTab(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace pier
