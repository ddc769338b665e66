// The registry in token mode and the /token endpoint, driven without
// sockets: Bearer challenges (realm, service, scope), token acceptance and
// insufficient_scope, and the realm's parameters and errors.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <strings.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "adapter/registry/registry.h"
#include "adapter/registry/token_handler.h"
#include "base/clock.h"

namespace pier::registry {
namespace {

// `htpasswd -nbB alice wonderland`.
constexpr char kUsers[] = "alice:$2y$05$GUucEpfdHZr68y.LxdpeAecCYRUHV9fXaUi9ZZT3Ym5mAC3uH6Z7G\n";
constexpr char kAlice[] = "Basic YWxpY2U6d29uZGVybGFuZA==";  // alice:wonderland
constexpr char kWrong[] = "Basic YWxpY2U6d3Jvbmc=";          // alice:wrong

using Headers = std::vector<std::pair<std::string, std::string>>;

class TokenModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pier-token-mode-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Store::Options o;
    o.root = dir_ / "store";
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    auto users = auth::Htpasswd::Parse(kUsers);
    ASSERT_TRUE(users.ok());
    authz_ = std::make_shared<auth::Authorizer>(
        std::move(*users), std::vector<auth::AclRule>{{"alice", "team/**", auth::kPull | auth::kPush}},
        false);
    auto key = auth::TokenKey::LoadOrCreate(dir_ / "token");
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    auth::TokenOptions to;
    to.issuer = "iss";
    to.service = "svc";
    to.admins = {"alice"};
    to.expiration_seconds = 300;
    tokens_ = std::make_shared<const auth::TokenService>(*key, authz_, to, clock_);
    Build(RegistryOptions());
  }
  void TearDown() override {
    handler_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Build(RegistryOptions ro) {
    ro.access_log = false;
    ro.token = tokens_;
    auto registry = std::make_shared<RegistryHandler>(store_, authz_, ro);
    handler_ = std::make_unique<TokenHandler>(tokens_, authz_, TokenHandlerOptions{"pier", false}, registry);
  }

  http::Response Call(const std::string& method, const std::string& target, Headers headers = {},
                      const std::string& body = "") {
    http::Request req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.headers = std::move(headers);
    req.content_length = body.size();
    http::Exchange ex = handler_->Begin(req);
    if (ex.immediate) return std::move(*ex.immediate);
    http::BodyResult br;
    br.bytes = body.size();
    if (ex.mode == http::BodyMode::kBuffer) br.buffered = body;
    return ex.finish(std::move(br));
  }

  static std::string Header(const http::Response& r, const std::string& name) {
    for (auto& [k, v] : r.headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }

  // A token from /token for `query`, as alice.
  std::string Token(const std::string& query) {
    http::Response r = Call("GET", "/token?" + query, {{"authorization", kAlice}});
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("token")) return "";
    EXPECT_EQ(j["token"], j["access_token"]);
    return j["token"].get<std::string>();
  }

  FakeClock clock_;  // the token service's time: issue and verify
  std::filesystem::path dir_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<auth::Authorizer> authz_;
  std::shared_ptr<const auth::TokenService> tokens_;
  std::unique_ptr<TokenHandler> handler_;
};

TEST_F(TokenModeTest, ChallengesPointAtTheRealm) {
  http::Response base = Call("GET", "/v2/", {{"host", "reg.example:5000"}});
  EXPECT_EQ(base.status, 401);
  EXPECT_EQ(Header(base, "WWW-Authenticate"),
            R"(Bearer realm="http://reg.example:5000/token",service="svc")");
  http::Response pull = Call("GET", "/v2/team/app/manifests/v1", {{"host", "reg.example:5000"}});
  EXPECT_EQ(Header(pull, "WWW-Authenticate"),
            R"(Bearer realm="http://reg.example:5000/token",service="svc",scope="repository:team/app:pull")");
  http::Response push = Call("POST", "/v2/team/app/blobs/uploads/", {{"host", "h"}});
  EXPECT_NE(Header(push, "WWW-Authenticate").find(R"(scope="repository:team/app:pull,push")"),
            std::string::npos);
  http::Response catalog = Call("GET", "/v2/_catalog", {{"host", "h"}});
  EXPECT_NE(Header(catalog, "WWW-Authenticate").find(R"(scope="registry:catalog:*")"), std::string::npos);
  // A Host that would break the header is not echoed.
  http::Response odd = Call("GET", "/v2/", {{"host", "a\"b"}});
  EXPECT_EQ(Header(odd, "WWW-Authenticate"), R"(Bearer realm="/token",service="svc")");

  RegistryOptions with_public;
  with_public.public_url = "https://pier.example.com/p";
  Build(with_public);
  EXPECT_EQ(Header(Call("GET", "/v2/", {{"host", "h"}}), "WWW-Authenticate"),
            R"(Bearer realm="https://pier.example.com/p/token",service="svc")");
  RegistryOptions with_realm;
  with_realm.token_realm = "https://auth.example.com/token";
  Build(with_realm);
  EXPECT_EQ(Header(Call("GET", "/v2/", {{"host", "h"}}), "WWW-Authenticate"),
            R"(Bearer realm="https://auth.example.com/token",service="svc")");
}

TEST_F(TokenModeTest, TokensOpenWhatTheyGrantOnly) {
  std::string pull = Token("service=svc&scope=repository:team/app:pull");
  ASSERT_FALSE(pull.empty());
  EXPECT_EQ(Call("GET", "/v2/", {{"authorization", "Bearer " + pull}}).status, 200);
  EXPECT_EQ(Call("GET", "/v2/team/app/tags/list", {{"authorization", "Bearer " + pull}}).status, 404)
      << "authorized; the repository just does not exist";
  http::Response denied = Call("POST", "/v2/team/app/blobs/uploads/", {{"authorization", "Bearer " + pull}});
  EXPECT_EQ(denied.status, 401);
  EXPECT_NE(Header(denied, "WWW-Authenticate").find(R"(error="insufficient_scope")"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v2/team/other/tags/list", {{"authorization", "Bearer " + pull}}).status, 401);

  std::string push = Token("service=svc&scope=repository:team/app:pull,push");
  EXPECT_EQ(Call("POST", "/v2/team/app/blobs/uploads/", {{"authorization", "Bearer " + push}}).status, 202);
  // Basic still works next to tokens.
  EXPECT_EQ(Call("POST", "/v2/team/app/blobs/uploads/", {{"authorization", kAlice}}).status, 202);

  std::string garbage = "Bearer " + pull.substr(0, pull.size() - 30) + std::string(30, 'A');
  EXPECT_EQ(Call("GET", "/v2/team/app/tags/list", {{"authorization", garbage}}).status, 401);
}

TEST_F(TokenModeTest, ExpiredTokensAreRefused) {
  std::string pull = Token("service=svc&scope=repository:team/app:pull");
  ASSERT_FALSE(pull.empty());
  const std::string url = "/v2/team/app/tags/list";
  EXPECT_EQ(Call("GET", url, {{"authorization", "Bearer " + pull}}).status, 404) << "accepted: no such repository";
  // Still inside exp + leeway.
  clock_.Advance(std::chrono::seconds(300 + auth::TokenService::kLeewaySeconds));
  EXPECT_EQ(Call("GET", url, {{"authorization", "Bearer " + pull}}).status, 404);
  clock_.Advance(std::chrono::seconds(1));
  http::Response expired = Call("GET", url, {{"authorization", "Bearer " + pull}});
  EXPECT_EQ(expired.status, 401) << expired.body;
  EXPECT_NE(Header(expired, "WWW-Authenticate").find("Bearer realm="), std::string::npos);
  // A fresh token works again at the new time.
  std::string fresh = Token("service=svc&scope=repository:team/app:pull");
  EXPECT_EQ(Call("GET", url, {{"authorization", "Bearer " + fresh}}).status, 404);
}

// Harbor resumes a failed chunk with GET on the upload URL and a token it
// asked for `pull` only (its scope for GET on /blobs/uploads); docker-registry
// serves that, so Pier must too. Writing to the session still needs push.
TEST_F(TokenModeTest, UploadStatusNeedsPullOnly) {
  std::string push = Token("service=svc&scope=repository:team/app:pull,push");
  http::Response started = Call("POST", "/v2/team/app/blobs/uploads/", {{"authorization", "Bearer " + push}});
  ASSERT_EQ(started.status, 202) << started.body;
  std::string location = Header(started, "Location");
  ASSERT_FALSE(location.empty());
  std::string pull = Token("service=svc&scope=repository:team/app:pull");
  http::Response status = Call("GET", location, {{"authorization", "Bearer " + pull}});
  EXPECT_EQ(status.status, 204) << status.body;
  EXPECT_EQ(Header(status, "Range"), "0-0");
  EXPECT_EQ(Header(status, "Location"), location);
  http::Response patch = Call("PATCH", location, {{"authorization", "Bearer " + pull}}, "abc");
  EXPECT_EQ(patch.status, 401);
  EXPECT_NE(Header(patch, "WWW-Authenticate").find(R"(scope="repository:team/app:pull,push")"), std::string::npos);
  EXPECT_EQ(Call("DELETE", location, {{"authorization", "Bearer " + pull}}).status, 401);
  EXPECT_EQ(Call("GET", location).status, 401) << "still needs a token";
}

TEST_F(TokenModeTest, CatalogNeedsTheCatalogGrant) {
  std::string repo_only = Token("scope=repository:team/app:pull");
  EXPECT_EQ(Call("GET", "/v2/_catalog", {{"authorization", "Bearer " + repo_only}}).status, 401);
  std::string catalog = Token("scope=registry:catalog:*");
  http::Response r = Call("GET", "/v2/_catalog", {{"authorization", "Bearer " + catalog}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(TokenModeTest, RealmParametersAndErrors) {
  // Several scopes in one parameter, '+'-separated as form encoding has it.
  http::Response many =
      Call("GET", "/token?scope=repository:team/a:pull+repository:team/b:push&account=alice",
           {{"authorization", kAlice}});
  ASSERT_EQ(many.status, 200) << many.body;
  EXPECT_EQ(nlohmann::json::parse(many.body)["scope"], "repository:team/a:pull repository:team/b:push");

  http::Response wrong = Call("GET", "/token?scope=repository:team/a:pull", {{"authorization", kWrong}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(nlohmann::json::parse(wrong.body)["errors"][0]["code"], "UNAUTHORIZED");

  http::Response service =
      Call("GET", "/token?service=other&scope=repository:team/a:pull", {{"authorization", kAlice}});
  EXPECT_EQ(service.status, 400);
  EXPECT_NE(service.body.find("service"), std::string::npos);
  http::Response scope = Call("GET", "/token?scope=repository:team/a", {{"authorization", kAlice}});
  EXPECT_EQ(scope.status, 400);
  EXPECT_NE(scope.body.find("scope"), std::string::npos);
  http::Response account = Call("GET", "/token?account=bob", {{"authorization", kAlice}});
  EXPECT_EQ(account.status, 400);
  EXPECT_NE(account.body.find("account"), std::string::npos);
  EXPECT_EQ(Call("GET", "/token?scope=%zz").status, 400);
  EXPECT_EQ(Call("DELETE", "/token").status, 405);

  // Anonymous: a token, with nothing in it (the ACL gives anonymous nothing).
  http::Response anon = Call("GET", "/token?scope=repository:team/a:pull");
  ASSERT_EQ(anon.status, 200);
  EXPECT_EQ(nlohmann::json::parse(anon.body)["scope"], "");

  // OAuth2 password grant.
  http::Response form = Call("POST", "/token", {{"content-type", "application/x-www-form-urlencoded"}},
                             "grant_type=password&username=alice&password=wonderland&service=svc"
                             "&scope=repository%3Ateam%2Fa%3Apull");
  ASSERT_EQ(form.status, 200) << form.body;
  EXPECT_EQ(nlohmann::json::parse(form.body)["scope"], "repository:team/a:pull");
  EXPECT_EQ(Call("POST", "/token", {}, "grant_type=password&username=alice&password=nope").status, 401);
  EXPECT_EQ(Call("POST", "/token", {}, "grant_type=refresh_token&refresh_token=x").status, 400);

  // Other paths go on to the registry.
  EXPECT_EQ(Call("GET", "/healthz").status, 200);
  EXPECT_EQ(Call("GET", "/token/x").status, 404);
}

}  // namespace
}  // namespace pier::registry
