#include "base/glob.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace pier {
namespace {

struct Case {
  const char* pattern;
  const char* text;
  bool match;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "GlobMatch(\"" << c.pattern << "\", \"" << c.text << "\") == " << (c.match ? "true" : "false");
}

class GlobTable : public ::testing::TestWithParam<Case> {};

TEST_P(GlobTable, Matches) {
  const Case& c = GetParam();
  EXPECT_EQ(GlobMatch(c.pattern, c.text), c.match) << "pattern=" << c.pattern << " text=" << c.text;
}

// Harbor's documented filter examples.
INSTANTIATE_TEST_SUITE_P(
    Harbor, GlobTable,
    ::testing::Values(Case{"*", "library/hello-world", false}, Case{"**", "library/hello-world", true},
                      Case{"library/*", "library/hello-world", true},
                      Case{"{library,harbor}/**", "harbor/a/b", true},
                      Case{"{library,harbor}/**", "library/x", true},
                      Case{"{library,harbor}/**", "other/x", false}, Case{"1.?", "1.0", true},
                      Case{"1.?", "1.01", false}, Case{"v2.[4-6].*", "v2.4.0", true},
                      Case{"v2.[4-6].*", "v2.6.12", true}, Case{"v2.[4-6].*", "v2.7.0", false},
                      Case{"**/app", "a/b/app", true}));

INSTANTIATE_TEST_SUITE_P(
    Stars, GlobTable,
    ::testing::Values(Case{"*", "", true}, Case{"*", "abc", true}, Case{"a*", "a", true},
                      Case{"a*", "abc", true}, Case{"a*c", "abbbc", true}, Case{"a*c", "abbb", false},
                      Case{"*c", "a/c", false}, Case{"a/*", "a/", true}, Case{"a/*", "a/b/c", false},
                      Case{"*/*", "a/b", true}, Case{"*/*", "a", false}, Case{"library/*", "library", false},
                      // '**' as a whole component crosses '/': zero or more components.
                      Case{"**", "", true}, Case{"**", "a", true}, Case{"**", "/", true},
                      Case{"a/**", "a/b/c", true}, Case{"a/**", "a/b", true}, Case{"a/**", "a/", true},
                      Case{"a/**", "a", false}, Case{"a/**", "ab/c", false}, Case{"**/app", "app", true},
                      Case{"**/app", "a/app", true}, Case{"**/app", "a/b/apps", false},
                      Case{"**/app", "a/bapp", false}, Case{"a/**/b", "a/b", true},
                      Case{"a/**/b", "a/x/b", true}, Case{"a/**/b", "a/x/y/z/b", true},
                      Case{"a/**/b", "a/xb", false}, Case{"a/**/b", "a/x/b/c", false},
                      Case{"a/**/b/**", "a/x/b/c/d", true}, Case{"**/b/**/d", "a/b/c/d", true},
                      Case{"**/b/**/d", "b/d", true}, Case{"**/b/**/d", "a/c/d", false},
                      // '**' not standing alone in its component behaves like '*'.
                      Case{"a**", "abc", true}, Case{"a**", "a/bc", false}, Case{"**b", "ab", true},
                      Case{"**b", "a/b", false}, Case{"x/a**/y", "x/ab/y", true},
                      Case{"x/a**/y", "x/a/b/y", false}, Case{"***", "a/b", false}, Case{"***", "ab", true}));

INSTANTIATE_TEST_SUITE_P(
    QuestionAndClasses, GlobTable,
    ::testing::Values(Case{"?", "a", true}, Case{"?", "", false}, Case{"?", "/", false},
                      Case{"a?c", "abc", true}, Case{"a?c", "a/c", false}, Case{"???", "ab", false},
                      Case{"[abc]", "b", true}, Case{"[abc]", "d", false}, Case{"[a-z]x", "qx", true},
                      Case{"[a-z]x", "Qx", false}, Case{"[!a-z]", "Q", true}, Case{"[!a-z]", "q", false},
                      Case{"[^a-z]", "Q", true}, Case{"[^a-z]", "q", false}, Case{"[^a]", "/", false},
                      Case{"a[/]b", "a/b", false}, Case{"[a-cx-z]", "y", true}, Case{"[a-cx-z]", "m", false},
                      Case{"[\\]]", "]", true}, Case{"[\\-]", "-", true}, Case{"[a\\-z]", "-", true},
                      Case{"[a\\-z]", "b", false}, Case{"[*?]", "*", true}, Case{"[*?]", "a", false},
                      Case{"[é]", "é", true}, Case{"?", "é", true}, Case{"??", "é", false},
                      Case{"[à-ï]", "é", true}));

INSTANTIATE_TEST_SUITE_P(
    Braces, GlobTable,
    ::testing::Values(Case{"{a,b}", "a", true}, Case{"{a,b}", "b", true}, Case{"{a,b}", "c", false},
                      Case{"{a,b}", "ab", false}, Case{"x{,y}z", "xz", true}, Case{"x{,y}z", "xyz", true},
                      Case{"{}", "", true}, Case{"{a,{b,c}d}", "cd", true}, Case{"{a,{b,c}d}", "a", true},
                      Case{"{a,{b,c}d}", "d", false}, Case{"{a,b{c,{d,e}}}f", "bef", true},
                      // Alternatives may contain '/'.
                      Case{"{a/b,c}/d", "a/b/d", true}, Case{"{a/b,c}/d", "c/d", true},
                      Case{"{a/b,c}/d", "a/d", false}, Case{"{a/**,c}", "a/x/y", true},
                      Case{"{a/**,c}/z", "a/x/y/z", true}, Case{"x/{**/,}y", "x/a/b/y", true},
                      Case{"x/{**/,}y", "x/y", true}, Case{"{a*,b}", "a/x", false},
                      Case{"{*}/{*}", "p/q", true}, Case{"team-{dev,prod}/*", "team-prod/app", true},
                      // Outside braces ',' and '}' are literals.
                      Case{"a,b", "a,b", true}, Case{"a}", "a}", true}, Case{"]", "]", true}));

INSTANTIATE_TEST_SUITE_P(
    EscapesAndLiterals, GlobTable,
    ::testing::Values(Case{"\\*", "*", true}, Case{"\\*", "a", false}, Case{"\\?", "?", true},
                      Case{"\\?", "a", false}, Case{"\\[a]", "[a]", true}, Case{"\\{a,b}", "{a,b}", true},
                      Case{"\\{a,b}", "a", false}, Case{"a\\\\b", "a\\b", true}, Case{"\\a", "a", true},
                      Case{"{a\\,b,c}", "a,b", true}, Case{"{a\\,b,c}", "c", true},
                      Case{"{a\\}b}", "a}b", true}, Case{"abc", "abc", true}, Case{"abc", "abcd", false},
                      Case{"abc", "ab", false}, Case{"abc", "", false}, Case{"a/b", "a/b", true},
                      Case{"a/b", "a/b/", false}, Case{"a/", "a/", true}, Case{"a/", "a", false}));

// Harbor: the empty pattern matches everything (even the empty string).
INSTANTIATE_TEST_SUITE_P(Empty, GlobTable,
                         ::testing::Values(Case{"", "", true}, Case{"", "library/hello-world", true},
                                           Case{"", "x", true}));

// Malformed patterns match nothing.
INSTANTIATE_TEST_SUITE_P(
    Malformed, GlobTable,
    ::testing::Values(Case{"[abc", "a", false}, Case{"[abc", "[abc", false}, Case{"{a,b", "a", false},
                      Case{"{a,b", "{a,b", false}, Case{"[]", "", false}, Case{"[]a]", "a", false},
                      Case{"[!]", "a", false}, Case{"[^]", "a", false}, Case{"[-a]", "-", false},
                      Case{"[a-]", "a", false}, Case{"abc\\", "abc", false}, Case{"abc\\", "abc\\", false},
                      Case{"[\\", "a", false}, Case{"{a,{b}", "b", false}, Case{"*/[x", "a/x", false}));

TEST(Glob, DeepBraceNestingIsRefused) {
  std::string deep(40, '{');
  deep += "a";
  deep += std::string(40, '}');
  EXPECT_FALSE(GlobMatch(deep, "a"));
  std::string ok(20, '{');
  ok += "a";
  ok += std::string(20, '}');
  EXPECT_TRUE(GlobMatch(ok, "a"));
}

TEST(Glob, InvalidUtf8IsMatchedBytewise) {
  EXPECT_TRUE(GlobMatch("a\xff", "a\xff"));
  EXPECT_FALSE(GlobMatch("a\xff", "a\xfe"));
  EXPECT_TRUE(GlobMatch("a?", "a\xff"));
  EXPECT_TRUE(GlobMatch("*", "\xc3"));  // truncated sequence
}

// Patterns that make a backtracking matcher explode finish promptly here
// (the matcher is a linear NFA simulation; this would take ages otherwise).
TEST(Glob, NoExponentialBlowup) {
  std::string text(200, 'a');
  std::string stars;
  for (int i = 0; i < 30; ++i) stars += "*a";
  stars += "*b";
  EXPECT_FALSE(GlobMatch(stars, text));

  std::string path;
  for (int i = 0; i < 100; ++i) path += "a/";
  path += "c";
  std::string doubles;
  for (int i = 0; i < 20; ++i) doubles += "**/a/";
  doubles += "b";
  EXPECT_FALSE(GlobMatch(doubles, path));

  std::string braces;
  for (int i = 0; i < 30; ++i) braces += "{a,a*,*a}";
  EXPECT_FALSE(GlobMatch(braces + "b", text));
  EXPECT_TRUE(GlobMatch(braces, std::string(60, 'a')));
}

}  // namespace
}  // namespace pier
