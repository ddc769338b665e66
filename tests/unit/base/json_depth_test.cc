#include "base/json_depth.h"

#include <gtest/gtest.h>

#include <string>

#include "base/manifest.h"

namespace pier {
namespace {

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonDepth, CountsArraysAndObjects) {
  EXPECT_TRUE(JsonDepthWithin("{}", 1));
  EXPECT_FALSE(JsonDepthWithin("{\"a\":[]}", 1));
  EXPECT_TRUE(JsonDepthWithin("{\"a\":[]}", 2));
  EXPECT_TRUE(JsonDepthWithin("[[],[],{}]", 2));  // siblings do not add up
  EXPECT_TRUE(JsonDepthWithin(Nested(kMaxJsonDepth)));
  EXPECT_FALSE(JsonDepthWithin(Nested(kMaxJsonDepth + 1)));
}

TEST(JsonDepth, BracketsInStringsDoNotCount) {
  EXPECT_TRUE(JsonDepthWithin(R"({"a":"[[[[{{{{"})", 1));
  EXPECT_TRUE(JsonDepthWithin(R"({"a":"\"[[[["})", 1));        // an escaped quote does not end the string
  EXPECT_FALSE(JsonDepthWithin(R"({"a":"\\","b":[[]]})", 2));  // an escaped backslash does
}

// Found by tests/fuzz (manifest target): nested arrays in annotations made
// the manifest parser's dump recurse past the end of the stack.
TEST(JsonDepth, DeepManifestRefusedNotCrashed) {
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                     R"("annotations":{"a":)" +
                     Nested(200000) + R"(},"config":{}})";
  auto m = ParseManifest(media::kOciManifest, body);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("nests too deeply"), std::string::npos);
  EXPECT_FALSE(ParseDescriptorJson(R"({"platform":)" + Nested(200000) + "}").ok());
}

}  // namespace
}  // namespace pier
