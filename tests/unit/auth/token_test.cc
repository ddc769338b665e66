// The token service: grants = requested ∩ ACL, claims, verification limits.
#include "adapter/auth/token.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapter/auth/jwt.h"
#include "base/clock.h"
#include "tests/unit/auth/token_test_util.h"

namespace pier::auth {
namespace {

using testing::MakeKey;
using testing::ScratchDir;
using Actions = std::vector<std::string>;

// Tokens here are issued and checked at explicit times, never the wall clock.
constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

// `htpasswd -nbB alice wonderland` (same line as authorizer_test.cc).
constexpr char kUsers[] =
    "alice:$2y$05$GUucEpfdHZr68y.LxdpeAecCYRUHV9fXaUi9ZZT3Ym5mAC3uH6Z7G\n"
    "dave:$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/GZ6Nej73/"
    "TFug6pIPSqbJoCT6dfnj.\n";

Identity User(std::string name) {
  Identity who;
  who.anonymous = false;
  who.user = std::move(name);
  return who;
}

std::vector<Scope> Scopes(std::initializer_list<const char*> texts) {
  std::vector<Scope> out;
  for (const char* t : texts) {
    auto s = ParseScope(t);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (s.ok()) out.push_back(*s);
  }
  return out;
}

std::vector<std::string> Strings(const std::vector<Scope>& scopes) {
  std::vector<std::string> out;
  for (const Scope& s : scopes) out.push_back(s.ToString());
  return out;
}

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = MakeKey(dir_.path() / "k");
    ASSERT_TRUE(key_);
    auto users = Htpasswd::Parse(kUsers);
    ASSERT_TRUE(users.ok());
    std::vector<AclRule> rules = {{"alice", "**", kPull | kPush | kDelete},
                                  {"dave", "team/**", kPull},
                                  {"dave", "dave/*", kPull | kPush},
                                  {"anonymous", "public/*", kPull}};
    authorizer_ = std::make_shared<Authorizer>(std::move(*users), rules, false);
    options_.issuer = "pier-test";
    options_.service = "pier-svc";
    options_.expiration_seconds = 300;
    options_.admins = {"alice"};
    service_ = std::make_unique<TokenService>(key_, authorizer_, options_);
  }

  std::string Issue(const Identity& who, const std::vector<Scope>& granted, int64_t now) {
    auto t = service_->Issue(who, granted, now);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t->token : "";
  }

  ScratchDir dir_;
  std::shared_ptr<const TokenKey> key_;
  std::shared_ptr<Authorizer> authorizer_;
  TokenOptions options_;
  std::unique_ptr<TokenService> service_;
};

TEST_F(TokenTest, GrantIsRequestedIntersectAcl) {
  auto want = Scopes({"repository:team/app:pull,push,delete,fly"});
  EXPECT_EQ(Strings(service_->Grant(User("alice"), want)), Actions{"repository:team/app:pull,push,delete"});
  EXPECT_EQ(Strings(service_->Grant(User("dave"), want)), Actions{"repository:team/app:pull"});
  EXPECT_EQ(
      Strings(service_->Grant(User("dave"), Scopes({"repository:dave/x:push", "repository:other/x:pull"}))),
      Actions{"repository:dave/x:push"});
  // "*" is granted only when every action is allowed.
  EXPECT_EQ(Strings(service_->Grant(User("alice"), Scopes({"repository:a:*"}))), Actions{"repository:a:*"});
  EXPECT_TRUE(service_->Grant(User("dave"), Scopes({"repository:team/a:*"})).empty());
  // Unknown users (a verified token subject no longer in the ACL) get nothing.
  EXPECT_TRUE(service_->Grant(User("mallory"), Scopes({"repository:team/app:pull"})).empty());
  // Unknown resource types are left out, not an error.
  EXPECT_TRUE(service_->Grant(User("alice"), Scopes({"plugin:thing:pull"})).empty());
}

TEST_F(TokenTest, SameResourceMerged) {
  auto got = service_->Grant(User("alice"), Scopes({"repository:a/b:pull", "repository:a/b:push,pull"}));
  EXPECT_EQ(Strings(got), Actions{"repository:a/b:pull,push"});
}

TEST_F(TokenTest, AnonymousGetsOnlyWhatAclGivesAnonymous) {
  Identity anon;
  auto got = service_->Grant(
      anon, Scopes({"repository:public/app:pull,push", "repository:team/app:pull", "registry:catalog:*"}));
  EXPECT_EQ(Strings(got), Actions{"repository:public/app:pull"});
}

