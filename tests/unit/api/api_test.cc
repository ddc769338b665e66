// The management API handler driven in-process (no sockets), with a fake
// pinger: routing, Harbor error shapes, paging, masking, admin-only auth.
#include "adapter/api/api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "cache/gc/gc_service.h"
#include "cache/proxy/pull_through.h"
#include "tests/unit/common/gc_gate.h"
#include "cache/retention/service.h"
#include "replication/advisor/advisor.h"
#include "replication/progress_store.h"
#include "tests/unit/cache/test_util.h"

namespace pier::api {
namespace {

using nlohmann::json;

struct Answer {
  http::Response r;
  json body;
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pier-api-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Store::Options o;
    o.root = dir_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    auto r = replication::ReplicationStore::Open(*store_);
    ASSERT_TRUE(r.ok());
    repl_ = std::move(*r);
    auto rt = retention::Service::Create(store_);
    ASSERT_TRUE(rt.ok());
    retention_ = *rt;
    Make(std::make_shared<auth::Authorizer>(std::nullopt, std::vector<auth::AclRule>{}, false));
  }
  void TearDown() override {
    handler_.reset();
    advisor_.reset();
    gc_.reset();
    retention_.reset();
    repl_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Make(std::shared_ptr<auth::Authorizer> authz, std::shared_ptr<const proxy::PullThrough> pull_through = nullptr) {
    ApiOptions o;
    o.pull_through = std::move(pull_through);
    o.gc = gc_;
    o.retention = retention_;
    o.advisor = advisor_;
    o.admins = {"admin"};
    o.access_log = false;
    o.pinger = [this](const replication::Endpoint& e) {
      ++pings_;
      return e.url.find("good") != std::string::npos ? Status::OK() : Status::IOError("connection refused");
    };
    handler_ = std::make_shared<ApiHandler>(repl_, store_, std::move(authz), o);
  }

  // Auth on: "admin" (pw-a, in admins) and "dev" (pw-d, not).
  void MakeWithAuth() {
    auto users = auth::Htpasswd::Parse(
        "admin:$2y$04$vlKVrSdeCrHPJ92CQEHEZOPVf2HKrJjX5.vGhKFm.as.Km2AJixAW\n"
        "dev:$2y$04$gRzmOh76qMYs2.77eqCXv.y1si1tDzFJRXN2XjHtaaUf7fp4EQuRm\n");
    ASSERT_TRUE(users.ok()) << users.status().ToString();
    Make(std::make_shared<auth::Authorizer>(std::move(*users), std::vector<auth::AclRule>{}, true));
  }

  Answer Do(const std::string& method, const std::string& target, const std::string& body = "",
            const std::string& authorization = "") {
    http::Request req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    if (!authorization.empty()) req.headers.emplace_back("authorization", authorization);
    http::Exchange ex = handler_->Begin(req);
    Answer a;
    if (ex.immediate) {
      a.r = std::move(*ex.immediate);
    } else {
      EXPECT_TRUE(ex.blocking);
      http::BodyResult br;
      br.buffered = body;
      br.bytes = body.size();
      a.r = ex.finish(std::move(br));
    }
    if (!a.r.body.empty()) a.body = json::parse(a.r.body, nullptr, false);
    return a;
  }

  std::string Registry(const std::string& name, const std::string& url) {
    return json{{"name", name},
                {"url", url},
                {"type", "docker-registry"},
                {"credential", {{"type", "basic"}, {"access_key", "u"}, {"access_secret", "hunter2"}}}}
        .dump();
  }

  std::filesystem::path dir_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<replication::ReplicationStore> repl_;
  std::shared_ptr<ApiHandler> handler_;
  std::shared_ptr<gc::GcService> gc_;  // set before Make to serve /system/gc
  std::shared_ptr<retention::Service> retention_;
  std::shared_ptr<advisor::Advisor> advisor_;  // set before Make to serve /report
  int pings_ = 0;
};

TEST_F(ApiTest, RegistryLifecycle) {
  Answer a = Do("POST", "/api/v2.0/registries", Registry("r1", "http://good:5000"));
  ASSERT_EQ(a.r.status, 201) << a.r.body;
  EXPECT_EQ(a.Header("Location"), "/api/v2.0/registries/1");
  EXPECT_EQ(pings_, 1);

  a = Do("POST", "/api/v2.0/registries", Registry("r2", "http://bad:5000"));
  EXPECT_EQ(a.r.status, 400);
  EXPECT_EQ(a.body["errors"][0]["code"], "BAD_REQUEST");
  EXPECT_EQ(a.body["errors"][0]["message"].get<std::string>().rfind("the registry is unhealthy: ", 0), 0u)
      << a.r.body;

  a = Do("POST", "/api/v2.0/registries", Registry("r1", "http://good:5000"));
  EXPECT_EQ(a.r.status, 409);

  a = Do("GET", "/api/v2.0/registries");
  ASSERT_EQ(a.r.status, 200);
  EXPECT_EQ(a.Header("X-Total-Count"), "1");
  EXPECT_EQ(a.Header("Content-Type"), "application/json");
  EXPECT_EQ(a.body[0]["credential"]["access_secret"], "*****");
  EXPECT_EQ(a.r.body.find("hunter2"), std::string::npos);

  a = Do("PUT", "/api/v2.0/registries/1", R"({"description":"d"})");
  EXPECT_EQ(a.r.status, 200) << a.r.body;
  a = Do("GET", "/api/v2.0/registries/1");
  EXPECT_EQ(a.body["description"], "d");
  EXPECT_EQ(Do("GET", "/api/v2.0/registries/1/info").r.status, 200);
  EXPECT_EQ(Do("GET", "/api/v2.0/registries/9").r.status, 404);
  EXPECT_EQ(Do("GET", "/api/v2.0/registries/abc").r.status, 400);
  EXPECT_EQ(Do("PATCH", "/api/v2.0/registries/1").r.status, 405);
  EXPECT_EQ(Do("GET", "/api/v2.0/nothing").r.status, 404);

  EXPECT_EQ(Do("POST", "/api/v2.0/registries/ping", R"({"id":1})").r.status, 200);
  EXPECT_EQ(Do("POST", "/api/v2.0/registries/ping", R"({"type":"docker-registry","url":"http://bad"})").r.status,
            400);
  a = Do("GET", "/api/v2.0/replication/adapters");
  EXPECT_TRUE(a.body.is_array());

  EXPECT_EQ(Do("DELETE", "/api/v2.0/registries/1").r.status, 200);
  EXPECT_EQ(Do("GET", "/api/v2.0/registries").Header("X-Total-Count"), "0");
}

TEST_F(ApiTest, BadBodiesNameTheField) {
  Answer a = Do("POST", "/api/v2.0/registries", "{");
  EXPECT_EQ(a.r.status, 400);
  a = Do("POST", "/api/v2.0/registries", R"({"url":"http://good","type":"docker-registry"})");
  EXPECT_EQ(a.r.status, 400);
  EXPECT_NE(a.body["errors"][0]["message"].get<std::string>().find("name"), std::string::npos);
  EXPECT_EQ(pings_, 0);
}

TEST_F(ApiTest, Paging) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(Do("POST", "/api/v2.0/registries", Registry("reg" + std::to_string(i), "http://good")).r.status, 201);
  }
  Answer a = Do("GET", "/api/v2.0/registries");
  EXPECT_EQ(a.body.size(), 10u);
  EXPECT_EQ(a.Header("X-Total-Count"), "12");
  EXPECT_NE(a.Header("Link").find("page=2"), std::string::npos);
  a = Do("GET", "/api/v2.0/registries?page=2&page_size=10");
  EXPECT_EQ(a.body.size(), 2u);
  EXPECT_NE(a.Header("Link").find("rel=\"prev\""), std::string::npos);
  EXPECT_EQ(a.Header("Link").find("rel=\"next\""), std::string::npos);
  EXPECT_EQ(Do("GET", "/api/v2.0/registries?page_size=101").r.status, 400);
  a = Do("GET", "/api/v2.0/registries?q=name%3D~reg1");
  EXPECT_EQ(a.Header("X-Total-Count"), "3");  // reg1, reg10, reg11
  a = Do("GET", "/api/v2.0/registries?q=name%3Dreg1");
  EXPECT_EQ(a.Header("X-Total-Count"), "1");
}

TEST_F(ApiTest, Policies) {
  ASSERT_EQ(Do("POST", "/api/v2.0/registries", Registry("r1", "http://good")).r.status, 201);
  json p = json::parse(R"({"name":"p","src_registry":null,"dest_registry":{"id":1},"dest_namespace":"ns",
    "trigger":{"type":"manual"},"deletion":true})");
  Answer a = Do("POST", "/api/v2.0/replication/policies", p.dump());
  ASSERT_EQ(a.r.status, 201) << a.r.body;
  EXPECT_EQ(a.Header("Location"), "/api/v2.0/replication/policies/1");
  a = Do("GET", "/api/v2.0/replication/policies/1");
  ASSERT_EQ(a.r.status, 200);
  EXPECT_EQ(a.body["replicate_deletion"], true);
  EXPECT_EQ(a.body["dest_registry"]["name"], "r1");
  EXPECT_EQ(a.body["dest_registry"]["credential"]["access_secret"], "*****");

