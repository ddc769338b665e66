#include "replication/policy.h"

#include <gtest/gtest.h>

namespace pier::replication {
namespace {

using nlohmann::json;

// The example from reference/harbor.md.
const char* kHarborExample =
    R"({"name":"to-acr","src_registry":null,"dest_registry":{"id":3},"dest_namespace":"lgy-images",
 "dest_namespace_replace_count":-1,
 "trigger":{"type":"event_based","trigger_settings":{"cron":""}},
 "filters":[{"type":"name","value":"team/**"},{"type":"tag","value":"v*","decoration":"matches"},
            {"type":"label","value":["prod"],"decoration":"excludes"},{"type":"resource","value":"image"}],
 "deletion":false,"override":true,"enabled":true,"speed":-1,"copy_by_chunk":true})";

json Example() { return json::parse(kHarborExample); }

TEST(ParsePolicy, HarborExample) {
  auto r = ParsePolicy(Example());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Policy& p = *r;
  EXPECT_EQ(p.name, "to-acr");
  EXPECT_EQ(p.src_registry_id, 0);
  EXPECT_EQ(p.dest_registry_id, 3);
  EXPECT_TRUE(p.PushMode());
  EXPECT_FALSE(p.PullMode());
  EXPECT_EQ(p.RemoteRegistryId(), 3);
  EXPECT_EQ(p.dest_namespace, "lgy-images");
  EXPECT_EQ(p.dest_namespace_replace_count, -1);
  EXPECT_EQ(p.trigger.type, "event_based");
  ASSERT_EQ(p.filters.size(), 4u);
  EXPECT_EQ(p.filters[2].decoration, "excludes");
  EXPECT_FALSE(p.replicate_deletion);
  EXPECT_TRUE(p.override);
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.speed, -1);
  EXPECT_EQ(p.BytesPerSecond(), 0);
  EXPECT_TRUE(p.copy_by_chunk);
  EXPECT_FALSE(p.single_active_replication);

  auto j = PolicyToJson(p);
  EXPECT_TRUE(j["src_registry"].is_object());
  EXPECT_EQ(j["src_registry"]["id"], 0);
  EXPECT_EQ(j["dest_registry"]["id"], 3);
  EXPECT_EQ(j["replicate_deletion"], false);
  EXPECT_EQ(j["trigger"]["trigger_settings"]["cron"], "");
  EXPECT_EQ(j["filters"].size(), 4u);
  for (const char* key :
       {"id", "name", "description", "dest_namespace", "dest_namespace_replace_count", "override", "enabled",
        "speed", "copy_by_chunk", "single_active_replication", "creation_time", "update_time"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  // The output parses back to the same policy.
  auto again = ParsePolicy(j);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(PolicyToJson(*again), j);
}

TEST(ParsePolicy, DefaultsAndPullMode) {
  auto r = ParsePolicy(json::parse(R"({"name":"pull","src_registry":{"id":5,"name":"ignored","url":"x"}})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->PullMode());
  EXPECT_EQ(r->src_registry_id, 5);
  EXPECT_EQ(r->dest_registry_id, 0);
  EXPECT_EQ(r->dest_namespace_replace_count, -1);
  EXPECT_EQ(r->trigger.type, "manual");
  EXPECT_EQ(r->speed, -1);

  r = ParsePolicy(json::parse(R"({"name":"s","dest_registry":{"id":1},"speed":1024,
      "trigger":{"type":"scheduled","trigger_settings":{"cron":"0 0 */2 * * *"}}})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->BytesPerSecond(), 1024 * 128);
  EXPECT_EQ(r->trigger.cron, "0 0 */2 * * *");
  r->speed = 0;
  EXPECT_EQ(r->BytesPerSecond(), 0);
}

TEST(ParsePolicy, DeletionQuirk) {
  auto body = Example();
  body["deletion"] = true;
  ASSERT_TRUE(ParsePolicy(body).ok());
  EXPECT_TRUE(ParsePolicy(body)->replicate_deletion);

  body.erase("deletion");
  body["replicate_deletion"] = true;
  EXPECT_TRUE(ParsePolicy(body)->replicate_deletion);

  // Both given: "deletion" (Harbor's input name) wins.
  body["deletion"] = false;
  EXPECT_FALSE(ParsePolicy(body)->replicate_deletion);
  body["deletion"] = true;
  body["replicate_deletion"] = false;
  EXPECT_TRUE(ParsePolicy(body)->replicate_deletion);

  body["deletion"] = "yes";
  auto r = ParsePolicy(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("deletion: ", 0), 0u) << r.status().message();
}

struct BadCase {
  const char* what;
  json patch;  // merged into the example (null values remove the key)
  std::string message_start;
};

TEST(ParsePolicy, RefusalsNameTheField) {
  const BadCase cases[] = {
      {"missing name", json{{"name", nullptr}}, "name: required"},
      {"empty name", json{{"name", ""}}, "name: required"},
      {"name not string", json{{"name", 1}}, "name: must be a string"},
      {"both remote", json{{"src_registry", {{"id", 2}}}}, "src_registry: exactly one"},
      {"both local", json{{"dest_registry", {{"id", 0}}}}, "src_registry: exactly one"},
      {"both local null", json{{"dest_registry", nullptr}}, "src_registry: exactly one"},
      {"registry not object", json{{"dest_registry", 3}}, "dest_registry: must be an object"},
      {"registry id negative", json{{"dest_registry", {{"id", -3}}}}, "dest_registry.id: must be an integer"},
      {"registry id string", json{{"dest_registry", {{"id", "3"}}}}, "dest_registry.id: must be an integer"},
      {"cron 5 fields",
       json{{"trigger", {{"type", "scheduled"}, {"trigger_settings", {{"cron", "0 * * * *"}}}}}},
       "trigger.trigger_settings.cron: cron \"0 * * * *\" has 5 fields"},
      {"cron seconds",
       json{{"trigger", {{"type", "scheduled"}, {"trigger_settings", {{"cron", "5 0 * * * *"}}}}}},
       "trigger.trigger_settings.cron: the 1st field (seconds) must be 0"},
      {"cron minutes *",
       json{{"trigger", {{"type", "scheduled"}, {"trigger_settings", {{"cron", "0 * * * * *"}}}}}},
       "trigger.trigger_settings.cron: the 2nd field (minutes) must not be *"},
      {"cron missing", json{{"trigger", {{"type", "scheduled"}}}}, "trigger.trigger_settings.cron: required"},
      {"cron bad",
       json{{"trigger", {{"type", "scheduled"}, {"trigger_settings", {{"cron", "0 0 25 * * *"}}}}}},
       "trigger.trigger_settings.cron: cron \"0 0 25 * * *\": bad hours"},
      {"cron not string", json{{"trigger", {{"type", "scheduled"}, {"trigger_settings", {{"cron", 5}}}}}},
       "trigger.trigger_settings.cron: must be a string"},
      {"trigger type", json{{"trigger", {{"type", "hourly"}}}}, "trigger.type: must be manual, scheduled"},
      {"trigger shape", json{{"trigger", "manual"}}, "trigger: must be an object"},
      {"single active + event", json{{"single_active_replication", true}},
       "single_active_replication: cannot"},
      {"filter decoration",
       json{{"filters", json::parse(R"([{"type":"name","value":"a","decoration":"excludes"}])")}},
       "filters[0].decoration: name filter takes no decoration"},
      {"filter decoration value",
       json{{"filters",
             json::parse(R"([{"type":"tag","value":"a"},{"type":"tag","value":"b","decoration":"not"}])")}},
       "filters[1].decoration: must be \"matches\" or \"excludes\""},
      {"speed float", json{{"speed", 1.5}}, "speed: must be a 32-bit integer"},
      {"speed float whole", json{{"speed", 2.0}}, "speed: must be a 32-bit integer"},
      {"speed string", json{{"speed", "100"}}, "speed: must be a 32-bit integer"},
      {"speed too big", json{{"speed", 1LL << 40}}, "speed: must be a 32-bit integer"},
      {"replace count", json{{"dest_namespace_replace_count", -2}}, "dest_namespace_replace_count: must be"},
      {"replace count float", json{{"dest_namespace_replace_count", 1.0}},
       "dest_namespace_replace_count: must be"},
      {"namespace", json{{"dest_namespace", "Bad Namespace"}},
       "dest_namespace: \"Bad Namespace\" is not a valid"},
      {"enabled", json{{"enabled", "true"}}, "enabled: must be true or false"},
      {"override", json{{"override", 1}}, "override: must be true or false"},
      {"copy_by_chunk", json{{"copy_by_chunk", "no"}}, "copy_by_chunk: must be true or false"},
  };
  for (const auto& c : cases) {
    auto body = Example();
    for (auto it = c.patch.begin(); it != c.patch.end(); ++it) {
      if (it.value().is_null() && std::string(c.what) != "both local null") {
        body.erase(it.key());
      } else {
        body[it.key()] = it.value();
      }
    }
    auto r = ParsePolicy(body);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.what;
    EXPECT_EQ(r.status().message().rfind(c.message_start, 0), 0u) << c.what << ": " << r.status().message();
  }
  auto r = ParsePolicy(json::array());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(ParsePolicy, SingleActiveAllowedWithOtherTriggers) {
  auto body = Example();
  body["single_active_replication"] = true;
  body["trigger"] = {{"type", "manual"}};
  auto r = ParsePolicy(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->single_active_replication);
}

TEST(ParsePolicy, PutMergesOverExisting) {
  auto created = ParsePolicy(Example());
  ASSERT_TRUE(created.ok());
  Policy existing = *created;
  existing.id = 12;
  existing.creation_time = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  auto r =
      ParsePolicy(json::parse(R"({"id":99,"enabled":false,"speed":800,"creation_time":"x"})"), &existing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, 12);
  EXPECT_EQ(r->creation_time, existing.creation_time);
  EXPECT_FALSE(r->enabled);
  EXPECT_EQ(r->speed, 800);
  EXPECT_EQ(r->name, "to-acr");
  EXPECT_EQ(r->filters.size(), 4u);
  EXPECT_EQ(r->dest_registry_id, 3);
  // A PUT can still break a rule.
  r = ParsePolicy(json::parse(R"({"single_active_replication":true})"), &existing);
  EXPECT_EQ(r.status().message().rfind("single_active_replication: ", 0), 0u);
  // Switching direction: both sides in the body.
  r = ParsePolicy(
      json::parse(R"({"src_registry":{"id":3},"dest_registry":null,"trigger":{"type":"manual"}})"),
      &existing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->PullMode());
}

// Pier's extension: "compression": {"format": "zstd", "level": N}.
TEST(ParsePolicyCompression, ParsesAndWritesOnlyWhenSet) {
  // Absent: send as stored, and Harbor's output shape is unchanged.
  auto r = ParsePolicy(Example());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->compression, Compression{});
  EXPECT_FALSE(PolicyToJson(*r).contains("compression"));

  auto body = Example();
  body["compression"] = {{"format", "zstd"}, {"level", 7}};
  r = ParsePolicy(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->compression.format, "zstd");
  EXPECT_EQ(r->compression.level, 7);
  auto j = PolicyToJson(*r);
  EXPECT_EQ(j["compression"], json::parse(R"({"format":"zstd","level":7})"));
  // The output parses back to the same policy.
  auto again = ParsePolicy(j);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->compression, r->compression);
  EXPECT_EQ(PolicyToJson(*again), j);

  // Level absent, 0 or null: adaptive (written as 0, which reads back the same).
  for (const json& level_body :
       {json::parse(R"({"format":"zstd"})"), json::parse(R"({"format":"zstd","level":0})"),
        json::parse(R"({"format":"zstd","level":null})")}) {
    body["compression"] = level_body;
    r = ParsePolicy(body);
    ASSERT_TRUE(r.ok()) << level_body.dump() << ": " << r.status().ToString();
    EXPECT_EQ(r->compression, (Compression{"zstd", 0})) << level_body.dump();
    EXPECT_EQ(PolicyToJson(*r)["compression"], json::parse(R"({"format":"zstd","level":0})"));
  }
  // The bounds.
  body["compression"] = {{"format", "zstd"}, {"level", 1}};
  EXPECT_EQ(ParsePolicy(body)->compression.level, 1);
  body["compression"] = {{"format", "zstd"}, {"level", 19}};
  EXPECT_EQ(ParsePolicy(body)->compression.level, 19);

  // "none", "" and null: send as stored, not written.
  for (const json& none : {json::parse(R"({"format":"none"})"), json::parse(R"({"format":""})"),
                           json::parse(R"({"format":"none","level":0})"), json(nullptr)}) {
    body["compression"] = none;
    r = ParsePolicy(body);
    ASSERT_TRUE(r.ok()) << none.dump() << ": " << r.status().ToString();
    EXPECT_EQ(r->compression, Compression{}) << none.dump();
    EXPECT_FALSE(PolicyToJson(*r).contains("compression")) << none.dump();
  }
}

TEST(ParsePolicyCompression, RefusalsNameTheField) {
  const BadCase cases[] = {
      {"not an object", json{{"compression", "zstd"}}, "compression: must be an object"},
      {"array", json{{"compression", json::array()}}, "compression: must be an object"},
      {"unknown key", json{{"compression", {{"format", "zstd"}, {"lvl", 3}}}},
       "compression.lvl: unknown key"},
      {"format missing", json{{"compression", {{"level", 3}}}}, "compression.format: required"},
      {"format gzip", json{{"compression", {{"format", "gzip"}}}},
       "compression.format: must be \"zstd\" or \"none\", got \"gzip\""},
      {"format case", json{{"compression", {{"format", "ZSTD"}}}}, "compression.format: must be"},
      {"format number", json{{"compression", {{"format", 1}}}}, "compression.format: must be a string"},
      {"level 20", json{{"compression", {{"format", "zstd"}, {"level", 20}}}},
       "compression.level: must be an integer from 1 to 19"},
      {"level negative", json{{"compression", {{"format", "zstd"}, {"level", -1}}}},
       "compression.level: must be an integer from 1 to 19"},
      {"level float", json{{"compression", {{"format", "zstd"}, {"level", 3.5}}}},
       "compression.level: must be an integer from 1 to 19"},
      {"level whole float", json{{"compression", {{"format", "zstd"}, {"level", 3.0}}}},
       "compression.level: must be an integer from 1 to 19"},
      {"level string", json{{"compression", {{"format", "zstd"}, {"level", "3"}}}},
       "compression.level: must be an integer from 1 to 19"},
      {"level without zstd", json{{"compression", {{"format", "none"}, {"level", 3}}}},
       "compression.level: only with format \"zstd\""},
  };
  for (const auto& c : cases) {
    auto body = Example();
    for (auto it = c.patch.begin(); it != c.patch.end(); ++it) body[it.key()] = it.value();
    auto r = ParsePolicy(body);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.what;
    EXPECT_EQ(r.status().message().rfind(c.message_start, 0), 0u) << c.what << ": " << r.status().message();
  }
}

TEST(ParsePolicyCompression, PutMerges) {
  auto body = Example();
  body["compression"] = {{"format", "zstd"}, {"level", 3}};
  auto created = ParsePolicy(body);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Policy existing = *created;
  existing.id = 4;
  // Absent: kept.
  auto r = ParsePolicy(json::parse(R"({"speed":800})"), &existing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->compression, (Compression{"zstd", 3}));
  // A GET-modify-PUT of the output keeps it too.
  r = ParsePolicy(PolicyToJson(existing), &existing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->compression, (Compression{"zstd", 3}));
  // Given: replaced as a whole.
  r = ParsePolicy(json::parse(R"({"compression":{"format":"zstd"}})"), &existing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->compression, (Compression{"zstd", 0}));
  // null or "none": back to sending as stored.
  r = ParsePolicy(json::parse(R"({"compression":null})"), &existing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->compression, Compression{});
  r = ParsePolicy(json::parse(R"({"compression":{"format":"none"}})"), &existing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->compression, Compression{});
  // A refused PUT leaves nothing half-applied (the caller keeps `existing`).
  r = ParsePolicy(json::parse(R"({"compression":{"format":"zstd","level":25}})"), &existing);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(existing.compression, (Compression{"zstd", 3}));
}

Endpoint Acr() {
  Endpoint e;
  e.id = 3;
  e.name = "acr";
  e.type = "ali-acr";
  return e;
}

Policy PushPolicy(const std::string& ns, int count, const std::string& name_filter = "") {
  Policy p;
  p.name = "p";
  p.dest_registry_id = 3;
  p.dest_namespace = ns;
  p.dest_namespace_replace_count = count;
  if (!name_filter.empty()) p.filters.push_back(Filter{"name", name_filter, ""});
  return p;
}

TEST(CheckPolicyForDestination, AcrNaming) {
  const std::vector<std::string> repos = {"app", "team/app", "team/sub/app"};
  // Flatten into a one-level namespace: always namespace/repo.
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("lgy-images", -1), Acr(), repos).ok());
  // Multi-level namespace never fits.
  auto s = CheckPolicyForDestination(PushPolicy("lgy/images", -1), Acr(), repos);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("dest_namespace: ", 0), 0u) << s.message();
  // Count 0 keeps the path: "team/app" would become lgy-images/team/app.
  s = CheckPolicyForDestination(PushPolicy("lgy-images", 0), Acr(), repos);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("team/app"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("namespace/repo"), std::string::npos) << s.message();
  // ... fine when only single-level sources are selected.
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("lgy-images", 0, "app*"), Acr(), repos).ok());
  // ... refused when the name filter can only select multi-level names, even with no such repo yet.
  s = CheckPolicyForDestination(PushPolicy("lgy-images", 0, "team/**"), Acr(), {});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("dest_namespace_replace_count: ", 0), 0u) << s.message();
  // Count 1: team/app → n/app fits; team/sub/app → n/sub/app does not; app → naming error.
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("n", 1, "team/*"), Acr(), repos).ok());
  EXPECT_FALSE(CheckPolicyForDestination(PushPolicy("n", 1, "team/**"), Acr(), repos).ok());
  EXPECT_FALSE(CheckPolicyForDestination(PushPolicy("n", 1, "app"), Acr(), repos).ok());
  // Empty namespace: names unchanged, so sources must already be namespace/repo.
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("", -1, "team/*"), Acr(), repos).ok());
  s = CheckPolicyForDestination(PushPolicy("", -1), Acr(), repos);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("dest_namespace: ", 0), 0u) << s.message();
  // Other destination types are not constrained.
  Endpoint plain = Acr();
  plain.type = "docker-registry";
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("a/b", 0), plain, repos).ok());
  // Pull policies are not constrained by their (source) endpoint.
  Policy pull = PushPolicy("a/b", 0);
  pull.src_registry_id = 3;
  pull.dest_registry_id = 0;
  EXPECT_TRUE(CheckPolicyForDestination(pull, Acr(), repos).ok());
}

