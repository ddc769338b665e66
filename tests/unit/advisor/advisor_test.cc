// The layer advisor's facts (replication/advisor/advisor.h): which build is
// compared, new vs shared layers, what each destination lacks and how long it
// takes there, base-image drift, and the refusals.
#include "replication/advisor/advisor.h"

#include <gtest/gtest.h>

#include "replication/filter.h"
#include "replication/progress_store.h"
#include "replication/state_store.h"
#include "tests/unit/cache/test_util.h"

namespace pier::advisor {
namespace {

using json = nlohmann::json;
using pier::testing::PushImage;
using replication::Endpoint;
using replication::Filter;
using replication::Policy;

class AdvisorTest : public pier::testing::StoreTest {
 protected:
  AdvisorTest() { clock_ = &fake_; }

  void SetUp() override {
    StoreTest::SetUp();
    shared_ = std::shared_ptr<Store>(store_.get(), [](Store*) {});
    auto repl = replication::ReplicationStore::Open(*store_);
    ASSERT_TRUE(repl.ok());
    repl_ = std::move(*repl);
    auto progress = replication::ProgressStore::Open(*store_);
    ASSERT_TRUE(progress.ok());
    progress_ = std::move(*progress);
    AdvisorOptions o;
    o.on_push = false;
    advisor_ = std::make_unique<Advisor>(shared_, repl_, progress_, nullptr, o);
  }
  void TearDown() override {
    advisor_.reset();
    progress_.reset();
    repl_.reset();
    shared_.reset();
    StoreTest::TearDown();
  }

  // A build a second after the last one (push times order builds).
  Digest Build(const std::string& tag, const std::string& config, const std::vector<std::string>& layers) {
    fake_.Advance(std::chrono::seconds(1));
    return PushImage(*store_, "team/app", tag, config, layers);
  }

  int64_t AddDestination(const std::string& name, std::vector<Filter> filters = {}, bool enabled = true) {
    Endpoint e;
    e.name = name;
    e.type = "docker-registry";
    e.url = "https://" + name + ".example.com";
    auto ep = repl_->CreateEndpoint(e);
    EXPECT_TRUE(ep.ok());
    Policy p;
    p.name = "to-" + name;
    p.dest_registry_id = ep->id;
    p.dest_namespace = "ns";
    p.filters = std::move(filters);
    p.enabled = enabled;
    EXPECT_TRUE(repl_->CreatePolicy(p).ok());
    return ep->id;
  }

  json Report(const std::string& ref, const std::string& against = "") {
    auto r = advisor_->Report({"team/app", ref, against, false});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json::object();
  }

