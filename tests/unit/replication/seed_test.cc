// Config-seeded replication: strict parsing with config paths in errors,
// secrets from files, upsert by name keeping ids, the ACR check.
#include "replication/seed.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../cache/test_util.h"
#include "base/manifest.h"

namespace pier::replication {
namespace {

using nlohmann::json;
using pier::testing::PushBlob;
using pier::testing::WriteFile;

json AcrRegistry() {
  return {{"name", "acr"},
          {"type", "ali-acr"},
          {"url", "https://registry.cn-hangzhou.aliyuncs.com/"},
          {"credential", {{"type", "basic"}, {"access_key", "user"}, {"access_secret", "pw"}}}};
}

json PushPolicy() {
  return {{"name", "to-acr"},
          {"src_registry", nullptr},
          {"dest_registry", {{"name", "acr"}}},
          {"dest_namespace", "lgy-images"},
          {"trigger", {{"type", "event_based"}}},
          {"filters", {{{"type", "name"}, {"value", "team/**"}}}}};
}

std::string ErrorOf(const json& j) {
  auto r = ParseSeed(j);
  return r.ok() ? std::string("OK") : r.status().message();
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(SeedParseTest, ParsesRegistriesAndPolicyWithNames) {
  auto r = ParseSeed({{"registries", {AcrRegistry()}}, {"policies", {PushPolicy()}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->registries.size(), 1u);
  EXPECT_EQ(r->registries[0].url, "https://registry.cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(r->registries[0].credential.access_secret, "pw");
  ASSERT_EQ(r->policies.size(), 1u);
  EXPECT_EQ(r->policies[0].src_name, "");
  EXPECT_EQ(r->policies[0].dest_name, "acr");
  EXPECT_EQ(r->policies[0].policy.trigger.type, "event_based");
  EXPECT_EQ(r->policies[0].policy.dest_namespace, "lgy-images");
}

TEST(SeedParseTest, ErrorsNameTheConfigPath) {
  json p = PushPolicy();
  p["filters"] = {{{"type", "name"}, {"value", "a/**"}}, {{"type", "tag"}, {"value", "v*"}, {"decoration", 3}}};
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
                         "replication.policies[0].filters[1].decoration: "))
      << ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}});

  json bad_url = AcrRegistry();
  bad_url["url"] = "ftp://x";
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {AcrRegistry(), bad_url}}}), "replication.registries[1].url: "));

  json bad_cron = PushPolicy();
  bad_cron["trigger"] = {{"type", "scheduled"}, {"trigger_settings", {{"cron", "* * * * * *"}}}};
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {bad_cron}}}),
                         "replication.policies[0].trigger.trigger_settings.cron: "));
}

TEST(SeedParseTest, UnknownKeysAreRefusedAtEveryLevel) {
  EXPECT_EQ(ErrorOf({{"registry", json::array()}}), "replication.registry: unknown key");
  json r = AcrRegistry();
  r["passwd"] = "x";
  EXPECT_EQ(ErrorOf({{"registries", {r}}}), "replication.registries[0].passwd: unknown key");
  r = AcrRegistry();
  r["credential"]["secret"] = "x";
  EXPECT_EQ(ErrorOf({{"registries", {r}}}), "replication.registries[0].credential.secret: unknown key");
  json p = PushPolicy();
  p["id"] = 3;
  EXPECT_EQ(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}), "replication.policies[0].id: unknown key");
  p = PushPolicy();
  p["filters"][0]["kind"] = "x";
  EXPECT_EQ(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
            "replication.policies[0].filters[0].kind: unknown key");
  p = PushPolicy();
  p["trigger"]["trigger_settings"] = {{"crn", "0 0 * * * *"}};
  EXPECT_EQ(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
            "replication.policies[0].trigger.trigger_settings.crn: unknown key");
}

TEST(SeedParseTest, PolicyCompression) {
  json p = PushPolicy();
  p["compression"] = {{"format", "zstd"}, {"level", 9}};
  auto r = ParseSeed({{"registries", {AcrRegistry()}}, {"policies", {p}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->policies[0].policy.compression, (Compression{"zstd", 9}));
  p["compression"] = {{"format", "zstd"}, {"levl", 9}};
  EXPECT_EQ(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
            "replication.policies[0].compression.levl: unknown key");
}

TEST(SeedParseTest, RegistryReferences) {
  json p = PushPolicy();
  p["dest_registry"] = {{"name", "nope"}};
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
                         "replication.policies[0].dest_registry.name: no registry named \"nope\""));
  p = PushPolicy();
  p["dest_registry"] = {{"id", 1}};
  EXPECT_EQ(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
            "replication.policies[0].dest_registry.id: unknown key");
  p = PushPolicy();
  p["dest_registry"] = nullptr;
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
                         "replication.policies[0].src_registry: exactly one"));
  p = PushPolicy();
  p["src_registry"] = {{"name", "acr"}};
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
                         "replication.policies[0].src_registry: exactly one"));
  // Pull mode: from a registry into this instance.
  p = PushPolicy();
  p["src_registry"] = {{"name", "acr"}};
  p["dest_registry"] = nullptr;
  p.erase("dest_namespace");
  auto r = ParseSeed({{"registries", {AcrRegistry()}}, {"policies", {p}}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->policies[0].src_name, "acr");
}

TEST(SeedParseTest, DuplicateNamesAreRefused) {
  EXPECT_EQ(ErrorOf({{"registries", {AcrRegistry(), AcrRegistry()}}}),
            "replication.registries[1].name: duplicate registry name \"acr\"");
  EXPECT_EQ(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {PushPolicy(), PushPolicy()}}}),
            "replication.policies[1].name: duplicate policy name \"to-acr\"");
}