// What the rule alone decides, with no repository known yet (a fresh Pier).
TEST(CheckPolicyForDestination, AcrDepthFromTheFilterAlone) {
  // Empty namespace keeps names: a one-level filter can never give namespace/repo.
  auto s = CheckPolicyForDestination(PushPolicy("", -1, "solo*"), Acr(), {});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("dest_namespace: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("\"solo*\" selects repositories of 1 level"), std::string::npos) << s.message();
  // ... nor a filter of exactly three levels.
  EXPECT_FALSE(CheckPolicyForDestination(PushPolicy("", -1, "a/b/*"), Acr(), {}).ok());
  // Two levels exactly: fine.
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("", -1, "team/*"), Acr(), {}).ok());
  // "**" components may or may not fit: accepted (with a warning logged), decided per repository later.
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("", -1, "deep/**"), Acr(), {}).ok());
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("", -1, "**"), Acr(), {}).ok());
  // Replace count 2 keeps two levels after the namespace: needs three-level sources.
  s = CheckPolicyForDestination(PushPolicy("n", 2, "team/*"), Acr(), {});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("dest_namespace_replace_count: ", 0), 0u) << s.message();
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("n", 2, "a/b/*"), Acr(), {}).ok());
  // Alternatives across levels are not judged.
  EXPECT_TRUE(CheckPolicyForDestination(PushPolicy("", -1, "{a,b/c}"), Acr(), {}).ok());
}