TEST_F(TokenTest, CatalogOnlyForAdmins) {
  auto want = Scopes({"registry:catalog:*"});
  EXPECT_EQ(Strings(service_->Grant(User("alice"), want)), Actions{"registry:catalog:*"});
  EXPECT_TRUE(service_->Grant(User("dave"), want).empty());
  EXPECT_TRUE(service_->Grant(User("alice"), Scopes({"registry:catalog:pull"})).empty());
}

TEST_F(TokenTest, AuthOffGrantsEverythingAsked) {
  auto open = std::make_shared<Authorizer>(std::nullopt, std::vector<AclRule>{}, false);
  TokenService svc(key_, open, options_);
  auto got = svc.Grant(Identity{}, Scopes({"repository:x/y:pull,push", "registry:catalog:*"}));
  EXPECT_EQ(Strings(got), (Actions{"repository:x/y:pull,push", "registry:catalog:*"}));
}

TEST_F(TokenTest, ClaimsAndRoundTrip) {
  const int64_t now = kNow;
  auto granted = Scopes({"repository:team/app:pull,push"});
  std::string token = Issue(User("alice"), granted, now);
  auto raw = VerifyEs256(token, key_->pkey());
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  auto header = nlohmann::json::parse(raw->header_json);
  EXPECT_EQ(header["alg"], "ES256");
  ASSERT_TRUE(header["x5c"].is_array());
  EXPECT_EQ(header["x5c"][0], key_->cert_der_base64());
  auto claims = nlohmann::json::parse(raw->payload_json);
  EXPECT_EQ(claims["iss"], "pier-test");
  EXPECT_EQ(claims["sub"], "alice");
  EXPECT_EQ(claims["aud"], "pier-svc");
  EXPECT_EQ(claims["iat"], now);
  EXPECT_EQ(claims["nbf"], now);
  EXPECT_EQ(claims["exp"], now + 300);
  EXPECT_EQ(claims["jti"].get<std::string>().size(), 32u);
  EXPECT_EQ(claims["access"],
            nlohmann::json::parse(R"([{"type":"repository","name":"team/app","actions":["pull","push"]}])"));
  EXPECT_NE(Issue(User("alice"), granted, now), token) << "jti differs per token";

  auto who = service_->Verify(token, now + 5);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_FALSE(who->anonymous);
  EXPECT_EQ(who->user, "alice");
  ASSERT_NE(who->grants, nullptr);
  EXPECT_EQ(*who->grants, granted);

  // The identity carries exactly the token's rights, whatever the ACL says.
  EXPECT_TRUE(authorizer_->Allowed(*who, "team/app", kPull | kPush));
  EXPECT_FALSE(authorizer_->Allowed(*who, "team/app", kDelete));
  EXPECT_FALSE(authorizer_->Allowed(*who, "team/other", kPull));
}

TEST_F(TokenTest, AnonymousTokenHasEmptySubject) {
  const int64_t now = kNow;
  std::string token = Issue(Identity{}, Scopes({"repository:public/app:pull"}), now);
  auto who = service_->Verify(token, now);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_TRUE(who->anonymous);
  EXPECT_TRUE(who->user.empty());
  EXPECT_TRUE(authorizer_->Allowed(*who, "public/app", kPull));
}

TEST_F(TokenTest, ExpiryAndNotBeforeWithLeeway) {
  const int64_t now = kNow;
  std::string token = Issue(User("alice"), {}, now);
  EXPECT_TRUE(service_->Verify(token, now + 300 + TokenService::kLeewaySeconds).ok());
  auto late = service_->Verify(token, now + 300 + TokenService::kLeewaySeconds + 1);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos);
  EXPECT_TRUE(service_->Verify(token, now - TokenService::kLeewaySeconds).ok());
  auto early = service_->Verify(token, now - TokenService::kLeewaySeconds - 1);
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.status().message().find("not valid yet"), std::string::npos);
}

TEST_F(TokenTest, OverloadsWithoutATimeReadTheInjectedClock) {
  FakeClock clock;
  TokenService svc(key_, authorizer_, options_, clock);
  auto issued = svc.Issue(User("alice"), {});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(issued->issued_at, clock.UnixSeconds());
  EXPECT_TRUE(svc.Verify(issued->token).ok());
  clock.Advance(std::chrono::seconds(300 + TokenService::kLeewaySeconds));
  EXPECT_TRUE(svc.Verify(issued->token).ok());
  clock.Advance(std::chrono::seconds(1));
  auto late = svc.Verify(issued->token);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("expired"), std::string::npos);
}

