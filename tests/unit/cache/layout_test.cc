#include "cache/layout.h"

#include <gtest/gtest.h>

#include <string>

namespace pier {
namespace {

TEST(UploadId, NewIdsAreValidV4AndDistinct) {
  std::string a = NewUploadId();
  std::string b = NewUploadId();
  EXPECT_TRUE(IsValidUploadId(a)) << a;
  EXPECT_NE(a, b);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
}

TEST(UploadId, Invalid) {
  for (const char* bad : {"", "x", "../../etc/passwd", "0123456789abcdef0123456789abcdef0123",
                          "01234567-89AB-4def-8123-456789abcdef", "01234567-89ab-4def-8123-456789abcde/"}) {
    EXPECT_FALSE(IsValidUploadId(bad)) << bad;
  }
  EXPECT_TRUE(IsValidUploadId("01234567-89ab-4def-8123-456789abcdef"));
}

}  // namespace
}  // namespace pier
