#pragma once
// Reads values back out of Prometheus text exposition, so tests check what a
// scraper would see rather than prometheus-cpp's internals.
//
// Every read goes through Value(), which says "missing" with nullopt; a
// test never dereferences it unchecked: compare it (EXPECT_EQ(Value(...), 3)
// fails on nullopt) or read it with ASSERT_SERIES, which fails the test when
// the series is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "metrics/exposition.h"

// Declares `const double var` holding the value of `series` in `text`. A
// missing series fails the test here and ends it (an ASSERT), printing the
// scrape; it never crashes and never passes.
#define ASSERT_SERIES(var, text, series)                                                        \
  const std::optional<double> var##_read = ::pier::metrics::testing::Value((text), (series));   \
  ASSERT_TRUE(var##_read.has_value()) << "no series " << (series) << " in the scrape:\n" << (text); \
  const double var = *var##_read

namespace pier::metrics::testing {

// What a scrape of `registry` returns.
inline std::string Scrape(const std::shared_ptr<prometheus::Registry>& registry) {
  Exposition e;
  e.Add(registry);
  return e.Text();
}

// The value of the sample written exactly as `series` (name plus its label
// set in the serializer's order, e.g. `pier_x{a="1",b="2"}`), or nullopt.
inline std::optional<double> Value(const std::string& text, std::string_view series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      const std::string v = line.substr(series.size() + 1);
      if (v == "+Inf") return std::numeric_limits<double>::infinity();
      return std::strtod(v.c_str(), nullptr);
    }
  }
  return std::nullopt;
}

// The "# TYPE" of a family, or "" if absent.
inline std::string Type(const std::string& text, std::string_view family) {
  const std::string prefix = "# TYPE " + std::string(family) + " ";
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return "";
  const size_t end = text.find('\n', at);
  return text.substr(at + prefix.size(), end - at - prefix.size());
}

// Every sample line that starts with `name` (name followed by '{' or ' ').
inline std::string Lines(const std::string& text, std::string_view name) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.compare(0, name.size(), name) == 0 && line.size() > name.size() &&
        (line[name.size()] == '{' || line[name.size()] == ' ')) {
      out += line + "\n";
    }
  }
  return out;
}

}  // namespace pier::metrics::testing
