#include "adapter/registry/ranges.h"

#include <gtest/gtest.h>

namespace pier::registry {
namespace {

TEST(RangeHeader, Forms) {
  auto a = ParseRangeHeader("bytes=0-9", 100);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->offset, 0u);
  EXPECT_EQ(a->length, 10u);
  auto b = ParseRangeHeader("bytes=90-", 100);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->offset, 90u);
  EXPECT_EQ(b->length, 10u);
  auto c = ParseRangeHeader("bytes=-5", 100);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->offset, 95u);
  EXPECT_EQ(c->length, 5u);
  auto d = ParseRangeHeader("bytes=50-1000", 100);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->length, 50u);
}

TEST(RangeHeader, Errors) {
  EXPECT_EQ(ParseRangeHeader("bytes=100-", 100).status().code(), Code::kOutOfRange);
  EXPECT_EQ(ParseRangeHeader("bytes=-0", 100).status().code(), Code::kOutOfRange);
  EXPECT_EQ(ParseRangeHeader("items=0-1", 100).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseRangeHeader("bytes=5-2", 100).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseRangeHeader("bytes=0-1,3-4", 100).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseRangeHeader("bytes=x-1", 100).status().code(), Code::kInvalidArgument);
}

TEST(ContentRange, SpecForm) {
  auto a = ParseContentRange("0-1023");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, 0u);
  EXPECT_EQ(a->last, 1023u);
  EXPECT_EQ(a->length(), 1024u);
  ASSERT_TRUE(ParseContentRange(" 5-5 ").ok());
}

// Range syntax and the response header's form are not the spec's request form.
TEST(ContentRange, OtherFormsRefused) {
  for (const char* bad : {"bytes=0-9", "bytes 10-19/*", "bytes 0-9/10", "0-9/10", "+0-9", "0-+9", "0 - 9", "0-9,10-19"}) {
    EXPECT_FALSE(ParseContentRange(bad).ok()) << bad;
  }
}

TEST(ContentRange, Malformed) {
  EXPECT_FALSE(ParseContentRange("").ok());
  EXPECT_FALSE(ParseContentRange("5").ok());
  EXPECT_FALSE(ParseContentRange("9-3").ok());
  EXPECT_FALSE(ParseContentRange("-3").ok());
  EXPECT_FALSE(ParseContentRange("a-b").ok());
  EXPECT_FALSE(ParseContentRange("1-99999999999999999999999").ok());
}

}  // namespace
}  // namespace pier::registry