  FakeClock fake_;
  std::shared_ptr<Store> shared_;
  std::shared_ptr<replication::ReplicationStore> repl_;
  std::shared_ptr<replication::ProgressStore> progress_;
  std::unique_ptr<Advisor> advisor_;
};

const std::string kBase(3000, 'b'), kLib(2000, 'l'), kApp1(700, '1'), kApp2(900, '2');

TEST_F(AdvisorTest, NewAndSharedLayersAgainstThePreviousTag) {
  Build("1", "cfg-1", {kBase, kLib, kApp1});
  Build("2", "cfg-2", {kBase, kLib, kApp2});
  json r = Report("2");
  ASSERT_TRUE(r["against"].is_object());
  EXPECT_EQ(r["against"]["reference"], "1");
  EXPECT_EQ(r["against_how"], "previous tag");
  ASSERT_EQ(r["layers"].size(), 3u);
  EXPECT_EQ(r["layers"][0]["status"], "shared");
  EXPECT_EQ(r["layers"][1]["status"], "shared");
  EXPECT_EQ(r["layers"][2]["status"], "new");
  EXPECT_EQ(r["layers"][2]["size"], kApp2.size());
  EXPECT_EQ(r["totals"]["new_bytes"], kApp2.size());
  EXPECT_EQ(r["totals"]["new_layers"], 1);
  EXPECT_EQ(r["totals"]["shared_bytes"], kBase.size() + kLib.size());
  EXPECT_EQ(r["totals"]["image_bytes"], kBase.size() + kLib.size() + kApp2.size() + 5);
  EXPECT_FALSE(r["base_image"]["drifted"].get<bool>());
  // The first build has nothing before it: everything is new.
  json first = Report("1");
  EXPECT_TRUE(first["against"].is_null());
  EXPECT_EQ(first["totals"]["new_bytes"], kBase.size() + kLib.size() + kApp1.size());
}

TEST_F(AdvisorTest, AgainstAnotherBuildAndTheRefusals) {
  Build("1", "cfg-1", {kBase, kApp1});
  Build("2", "cfg-2", {kBase, kLib, kApp2});
  Build("3", "cfg-3", {kBase, kLib, kApp1});
  json r = Report("3", "1");
  EXPECT_EQ(r["against"]["reference"], "1");
  EXPECT_EQ(r["against_how"], "asked");
  EXPECT_EQ(r["layers"][1]["status"], "new");     // kLib was not in 1
  EXPECT_EQ(r["layers"][2]["status"], "shared");  // kApp1 was

  auto missing = advisor_->Report({"team/app", "3", "nope", false});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  auto no_repo = advisor_->Report({"team/other", "1", "", false});
  EXPECT_EQ(no_repo.status().code(), Code::kNotFound);

  // Not an image: a manifest whose config is not an image config.
  const std::string cfg = "{}";
  ASSERT_TRUE(pier::testing::PushBlob(*store_, "team/app", cfg).ok());
  const std::string bytes =
      json{{"schemaVersion", 2},
           {"mediaType", media::kOciManifest},
           {"config", {{"mediaType", "application/vnd.cncf.helm.config.v1+json"},
                       {"digest", Sha256Of(cfg).str()}, {"size", cfg.size()}}},
           {"layers", json::array()}}
          .dump();
  auto parsed = ParseManifest(media::kOciManifest, bytes);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(store_->PutManifest("team/app", "chart", parsed->media_type, bytes, *parsed).ok());
  auto chart = advisor_->Report({"team/app", "chart", "", false});
  ASSERT_FALSE(chart.ok());
  EXPECT_EQ(chart.status().code(), Code::kInvalidArgument);
}

TEST_F(AdvisorTest, WhatEachDestinationLacksAndHowLongItTakes) {
  Build("1", "cfg-1", {kBase, kLib, kApp1});
  const Digest d2 = Build("2", "cfg-2", {kBase, kLib, kApp2});
  const int64_t acr = AddDestination("acr");
  // Another destination whose policy only takes release-* tags, one disabled.
  AddDestination("archive", {Filter{"tag", "release-*", ""}});
  AddDestination("off", {}, false);
  // acr holds the base (in this repository) and the lib (in another one: a mount).
  ASSERT_TRUE(progress_->AddKnown(acr, Sha256Of(kBase).str(), "ns/app").ok());
  ASSERT_TRUE(progress_->AddKnown(acr, Sha256Of(kLib).str(), "other/repo").ok());
  ASSERT_TRUE(progress_->NoteLinkRate(acr, 500.0).ok());

  json r = Report("2");
  ASSERT_EQ(r["destinations"].size(), 1u) << r["destinations"].dump();
  const json& d = r["destinations"][0];
  EXPECT_EQ(d["name"], "acr");
  EXPECT_EQ(d["repository"], "ns/app");
  EXPECT_EQ(d["rate_source"], "history");
  EXPECT_EQ(d["missing_blobs"], 2);  // the new layer and the config
  const uint64_t want = kApp2.size() + 5;
  EXPECT_EQ(d["bytes_to_send"], want);
  EXPECT_NEAR(d["seconds"].get<double>(), static_cast<double>(want) / 500.0, 0.1);
  EXPECT_FALSE(r["layers"][0]["destinations"][0]["missing"].get<bool>());
  EXPECT_FALSE(r["layers"][1]["destinations"][0]["missing"].get<bool>());
  EXPECT_TRUE(r["layers"][2]["destinations"][0]["missing"].get<bool>());

  // Once replication recorded the rest, nothing is left to send.
  ASSERT_TRUE(progress_->AddKnown(acr, Sha256Of(kApp2).str(), "ns/app").ok());
  ASSERT_TRUE(progress_->AddKnown(acr, Sha256Of("cfg-2").str(), "ns/app").ok());
  json after = Report(d2.str());
  EXPECT_EQ(after["destinations"].size(), 1u);  // by digest: the tag filter is not asked
  EXPECT_EQ(after["destinations"][0]["bytes_to_send"], 0);
  EXPECT_EQ(after["destinations"][0]["seconds"], 0.0);
}

TEST_F(AdvisorTest, RateFromThePolicySpeedWithoutHistoryElseUnknown) {
  Build("1", "cfg-1", {kBase});
  AddDestination("acr");
  json r = Report("1");
  ASSERT_EQ(r["destinations"].size(), 1u);
  EXPECT_EQ(r["destinations"][0]["rate_source"], "none");
  EXPECT_TRUE(r["destinations"][0]["seconds"].is_null());
  auto policies = repl_->ListPolicies();
  ASSERT_TRUE(policies.ok());
  Policy p = (*policies)[0];
  p.speed = 8;  // Kibit/s: 1024 bytes/s
  ASSERT_TRUE(repl_->UpdatePolicy(p).ok());
  r = Report("1");
  EXPECT_EQ(r["destinations"][0]["rate_source"], "policy speed");
  EXPECT_NEAR(r["destinations"][0]["seconds"].get<double>(), (kBase.size() + 5) / 1024.0, 0.1);
}

TEST_F(AdvisorTest, ABaseImageThatDriftsIsNamed) {
  Build("1", "cfg-1", {kBase, kLib, kApp1});
  const std::string base2(3100, 'B');
  Build("2", "cfg-2", {base2, kLib, kApp1});
  json r = Report("2");
  EXPECT_TRUE(r["base_image"]["drifted"].get<bool>());
  EXPECT_EQ(r["base_image"]["leading_new_layers"], 1);
  EXPECT_EQ(r["base_image"]["leading_new_bytes"], base2.size());
  bool named = false;
  for (const json& f : r["findings"]) named = named || f["kind"] == "base-image-drift";
  EXPECT_TRUE(named) << r["findings"].dump();
}

TEST_F(AdvisorTest, LatestKeepsTheNewestReportPerRepository) {
  Build("1", "cfg-1", {kBase, kApp1});
  Build("2", "cfg-2", {kBase, kApp2});
  AddDestination("acr");
  Report("2");
  Report("1");  // an older build: the newest stays
  auto latest = advisor_->Latest();
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0].reference, "2");
  EXPECT_EQ(latest[0].new_bytes, kApp2.size());
  ASSERT_EQ(latest[0].destinations.size(), 1u);
  EXPECT_EQ(latest[0].destinations[0].missing_bytes, kBase.size() + kApp2.size() + 5);
}

}  // namespace
}  // namespace pier::advisor