  json bad = p;
  bad["name"] = "q";
  bad["dest_registry"] = {{"id", 5}};
  EXPECT_EQ(Do("POST", "/api/v2.0/replication/policies", bad.dump()).r.status, 400);
  bad = p;
  bad["name"] = "q";
  bad["trigger"] = {{"type", "scheduled"}, {"trigger_settings", {{"cron", "bad"}}}};
  a = Do("POST", "/api/v2.0/replication/policies", bad.dump());
  EXPECT_EQ(a.r.status, 400);
  EXPECT_NE(a.body["errors"][0]["message"].get<std::string>().find("trigger.trigger_settings.cron"),
            std::string::npos);

  EXPECT_EQ(Do("PUT", "/api/v2.0/replication/policies/1", R"({"enabled":false})").r.status, 200);
  EXPECT_EQ(Do("GET", "/api/v2.0/replication/policies/1").body["enabled"], false);
  EXPECT_EQ(Do("DELETE", "/api/v2.0/registries/1").r.status, 412);
  EXPECT_EQ(Do("DELETE", "/api/v2.0/replication/policies/1").r.status, 200);
  EXPECT_EQ(Do("GET", "/api/v2.0/replication/policies/1").r.status, 404);
}

TEST_F(ApiTest, AdminsOnlyWhenAuthIsOn) {
  ASSERT_NO_FATAL_FAILURE(MakeWithAuth());
  Answer a = Do("GET", "/api/v2.0/registries");
  EXPECT_EQ(a.r.status, 401);
  EXPECT_NE(a.Header("WWW-Authenticate").find("Basic"), std::string::npos);
  EXPECT_EQ(Do("GET", "/api/v2.0/registries", "", "Basic ZGV2OnB3LWQ=").r.status, 403);
  EXPECT_EQ(Do("GET", "/api/v2.0/registries", "", "Basic YWRtaW46cHctYQ==").r.status, 200);
  EXPECT_EQ(Do("GET", "/api/v2.0/registries", "", "Basic YWRtaW46eA==").r.status, 401);
}

// /report: anyone who may pull the repository (not only admins); the
// parameters are checked before the advisor runs.
TEST_F(ApiTest, ReportNeedsPullAccessAndGoodParameters) {
  EXPECT_EQ(Do("GET", "/api/v2.0/report?repository=team/app&reference=1").r.status, 400);  // no advisor
  auto progress = replication::ProgressStore::Open(*store_);
  ASSERT_TRUE(progress.ok());
  advisor::AdvisorOptions ao;
  ao.on_push = false;
  advisor_ = std::make_shared<advisor::Advisor>(store_, repl_, std::move(*progress), nullptr, ao);
  auto users = auth::Htpasswd::Parse(
      "admin:$2y$04$vlKVrSdeCrHPJ92CQEHEZOPVf2HKrJjX5.vGhKFm.as.Km2AJixAW\n"
      "dev:$2y$04$gRzmOh76qMYs2.77eqCXv.y1si1tDzFJRXN2XjHtaaUf7fp4EQuRm\n");
  ASSERT_TRUE(users.ok());
  Make(std::make_shared<auth::Authorizer>(std::move(*users),
                                          std::vector<auth::AclRule>{{"dev", "team/**", auth::kPull},
                                                                     {"admin", "**", auth::kPull | auth::kPush}},
                                          false));
  const std::string dev = "Basic ZGV2OnB3LWQ=";
  pier::testing::PushImage(*store_, "team/app", "1", "cfg-1", {"layer-1"});
  Answer ok = Do("GET", "/api/v2.0/report?repository=team/app&reference=1&content=false", "", dev);
  ASSERT_EQ(ok.r.status, 200) << ok.r.body;
  EXPECT_EQ(ok.body["repository"], "team/app");
  EXPECT_EQ(ok.body["totals"]["new_bytes"], 7);
  // dev may not pull other/*; anonymous may pull nothing.
  EXPECT_EQ(Do("GET", "/api/v2.0/report?repository=other/app&reference=1", "", dev).r.status, 403);
  Answer anon = Do("GET", "/api/v2.0/report?repository=team/app&reference=1");
  EXPECT_EQ(anon.r.status, 401);
  EXPECT_NE(anon.Header("WWW-Authenticate").find("Basic"), std::string::npos);
  EXPECT_EQ(Do("GET", "/api/v2.0/report?repository=team/app&reference=1", "", "Basic ZGV2Ong=").r.status, 401);
  // Bad parameters name the field; an unknown build is 404.
  Answer bad = Do("GET", "/api/v2.0/report?repository=Team/../x&reference=1", "", dev);
  EXPECT_EQ(bad.r.status, 400);
  EXPECT_NE(bad.r.body.find("repository"), std::string::npos);
  EXPECT_EQ(Do("GET", "/api/v2.0/report?repository=team/app", "", dev).r.status, 400);
  Answer badref = Do("GET", "/api/v2.0/report?repository=team/app&reference=a%20b", "", dev);
  EXPECT_EQ(badref.r.status, 400);
  EXPECT_NE(badref.r.body.find("reference"), std::string::npos);
  EXPECT_EQ(Do("GET", "/api/v2.0/report?repository=team/app&reference=1&against=sha256:xyz", "", dev).r.status, 400);
  EXPECT_EQ(Do("GET", "/api/v2.0/report?repository=team/app&reference=1&content=maybe", "", dev).r.status, 400);
  EXPECT_EQ(Do("GET", "/api/v2.0/report?repository=team/app&reference=9", "", dev).r.status, 404);
  EXPECT_EQ(Do("POST", "/api/v2.0/report?repository=team/app&reference=1", "{}", dev).r.status, 405);
  // The management API stays admins-only for dev.
  EXPECT_EQ(Do("GET", "/api/v2.0/registries", "", dev).r.status, 403);
}

TEST_F(ApiTest, ProxyUpstreamsWithHealthAndNoSecret) {
  EXPECT_EQ(Do("GET", "/api/v2.0/proxy/upstreams").body, json::array());  // none configured
  std::ofstream(dir_ / "hub.pass") << "pw-hunter3";
  // Port 1: nothing listens there, so a call fails at once.
  auto ups = proxy::ParseUpstreams(json::array({{{"name", "hub"}, {"url", "http://127.0.0.1:1"}, {"ns", {"docker.io"}},
                                                 {"username", "bot-hunter3"},
                                                 {"password_file", (dir_ / "hub.pass").string()}},
                                                {{"name", "acr"}, {"url", "http://127.0.0.1:1"}, {"prefix", "mirror/acr"}}}),
                                   "proxy.upstreams");
  ASSERT_TRUE(ups.ok()) << ups.status().ToString();
  auto pt = proxy::PullThrough::Create(store_, *ups);
  ASSERT_TRUE(pt.ok()) << pt.status().ToString();
  Make(std::make_shared<auth::Authorizer>(std::nullopt, std::vector<auth::AclRule>{}, false), *pt);

  Answer a = Do("GET", "/api/v2.0/proxy/upstreams");
  ASSERT_EQ(a.r.status, 200) << a.r.body;
  EXPECT_EQ(a.Header("X-Total-Count"), "2");
  ASSERT_EQ(a.body.size(), 2u) << a.r.body;
  EXPECT_EQ(a.body[0]["name"], "hub");
  EXPECT_EQ(a.body[0]["type"], "docker-hub");
  EXPECT_EQ(a.body[0]["prefix"], "hub");
  EXPECT_EQ(a.body[0]["ns"], json::array({"docker.io"}));
  EXPECT_EQ(a.body[0]["credential_configured"], true);
  EXPECT_EQ(a.body[0]["status"], "healthy");
  EXPECT_EQ(a.body[1]["prefix"], "mirror/acr");
  EXPECT_EQ(a.body[1]["type"], "docker-registry");
  EXPECT_EQ(a.body[1]["credential_configured"], false);
  EXPECT_EQ(a.r.body.find("hunter3"), std::string::npos) << a.r.body;
  EXPECT_EQ(a.r.body.find("hub.pass"), std::string::npos) << a.r.body;

  // A failed call marks the upstream offline: listed unhealthy, the other not.
  auto target = (*pt)->Resolve("hub/library/app", std::nullopt);
  ASSERT_TRUE(target.has_value());
  EXPECT_FALSE((*pt)->EnsureManifest(*target, "v1").ok());
  a = Do("GET", "/api/v2.0/proxy/upstreams?q=name=hub");
  ASSERT_EQ(a.body.size(), 1u) << a.r.body;
  EXPECT_EQ(a.body[0]["status"], "unhealthy");
  EXPECT_EQ(Do("GET", "/api/v2.0/proxy/upstreams?q=name=acr").body[0]["status"], "healthy");
  EXPECT_EQ(Do("POST", "/api/v2.0/proxy/upstreams", "{}").r.status, 405);  // config-file objects
}

TEST(PrefixRouter, SplitsOnThePrefix) {
  EXPECT_TRUE(PrefixRouter::IsApiPath("/api/v2.0"));
  EXPECT_TRUE(PrefixRouter::IsApiPath("/api/v2.0/registries"));
  EXPECT_FALSE(PrefixRouter::IsApiPath("/api/v2.00"));
  EXPECT_FALSE(PrefixRouter::IsApiPath("/v2/api/v2.0"));
}

// --- /system/gc (Harbor's GC API) ---

class GcApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    OpenGc({});
  }
  void OpenGc(gc::GcServiceOptions o) {
    handler_.reset();
    gc_.reset();
    o.initial_cron = "0 0 3 * * *";
    auto g = gc::GcService::Open(store_, std::move(o));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    gc_ = std::move(*g);
    Make(std::make_shared<auth::Authorizer>(std::nullopt, std::vector<auth::AclRule>{}, false));
  }
  std::string Message(const Answer& a) { return a.body["errors"][0]["message"].get<std::string>(); }
};