TEST_F(TokenTest, IssuerServiceAndKeyMustMatch) {
  const int64_t now = kNow;
  std::string token = Issue(User("alice"), {}, now);
  TokenOptions other_issuer = options_;
  other_issuer.issuer = "someone-else";
  EXPECT_FALSE(TokenService(key_, authorizer_, other_issuer).Verify(token, now).ok());
  TokenOptions other_service = options_;
  other_service.service = "other-svc";
  auto s = TokenService(key_, authorizer_, other_service).Verify(token, now);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("other-svc"), std::string::npos);
  auto other_key = MakeKey(dir_.path() / "other");
  EXPECT_FALSE(TokenService(other_key, authorizer_, options_).Verify(token, now).ok());
}

TEST_F(TokenTest, ForgedTokensRefused) {
  const int64_t now = kNow;
  std::string claims = R"({"iss":"pier-test","sub":"alice","aud":"pier-svc","exp":)" +
                       std::to_string(now + 60) +
                       R"(,"access":[{"type":"repository","name":"x","actions":["*"]}]})";
  // alg none with no signature.
  std::string none = Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode(claims) + ".";
  EXPECT_FALSE(service_->Verify(none, now).ok());
  // Right claims, signed by another key.
  auto other_key = MakeKey(dir_.path() / "other");
  auto foreign = SignEs256(R"({"alg":"ES256"})", claims, other_key->pkey());
  ASSERT_TRUE(foreign.ok());
  EXPECT_FALSE(service_->Verify(*foreign, now).ok());
  // Signed by our key but with a malformed access claim.
  auto bad_access = SignEs256(R"({"alg":"ES256"})",
                              R"({"iss":"pier-test","aud":"pier-svc","exp":)" + std::to_string(now + 60) +
                                  R"(,"access":[{"type":"repository","name":"x","actions":"pull"}]})",
                              key_->pkey());
  ASSERT_TRUE(bad_access.ok());
  EXPECT_FALSE(service_->Verify(*bad_access, now).ok());
  // No expiry at all.
  auto no_exp = SignEs256(R"({"alg":"ES256"})", R"({"iss":"pier-test","aud":"pier-svc"})", key_->pkey());
  ASSERT_TRUE(no_exp.ok());
  EXPECT_FALSE(service_->Verify(*no_exp, now).ok());
  // Audience as a list is fine when it holds our service.
  auto list_aud = SignEs256(
      R"({"alg":"ES256"})",
      R"({"iss":"pier-test","aud":["x","pier-svc"],"exp":)" + std::to_string(now + 60) + "}", key_->pkey());
  ASSERT_TRUE(list_aud.ok());
  EXPECT_TRUE(service_->Verify(*list_aud, now).ok());
}

// Found by tests/fuzz/jwt_fuzz: exp + leeway overflowed int64 (UB) for a
// signed token whose exp is INT64_MAX; such a token simply never expires.
TEST_F(TokenTest, ExpiryAtInt64MaxDoesNotOverflow) {
  const int64_t now = kNow;
  auto token = SignEs256(R"({"alg":"ES256"})",
                         R"({"iss":"pier-test","aud":"pier-svc","exp":9223372036854775807})", key_->pkey());
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(service_->Verify(*token, now).ok());
  auto long_ago =
      SignEs256(R"({"alg":"ES256"})", R"({"iss":"pier-test","aud":"pier-svc","exp":-9223372036854775808})",
                key_->pkey());
  ASSERT_TRUE(long_ago.ok());
  EXPECT_FALSE(service_->Verify(*long_ago, now).ok());
}

TEST(BearerHeader, Parses) {
  std::string_view token;
  EXPECT_TRUE(ParseBearerAuthorization("Bearer abc.def.ghi", &token));
  EXPECT_EQ(token, "abc.def.ghi");
  EXPECT_TRUE(ParseBearerAuthorization("  bearer \t x.y.z  ", &token));
  EXPECT_EQ(token, "x.y.z");
  EXPECT_FALSE(ParseBearerAuthorization("Bearer", &token));
  EXPECT_FALSE(ParseBearerAuthorization("Bearer   ", &token));
  EXPECT_FALSE(ParseBearerAuthorization("Basic YTpi", &token));
  EXPECT_FALSE(ParseBearerAuthorization("Bearerx.y.z", &token));
  EXPECT_FALSE(ParseBearerAuthorization("", &token));
}

}  // namespace
}  // namespace pier::auth