TEST(SeedParseTest, AcrRuleIsCheckedAtParseTime) {
  json p = PushPolicy();
  p["dest_namespace"] = "a/b";
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {AcrRegistry()}}, {"policies", {p}}}),
                         "replication.policies[0].dest_namespace: "));
}

TEST(SeedParseTest, SecretsComeFromFiles) {
  pier::testing::TempDir dir;
  WriteFile(dir.path() / "secret", "from-file\n");
  WriteFile(dir.path() / "ca.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  json r = AcrRegistry();
  r["credential"].erase("access_secret");
  r["credential"]["access_secret_file"] = (dir.path() / "secret").string();
  r["ca_certificate_file"] = (dir.path() / "ca.pem").string();
  auto seed = ParseSeed({{"registries", {r}}});
  ASSERT_TRUE(seed.ok()) << seed.status().message();
  EXPECT_EQ(seed->registries[0].credential.access_secret, "from-file");
  EXPECT_EQ(seed->registries[0].ca_certificate,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

  r["credential"]["access_secret_file"] = (dir.path() / "missing").string();
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {r}}}),
                         "replication.registries[0].credential.access_secret_file: cannot read "));
  r["credential"]["access_secret_file"] = (dir.path() / "secret").string();
  r["credential"]["access_secret"] = "inline";
  EXPECT_TRUE(StartsWith(ErrorOf({{"registries", {r}}}),
                         "replication.registries[0].credential.access_secret_file: give access_secret"));
}

class SeedApplyTest : public pier::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto r = ReplicationStore::Open(*store_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repl_ = std::move(*r);
  }
  Result<SeedReport> Apply(const json& j) {
    auto seed = ParseSeed(j);
    if (!seed.ok()) return seed.status();
    return ApplySeed(*seed, *repl_, store_.get());
  }
  std::unique_ptr<ReplicationStore> repl_;
};

TEST_F(SeedApplyTest, CreatesThenUpdatesKeepingIds) {
  // Something created through the API first, so seeded ids are not all 1.
  Endpoint other;
  other.name = "other";
  other.type = "docker-registry";
  other.url = "http://10.0.0.1:5000";
  ASSERT_TRUE(repl_->CreateEndpoint(other).ok());

  json cfg = {{"registries", {AcrRegistry()}}, {"policies", {PushPolicy()}}};
  auto first = Apply(cfg);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->created, 2);
  auto endpoints = repl_->ListEndpoints();
  ASSERT_TRUE(endpoints.ok());
  ASSERT_EQ(endpoints->size(), 2u);
  const Endpoint acr = (*endpoints)[1];
  EXPECT_EQ(acr.name, "acr");
  EXPECT_EQ(acr.status, "unknown");  // not pinged
  auto policies = repl_->ListPolicies();
  ASSERT_TRUE(policies.ok());
  ASSERT_EQ(policies->size(), 1u);
  EXPECT_EQ((*policies)[0].dest_registry_id, acr.id);
  EXPECT_EQ((*policies)[0].src_registry_id, 0);
  const int64_t policy_id = (*policies)[0].id;

  // Same config again: nothing rewritten.
  auto again = Apply(cfg);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->created, 0);
  EXPECT_EQ(again->updated, 0);
  EXPECT_EQ(again->unchanged, 2);

  // The config wins over an API edit, ids are kept.
  Policy edited = (*policies)[0];
  edited.enabled = false;
  ASSERT_TRUE(repl_->UpdatePolicy(edited).ok());
  cfg["registries"][0]["credential"]["access_secret"] = "rotated";
  cfg["policies"][0]["dest_namespace"] = "other-ns";
  auto third = Apply(cfg);
  ASSERT_TRUE(third.ok()) << third.status().message();
  EXPECT_EQ(third->updated, 2);
  auto e = repl_->GetEndpoint(acr.id);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->credential.access_secret, "rotated");
  auto p = repl_->GetPolicy(policy_id);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->dest_namespace, "other-ns");
  EXPECT_TRUE(p->enabled);
  EXPECT_EQ(p->dest_registry_id, acr.id);
  // Nothing deleted: the API-made endpoint is still there.
  EXPECT_EQ(repl_->ListEndpoints()->size(), 2u);
}

TEST_F(SeedApplyTest, AcrCheckUsesStoredRepositories) {
  // A three-level repository that a policy without dest_namespace would
  // send to ACR as is, which ACR personal edition refuses.
  const std::string repo = "team/app/api";
  ASSERT_TRUE(PushBlob(*store_, repo, "config").ok());
  auto desc = [](std::string_view mt, const std::string& c) {
    return json{{"mediaType", mt}, {"digest", Sha256Of(c).str()}, {"size", c.size()}};
  };
  json m = {{"schemaVersion", 2},
            {"mediaType", media::kOciManifest},
            {"config", desc("application/vnd.oci.image.config.v1+json", "config")},
            {"layers", json::array()}};
  const std::string bytes = m.dump();
  auto parsed = ParseManifest(media::kOciManifest, bytes);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(store_->PutManifest(repo, "v1", parsed->media_type, bytes, *parsed).ok());

  json p = PushPolicy();
  p.erase("dest_namespace");
  auto r = Apply({{"registries", {AcrRegistry()}}, {"policies", {p}}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(StartsWith(r.status().message(), "replication.policies[0].dest_namespace: ")) << r.status().message();
  // Refused before anything was written.
  EXPECT_TRUE(repl_->ListEndpoints()->empty());
}

}  // namespace
}  // namespace pier::replication