TEST_F(GcApiTest, NotAvailableWithoutTheService) {
  gc_.reset();
  Make(std::make_shared<auth::Authorizer>(std::nullopt, std::vector<auth::AclRule>{}, false));
  Answer a = Do("GET", "/api/v2.0/system/gc");
  EXPECT_EQ(a.r.status, 400);
  EXPECT_NE(Message(a).find("not available"), std::string::npos);
}

TEST_F(GcApiTest, ManualRunHistoryAndLog) {
  Answer a = Do("GET", "/api/v2.0/system/gc");
  ASSERT_EQ(a.r.status, 200);
  EXPECT_EQ(a.body, json::array());
  EXPECT_EQ(a.Header("X-Total-Count"), "0");

  a = Do("POST", "/api/v2.0/system/gc/schedule",
         R"({"schedule":{"type":"Manual"},"parameters":{"delete_untagged":false,"dry_run":true,"workers":2}})");
  ASSERT_EQ(a.r.status, 201) << a.r.body;
  EXPECT_EQ(a.Header("Location"), "/api/v2.0/system/gc/1");
  gc_->Wait();
  a = Do("POST", "/api/v2.0/system/gc/schedule", R"({"schedule":{"type":"Manual"}})");
  ASSERT_EQ(a.r.status, 201) << a.r.body;
  gc_->Wait();

  a = Do("GET", "/api/v2.0/system/gc/1");
  ASSERT_EQ(a.r.status, 200) << a.r.body;
  EXPECT_EQ(a.body["id"], 1);
  EXPECT_EQ(a.body["job_name"], "GARBAGE_COLLECTION");
  EXPECT_EQ(a.body["job_kind"], "MANUAL");
  EXPECT_EQ(a.body["job_parameters"], R"({"delete_untagged":false,"dry_run":true,"workers":2})");
  EXPECT_EQ(a.body["job_status"], "Success");
  EXPECT_EQ(a.body["deleted"], false);
  EXPECT_TRUE(a.body["creation_time"].get<std::string>().ends_with("Z"));
  EXPECT_TRUE(a.body["update_time"].is_string());
  EXPECT_EQ(a.body["pier"]["freed_bytes"], 0);
  EXPECT_EQ(a.body["pier"]["pinned_bytes"], 0);

  a = Do("GET", "/api/v2.0/system/gc?page=1&page_size=1");
  ASSERT_EQ(a.r.status, 200);
  EXPECT_EQ(a.Header("X-Total-Count"), "2");
  ASSERT_EQ(a.body.size(), 1u);
  EXPECT_EQ(a.body[0]["id"], 2);  // newest first
  EXPECT_NE(a.Header("Link").find("rel=\"next\""), std::string::npos);
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc?page_size=0").r.status, 400);

  a = Do("GET", "/api/v2.0/system/gc/1/log");
  ASSERT_EQ(a.r.status, 200);
  EXPECT_EQ(a.Header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_NE(a.r.body.find("totals: would free 0 bytes"), std::string::npos) << a.r.body;

  EXPECT_EQ(Do("PUT", "/api/v2.0/system/gc/1").r.status, 412);  // not running
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/9").r.status, 404);
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/9/log").r.status, 404);
  EXPECT_EQ(Do("PUT", "/api/v2.0/system/gc/9").r.status, 404);
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/abc").r.status, 400);
  EXPECT_EQ(Do("DELETE", "/api/v2.0/system/gc/1").r.status, 405);
  EXPECT_EQ(Do("POST", "/api/v2.0/system/gc").r.status, 405);
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/1/tasks").r.status, 404);
}

TEST_F(GcApiTest, Schedule) {
  Answer a = Do("GET", "/api/v2.0/system/gc/schedule");
  ASSERT_EQ(a.r.status, 200);
  EXPECT_EQ(a.body["schedule"]["type"], "Custom");  // the config's
  EXPECT_EQ(a.body["schedule"]["cron"], "0 0 3 * * *");
  EXPECT_TRUE(a.body["schedule"]["next_scheduled_time"].is_string());
  EXPECT_EQ(a.body["pier"]["source"], "config");

  a = Do("PUT", "/api/v2.0/system/gc/schedule",
         R"({"schedule":{"type":"Daily","cron":"ignored"},"parameters":{"delete_untagged":true,"workers":3}})");
  ASSERT_EQ(a.r.status, 200) << a.r.body;
  a = Do("GET", "/api/v2.0/system/gc/schedule");
  EXPECT_EQ(a.body["schedule"]["type"], "Daily");
  EXPECT_EQ(a.body["schedule"]["cron"], "0 0 0 * * *");
  EXPECT_EQ(a.body["job_parameters"], R"({"delete_untagged":true,"dry_run":false,"workers":3})");
  EXPECT_EQ(a.body["parameters"]["workers"], 3);
  EXPECT_EQ(a.body["pier"]["source"], "api");

  a = Do("POST", "/api/v2.0/system/gc/schedule", R"({"schedule":{"type":"Custom","cron":"0 15 2 * * *"}})");
  ASSERT_EQ(a.r.status, 201) << a.r.body;
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/schedule").body["schedule"]["cron"], "0 15 2 * * *");
  EXPECT_TRUE(Do("GET", "/api/v2.0/system/gc").body.empty());  // saving a schedule runs nothing

  a = Do("PUT", "/api/v2.0/system/gc/schedule", R"({"schedule":{"type":"None"}})");
  ASSERT_EQ(a.r.status, 200) << a.r.body;
  a = Do("GET", "/api/v2.0/system/gc/schedule");
  EXPECT_EQ(a.body["schedule"]["type"], "None");
  EXPECT_FALSE(a.body["schedule"].contains("next_scheduled_time"));
}

TEST_F(GcApiTest, BadInputNamesTheField) {
  struct Case {
    const char* method;
    const char* body;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {"POST", R"({"schedule":{"type":"Manual"},"parameters":{"workers":0}})", "parameters.workers"},
           {"POST", R"({"schedule":{"type":"Manual"},"parameters":{"workers":11}})", "parameters.workers"},
           {"PUT", R"({"schedule":{"type":"Daily"},"parameters":{"workers":"3"}})", "parameters.workers"},
           {"POST", R"({"schedule":{"type":"Manual"},"parameters":{"dry_run":"yes"}})", "parameters.dry_run"},
           {"PUT", R"({"schedule":{"type":"Daily"},"parameters":{"delete_untagged":1}})", "parameters.delete_untagged"},
           {"PUT", R"({"schedule":{"type":"Daily"},"parameters":[]})", "parameters"},
           {"PUT", R"({"schedule":{"type":"Sometimes"}})", "schedule.type"},
           {"PUT", R"({"schedule":{"type":7}})", "schedule.type"},
           {"PUT", R"({"schedule":{}})", "schedule.type"},
           {"PUT", R"({"schedule":{"type":"Manual"}})", "schedule.type"},
           {"PUT", R"({"schedule":{"type":"Custom","cron":"0 0 25 * * *"}})", "schedule.cron"},
           {"POST", R"({"schedule":{"type":"Custom","cron":"* * *"}})", "schedule.cron"},
           {"POST", R"({"schedule":{"type":"Custom"}})", "schedule.cron"},
           {"PUT", R"({"parameters":{"workers":1}})", "schedule"},
           {"PUT", R"({"schedule":"Daily"})", "schedule"},
           {"PUT", R"(not json)", "body"},
       }) {
    Answer a = Do(c.method, "/api/v2.0/system/gc/schedule", c.body);
    EXPECT_EQ(a.r.status, 400) << c.body << " " << a.r.body;
    EXPECT_EQ(Message(a).rfind(c.field, 0), 0u) << c.body << " " << a.r.body;
  }
  EXPECT_TRUE(Do("GET", "/api/v2.0/system/gc").body.empty());
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/schedule").body["pier"]["source"], "config");  // nothing saved
}

