#include "replication/harbor_webhook.h"

#include <gtest/gtest.h>

namespace pier::replication {
namespace {

constexpr char kDefault[] = R"({"type":"PUSH_ARTIFACT","occur_at":1678082303,"operator":"admin",
 "event_data":{"resources":[{"digest":"sha256:dde8","tag":"latest",
   "resource_url":"harbor.example/library/busybox:latest"}],
  "repository":{"date_created":1677053165,"name":"busybox","namespace":"library",
   "repo_full_name":"library/busybox","repo_type":"public"}}})";

TEST(HarborWebhook, DefaultPayload) {
  auto e = ParseHarborWebhook("application/json", kDefault);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].type, "PUSH_ARTIFACT");
  EXPECT_EQ((*e)[0].repository, "library/busybox");
  EXPECT_EQ((*e)[0].reference, "latest");
  EXPECT_EQ((*e)[0].digest, "sha256:dde8");
  EXPECT_FALSE((*e)[0].deletion());
  // The same payload twice gives the same dedup id.
  EXPECT_EQ((*ParseHarborWebhook("application/json", kDefault))[0].id, (*e)[0].id);
}

TEST(HarborWebhook, CloudEvents) {
  auto e = ParseHarborWebhook("application/cloudevents+json", R"({"specversion":"1.0","id":"abc",
    "type":"harbor.artifact.deleted","data":{"resources":[{"digest":"sha256:1","tag":""}],
    "repository":{"namespace":"team","name":"app"}}})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)[0].type, "DELETE_ARTIFACT");
  EXPECT_EQ((*e)[0].repository, "team/app");
  EXPECT_EQ((*e)[0].reference, "sha256:1");  // pushed by digest: the digest is the reference
  EXPECT_TRUE((*e)[0].deletion());
  EXPECT_EQ((*e)[0].id, "abc#0");
}

TEST(HarborWebhook, BadPayloadsNameTheField) {
  EXPECT_EQ(ParseHarborWebhook("application/json", "[1]").status().code(), Code::kInvalidArgument);
  auto s = ParseHarborWebhook("application/json", R"({"type":"SCANNING_COMPLETED","event_data":{}})").status();
  EXPECT_NE(s.message().find("type:"), std::string::npos);
  s = ParseHarborWebhook("application/json", R"({"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"v"}]}})")
          .status();
  EXPECT_NE(s.message().find("event_data.repository"), std::string::npos) << s.message();
  s = ParseHarborWebhook("application/json",
                         R"({"type":"PUSH_ARTIFACT","event_data":{"repository":{"repo_full_name":"a/b"},"resources":[]}})")
          .status();
  EXPECT_NE(s.message().find("event_data.resources"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace pier::replication