TEST(ParsePolicy, NameFilterWithCapitalsRefused) {
  auto p = ParsePolicy(nlohmann::json::parse(R"({"name": "x", "dest_registry": {"id": 1},
      "filters": [{"type": "name", "value": "Team/**"}]})"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("filters[0].value"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("lowercase"), std::string::npos) << p.status().message();
  // A class may name capitals and still match lower case; tags may have capitals.
  EXPECT_TRUE(ParsePolicy(nlohmann::json::parse(R"({"name": "x", "dest_registry": {"id": 1},
      "filters": [{"type": "name", "value": "[A-Za-z]*/app"}, {"type": "tag", "value": "V1*"}]})"))
                  .ok());
}

TEST(CheckHarborCron, Rules) {
  EXPECT_TRUE(CheckHarborCron("0 0 * * * *").ok());
  EXPECT_TRUE(CheckHarborCron("0 */5 * * * *").ok());
  EXPECT_FALSE(CheckHarborCron("0 * * * * *").ok());
  EXPECT_FALSE(CheckHarborCron("*/5 0 * * * *").ok());
  EXPECT_FALSE(CheckHarborCron("  ").ok());
  // Any whitespace separates fields, as the cron parser reads them (a form
  // feed once made the two disagree and read past the end: fuzzing).
  EXPECT_TRUE(CheckHarborCron("0\f0\v*\n* * *").ok());
  EXPECT_TRUE(CheckHarborCron("  0\f0\f\f\f\f4\f4\f\f4\f\f\f\f\f4\f").ok()) << "the fuzzer's input: 0 0 4 4 4 4";
  EXPECT_FALSE(CheckHarborCron("5\f0 * * * *").ok()) << "seconds must be 0";
}

}  // namespace
}  // namespace pier::replication
