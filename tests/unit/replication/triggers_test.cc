// Triggers: cron fires by the injected clock, the one policy selector,
// events carry the digest they pushed, and Harbor event hosts matched
// through client::Url.
#include "replication/triggers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "../cache/test_util.h"
#include "replication/harbor_webhook.h"
#include "replication/registry_endpoint.h"

namespace pier::replication {
namespace {

class TriggersTest : public pier::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto repl = ReplicationStore::Open(*store_);
    ASSERT_TRUE(repl.ok());
    repl_ = std::move(*repl);
  }

  Policy Add(const std::string& name, std::string_view trigger, bool enabled = true, const std::string& cron = "",
             const std::string& name_filter = "") {
    Policy p;
    p.name = name;
    p.dest_registry_id = 7;
    p.trigger.type = std::string(trigger);
    p.trigger.cron = cron;
    p.enabled = enabled;
    if (!name_filter.empty()) p.filters.push_back(Filter{"name", name_filter, ""});
    auto created = repl_->CreatePolicy(p);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return *created;
  }

  StartFn Recorder() {
    return [this](int64_t id, std::string_view trigger, const EventScope& scope) -> Result<Execution> {
      started_.push_back(id);
      scopes_.push_back(scope);
      Execution e;
      e.policy_id = id;
      e.trigger = std::string(trigger);
      return e;
    };
  }

  std::shared_ptr<ReplicationStore> repl_;
  std::vector<int64_t> started_;
  std::vector<EventScope> scopes_;
};

TEST_F(TriggersTest, MovingTheClockFiresACronPolicy) {
  Policy hourly = Add("cron", kTriggerScheduled, true, "0 1 * * * *");
  Add("cron-off", kTriggerScheduled, false, "0 1 * * * *");
  FakeClock clock;  // 2026-01-01T00:00:00Z
  CronTrigger cron(repl_, clock, Recorder());
  cron.Tick();  // first sight: scheduled for 00:01:00 (minute 1 of every hour)
  EXPECT_TRUE(started_.empty());
  clock.Advance(std::chrono::seconds(30));
  cron.Tick();
  EXPECT_TRUE(started_.empty());
  clock.Advance(std::chrono::seconds(31));
  cron.Tick();
  EXPECT_EQ(started_, std::vector<int64_t>{hourly.id});
  cron.Tick();  // once per fire time
  EXPECT_EQ(started_.size(), 1u);
}

TEST_F(TriggersTest, PoliciesSelectingKeepsEnabledMatchingOnes) {
  Policy app = Add("app", kTriggerEventBased, true, "", "team/**");
  Add("off", kTriggerEventBased, false, "", "team/**");
  Add("other", kTriggerEventBased, true, "", "other/**");
  Add("manual", kTriggerManual, true, "", "team/**");
  auto got = PoliciesSelecting(*repl_, kTriggerEventBased, "team/api", nullptr);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, app.id);
}

TEST_F(TriggersTest, APushEventCarriesTheDigest) {
  Policy p = Add("push", kTriggerEventBased);
  EventTriggers events(repl_, Recorder());
  events.OnPush("app", "v1", "sha256:aaaa");
  ASSERT_EQ(started_, std::vector<int64_t>{p.id});
  EXPECT_EQ(scopes_[0].reference, "v1");
  EXPECT_EQ(scopes_[0].digest, "sha256:aaaa");
  EXPECT_FALSE(scopes_[0].deletion);
}

TEST_F(TriggersTest, AHarborEventCarriesThePushedDigest) {
  Endpoint harbor;
  harbor.name = "harbor";
  harbor.type = std::string(kTypeHarbor);
  harbor.url = "https://harbor.example";
  auto src = repl_->CreateEndpoint(harbor);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  Policy pull;
  pull.name = "from-harbor";
  pull.src_registry_id = src->id;
  pull.trigger.type = std::string(kTriggerEventBased);
  pull.replicate_deletion = true;
  auto created = repl_->CreatePolicy(pull);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EventTriggers events(repl_, Recorder());
  events.OnHarborEvent("library/app", "v1", "sha256:aaaa", false, "harbor.example");
  ASSERT_EQ(started_, std::vector<int64_t>{created->id});
  EXPECT_EQ(scopes_[0].reference, "v1");
  EXPECT_EQ(scopes_[0].digest, "sha256:aaaa");
  // A deletion is planned by its reference alone.
  events.OnHarborEvent("library/app", "v1", "sha256:aaaa", true, "harbor.example");
  ASSERT_EQ(scopes_.size(), 2u);
  EXPECT_TRUE(scopes_[1].deletion);
  EXPECT_EQ(scopes_[1].digest, "");
}

TEST(HarborHost, MatchesTheEndpointThroughItsUrl) {
  EXPECT_TRUE(SameRegistryHost("https://harbor.example", "harbor.example"));
  EXPECT_TRUE(SameRegistryHost("http://harbor.example:8080", "harbor.example:8080"));
  EXPECT_TRUE(SameRegistryHost("https://Harbor.Example:443/", "harbor.example"));
  EXPECT_FALSE(SameRegistryHost("http://harbor.example:8080", "harbor.example"));
  EXPECT_FALSE(SameRegistryHost("https://other.example", "harbor.example"));
  auto e = ParseHarborWebhook("application/json", R"({"type":"PUSH_ARTIFACT","occur_at":1,
    "event_data":{"repository":{"repo_full_name":"library/app"},
    "resources":[{"tag":"v1","digest":"sha256:ab","resource_url":"harbor.example:8080/library/app:v1"}]}})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)[0].source_host, "harbor.example:8080");
}

}  // namespace
}  // namespace pier::replication
