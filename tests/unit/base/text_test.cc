#include "base/text.h"

#include <gtest/gtest.h>

namespace pier {
namespace {

TEST(Text, TrimSpacesDropsOnlySpacesAndTabs) {
  EXPECT_EQ(TrimSpaces(" \t a b \t "), "a b");
  EXPECT_EQ(TrimSpaces(""), "");
  EXPECT_EQ(TrimSpaces(" \t "), "");
  EXPECT_EQ(TrimSpaces("\r\nx\n"), "\r\nx\n");  // HTTP whitespace is space and tab only
}

TEST(Text, AsciiLowerLeavesNonAsciiAlone) {
  EXPECT_EQ(AsciiLower('A'), 'a');
  EXPECT_EQ(AsciiLower('z'), 'z');
  EXPECT_EQ(AsciiLower('@'), '@');
  EXPECT_EQ(AsciiLower('['), '[');
  EXPECT_EQ(AsciiLower("Content-Type: ÄB"), "content-type: Äb");
}

TEST(Text, EqualsNoCase) {
  EXPECT_TRUE(EqualsNoCase("Content-Length", "content-length"));
  EXPECT_TRUE(EqualsNoCase("", ""));
  EXPECT_FALSE(EqualsNoCase("Basic", "Basic "));
  EXPECT_FALSE(EqualsNoCase("a", "b"));
  EXPECT_FALSE(EqualsNoCase("@", "`"));  // 0x40 and 0x60 differ by the case bit but are not letters
  EXPECT_FALSE(EqualsNoCase("É", "é"));  // ASCII only
}

TEST(Text, StartsWithNoCase) {
  EXPECT_TRUE(StartsWithNoCase("HTTPS://host/path", "https://"));
  EXPECT_TRUE(StartsWithNoCase("abc", ""));
  EXPECT_FALSE(StartsWithNoCase("http:/", "http://"));
  EXPECT_FALSE(StartsWithNoCase("ftp://x", "http://"));
}

}  // namespace
}  // namespace pier
