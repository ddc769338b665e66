#pragma once
// ASCII text helpers shared by every parser of header values, URLs and config
// lines. ASCII only and locale-free on purpose: HTTP field names, schemes,
// hosts and media types compare case-insensitively in ASCII (RFC 9110), and
// <cctype> would follow the process locale. HTTP optional whitespace is space
// and tab only.
#include <string>
#include <string_view>

namespace pier {

inline bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

// `s` without leading and trailing spaces and tabs.
inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpaceOrTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrTab(s.back())) s.remove_suffix(1);
  return s;
}

// 'A'..'Z' → 'a'..'z'; every other byte unchanged (UTF-8 passes through).
inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A copy of `s` with AsciiLower applied to each byte.
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

// True when `a` and `b` are equal ignoring ASCII case.
inline bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// True when `s` begins with `prefix`, ignoring ASCII case.
inline bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

}  // namespace pier
