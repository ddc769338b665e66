#include "base/names.h"

#include <gtest/gtest.h>

#include <string>

namespace pier {
namespace {

TEST(RepositoryName, Valid) {
  for (const char* ok : {"a", "library/ubuntu", "a/b/c", "a.b", "a_b", "a__b", "a-b", "a--b", "a---b", "0",
                         "my-org/my.app_v2/x"}) {
    EXPECT_TRUE(IsValidRepositoryName(ok)) << ok;
  }
}

TEST(RepositoryName, Invalid) {
  for (const char* bad :
       {"",   "../x", "a/../b", "..", ".",    "A",    "Library/ubuntu", "a___b", "a-",  "-a",   "a_",
        "_a", "a.",   "a/",     "/a", "a//b", "a.-b", "a_.b",           "a b",   "a:b", "a\\b", "é"}) {
    EXPECT_FALSE(IsValidRepositoryName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidRepositoryName(std::string_view("a\0b", 3)));
}

TEST(RepositoryName, LengthLimit) {
  EXPECT_TRUE(IsValidRepositoryName(std::string(255, 'a')));
  EXPECT_FALSE(IsValidRepositoryName(std::string(256, 'a')));
  EXPECT_FALSE(IsValidRepositoryName(std::string(300, 'a')));
  std::string many;
  for (int i = 0; i < 100; ++i) many += "ab/";
  many += "c";  // 301 characters of valid components
  EXPECT_FALSE(IsValidRepositoryName(many));
}

TEST(Tag, ValidAndInvalid) {
  for (const char* ok : {"latest", "v1.0.0", "_x", "A-b_c.d", "1"}) EXPECT_TRUE(IsValidTag(ok)) << ok;
  for (const char* bad : {"", "-x", ".x", "a b", "a/b", "a:b", "a+b"}) EXPECT_FALSE(IsValidTag(bad)) << bad;
  EXPECT_TRUE(IsValidTag(std::string(128, 'a')));
  EXPECT_FALSE(IsValidTag(std::string(129, 'a')));
}

TEST(Reference, LooksLikeDigest) {
  EXPECT_TRUE(LooksLikeDigest("sha256:abc"));
  EXPECT_TRUE(LooksLikeDigest("x:"));
  EXPECT_FALSE(LooksLikeDigest("latest"));
}

}  // namespace
}  // namespace pier