TEST_F(GcApiTest, OneRunAtATimeAndStop) {
  testing::GcGate gate;
  gc::GcServiceOptions o;
  o.pins = gate.Hook();
  OpenGc(std::move(o));
  ASSERT_EQ(Do("POST", "/api/v2.0/system/gc/schedule", R"({"schedule":{"type":"Manual"}})").r.status, 201);
  gate.WaitEntered();
  Answer a = Do("POST", "/api/v2.0/system/gc/schedule", R"({"schedule":{"type":"Manual"}})");
  EXPECT_EQ(a.r.status, 409);
  EXPECT_EQ(a.body["errors"][0]["code"], "CONFLICT");
  EXPECT_NE(Message(a).find("already running (id 1)"), std::string::npos) << a.r.body;
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/1").body["job_status"], "Running");
  EXPECT_EQ(Do("PUT", "/api/v2.0/system/gc/1").r.status, 200);
  gate.Open();
  gc_->Wait();
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/1").body["job_status"], "Stopped");
}

TEST_F(GcApiTest, AdminsOnlyWhenAuthIsOn) {
  ASSERT_NO_FATAL_FAILURE(MakeWithAuth());
  const std::string manual = R"({"schedule":{"type":"Manual"}})";
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v2.0/system/gc"},
           {"GET", "/api/v2.0/system/gc/1"},
           {"PUT", "/api/v2.0/system/gc/1"},
           {"GET", "/api/v2.0/system/gc/1/log"},
           {"GET", "/api/v2.0/system/gc/schedule"},
           {"POST", "/api/v2.0/system/gc/schedule"},
           {"PUT", "/api/v2.0/system/gc/schedule"}}) {
    Answer a = Do(method, path, manual);
    EXPECT_EQ(a.r.status, 401) << method << " " << path;
    EXPECT_NE(a.Header("WWW-Authenticate").find("Basic"), std::string::npos);
    EXPECT_EQ(Do(method, path, manual, "Basic ZGV2OnB3LWQ=").r.status, 403) << method << " " << path;
  }
  EXPECT_TRUE(gc_->List()->empty());  // nothing ran for them
  EXPECT_EQ(Do("POST", "/api/v2.0/system/gc/schedule", manual, "Basic YWRtaW46cHctYQ==").r.status, 201);
  gc_->Wait();
  EXPECT_EQ(Do("GET", "/api/v2.0/system/gc/1", "", "Basic YWRtaW46cHctYQ==").r.status, 200);
}

}  // namespace
}  // namespace pier::api

namespace pier::api {
namespace {

TEST_F(ApiTest, QuotasListSetAndRefuseBadInput) {
  // A project appears once it holds something.
  auto up = store_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  {
    auto w = store_->OpenWriter("team/app", up->uuid, 0);
    ASSERT_TRUE(w.ok());
    const std::string blob(1000, 'q');
    ASSERT_TRUE((*w)->Append(std::span<const char>(blob.data(), blob.size())).ok());
    ASSERT_TRUE((*w)->Commit(Sha256Of(blob)).ok());
  }
  Answer list = Do("GET", "/api/v2.0/quotas");
  ASSERT_EQ(list.r.status, 200);
  ASSERT_EQ(list.body.size(), 1u);
  EXPECT_EQ(list.body[0]["ref"]["name"], "team");
  EXPECT_EQ(list.body[0]["hard"]["storage"], -1);
  EXPECT_EQ(list.body[0]["used"]["storage"], 1000);
  const int64_t id = list.body[0]["id"];
  EXPECT_EQ(Do("PUT", "/api/v2.0/quotas/" + std::to_string(id), R"({"hard":{"storage":5000}})").r.status, 200);
  Answer one = Do("GET", "/api/v2.0/quotas/" + std::to_string(id));
  EXPECT_EQ(one.body["hard"]["storage"], 5000);
  // A project before its first push, by name (Pier extension).
  EXPECT_EQ(Do("PUT", "/api/v2.0/quotas/newproj", R"({"hard":{"storage":1}})").r.status, 200);
  Answer filtered = Do("GET", "/api/v2.0/quotas?reference=project&reference_id=2");
  ASSERT_EQ(filtered.body.size(), 1u);
  EXPECT_EQ(filtered.body[0]["ref"]["name"], "newproj");
  EXPECT_EQ(filtered.Header("X-Total-Count"), "1");
  // Bad input names the field.
  Answer bad = Do("PUT", "/api/v2.0/quotas/1", R"({"hard":{"storage":-5}})");
  EXPECT_EQ(bad.r.status, 400);
  EXPECT_NE(bad.r.body.find("hard.storage"), std::string::npos);
  EXPECT_EQ(Do("PUT", "/api/v2.0/quotas/1", R"({"hard":{"count":5}})").r.status, 400);
  EXPECT_EQ(Do("PUT", "/api/v2.0/quotas/1", R"({})").r.status, 400);
  EXPECT_EQ(Do("GET", "/api/v2.0/quotas/99").r.status, 404);
  EXPECT_EQ(Do("GET", "/api/v2.0/quotas?reference=user").r.status, 400);
  EXPECT_EQ(Do("DELETE", "/api/v2.0/quotas/1").r.status, 405);
  // Admins only when auth is on, like every API route.
  auto users = auth::Htpasswd::Parse("dev:$2y$04$gRzmOh76qMYs2.77eqCXv.y1si1tDzFJRXN2XjHtaaUf7fp4EQuRm\n");
  ASSERT_TRUE(users.ok());
  Make(std::make_shared<auth::Authorizer>(std::move(*users), std::vector<auth::AclRule>{}, true));
  EXPECT_EQ(Do("GET", "/api/v2.0/quotas").r.status, 401);
  EXPECT_EQ(Do("PUT", "/api/v2.0/quotas/1", R"({"hard":{"storage":1}})", "Basic ZGV2OnB3LWQ=").r.status, 403);
}


std::string RetentionPolicy(int64_t project, int64_t k = 1) {
  return json{{"algorithm", "or"},
              {"rules",
               {{{"template", "latestPushedK"},
                 {"params", {{"latestPushedK", k}}},
                 {"tag_selectors", {{{"kind", "doublestar"}, {"decoration", "matches"}, {"pattern", "**"}}}},
                 {"scope_selectors",
                  {{"repository", {{{"kind", "doublestar"}, {"decoration", "repoMatches"}, {"pattern", "**"}}}}}}}}},
              {"trigger", {{"kind", "Schedule"}, {"settings", {{"cron", ""}}}}},
              {"scope", {{"level", "project"}, {"ref", project}}}}
      .dump();
}

TEST_F(ApiTest, RetentionRoutes) {
  Answer meta = Do("GET", "/api/v2.0/retentions/metadatas");
  ASSERT_EQ(meta.r.status, 200);
  EXPECT_EQ(meta.body["templates"][0]["rule_template"], "latestPushedK");
  auto quota = store_->SetQuota("team", -1);
  ASSERT_TRUE(quota.ok());
  const std::string id_s = std::to_string(quota->id);

  Answer bad = Do("POST", "/api/v2.0/retentions", RetentionPolicy(quota->id, 0));
  EXPECT_EQ(bad.r.status, 400);
  EXPECT_EQ(bad.body["errors"][0]["message"], "rules[0].params.latestPushedK: must be a positive integer");
  bad = Do("POST", "/api/v2.0/retentions", RetentionPolicy(777));
  EXPECT_EQ(bad.r.status, 400);
  EXPECT_NE(bad.r.body.find("scope.ref"), std::string::npos);
  EXPECT_EQ(Do("POST", "/api/v2.0/retentions", "{").r.status, 400);

  Answer created = Do("POST", "/api/v2.0/retentions", RetentionPolicy(quota->id));
  ASSERT_EQ(created.r.status, 201) << created.r.body;
  EXPECT_EQ(created.Header("Location"), "/api/v2.0/retentions/1");
  EXPECT_EQ(Do("POST", "/api/v2.0/retentions", RetentionPolicy(quota->id)).r.status, 400);  // one per project
  Answer got = Do("GET", "/api/v2.0/retentions/1");
  ASSERT_EQ(got.r.status, 200);
  EXPECT_EQ(got.body["scope"]["ref"], quota->id);
  EXPECT_EQ(Do("PUT", "/api/v2.0/retentions/1", RetentionPolicy(quota->id, 3)).r.status, 200);
  EXPECT_EQ(Do("GET", "/api/v2.0/retentions/1").body["rules"][0]["params"]["latestPushedK"], 3);
  EXPECT_EQ(Do("PUT", "/api/v2.0/retentions/1", RetentionPolicy(quota->id, -1)).r.status, 400);
  EXPECT_EQ(Do("GET", "/api/v2.0/retentions/9").r.status, 404);
  EXPECT_EQ(Do("PUT", "/api/v2.0/retentions/9", RetentionPolicy(quota->id)).r.status, 404);

  EXPECT_EQ(Do("POST", "/api/v2.0/retentions/1/executions", R"({"dry_run":"yes"})").r.status, 400);
  Answer exec = Do("POST", "/api/v2.0/retentions/1/executions", R"({"dry_run":true})");
  ASSERT_EQ(exec.r.status, 201) << exec.r.body;
  EXPECT_EQ(exec.Header("Location"), "/api/v2.0/retentions/1/executions/1");
  retention_->WaitIdle();
  Answer execs = Do("GET", "/api/v2.0/retentions/1/executions");
  ASSERT_EQ(execs.r.status, 200);
  EXPECT_EQ(execs.Header("X-Total-Count"), "1");
  EXPECT_EQ(execs.body[0]["status"], "Succeed");
  EXPECT_EQ(execs.body[0]["dry_run"], true);
  EXPECT_EQ(Do("PATCH", "/api/v2.0/retentions/1/executions/1").r.status, 200);
  EXPECT_EQ(Do("PATCH", "/api/v2.0/retentions/1/executions/5").r.status, 404);
  Answer tasks = Do("GET", "/api/v2.0/retentions/1/executions/1/tasks");
  ASSERT_EQ(tasks.r.status, 200);
  EXPECT_EQ(tasks.body.size(), 0u);  // the project holds no repository yet
  EXPECT_EQ(Do("GET", "/api/v2.0/retentions/1/executions/1/tasks/3").r.status, 404);
  EXPECT_EQ(Do("GET", "/api/v2.0/retentions/2/executions").r.status, 404);
  EXPECT_EQ(Do("DELETE", "/api/v2.0/retentions/1/executions").r.status, 405);

  EXPECT_EQ(Do("DELETE", "/api/v2.0/retentions/1").r.status, 200);
  EXPECT_EQ(Do("GET", "/api/v2.0/retentions/1").r.status, 404);
  EXPECT_EQ(Do("DELETE", "/api/v2.0/retentions/1").r.status, 404);

  auto users = auth::Htpasswd::Parse("dev:$2y$04$gRzmOh76qMYs2.77eqCXv.y1si1tDzFJRXN2XjHtaaUf7fp4EQuRm\n");
  ASSERT_TRUE(users.ok());
  Make(std::make_shared<auth::Authorizer>(std::move(*users), std::vector<auth::AclRule>{}, true));
  EXPECT_EQ(Do("GET", "/api/v2.0/retentions/metadatas").r.status, 401);
  EXPECT_EQ(Do("POST", "/api/v2.0/retentions", RetentionPolicy(quota->id), "Basic ZGV2OnB3LWQ=").r.status, 403);
}

}  // namespace
}  // namespace pier::api
