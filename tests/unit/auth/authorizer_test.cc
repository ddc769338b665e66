#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "adapter/auth/auth.h"
#include "adapter/auth/basic.h"

namespace pier::auth {
namespace {

// `htpasswd -nbB alice wonderland`, `openssl passwd -6 -salt saltsalt hunter2`.
constexpr char kUsers[] =
    "alice:$2y$05$GUucEpfdHZr68y.LxdpeAecCYRUHV9fXaUi9ZZT3Ym5mAC3uH6Z7G\n"
    "dave:$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/GZ6Nej73/"
    "TFug6pIPSqbJoCT6dfnj.\n";

// base64 helper for building headers.
std::string B64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += "=";
  }
  return out;
}

std::string Basic(std::string_view user, std::string_view password) {
  return "Basic " + B64(std::string(user) + ":" + std::string(password));
}

Htpasswd Users() {
  auto h = Htpasswd::Parse(kUsers);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return std::move(h).value();
}

const Identity kAnon{};
Identity User(std::string name) { return Identity{false, std::move(name), nullptr}; }

// ---- ParseActions ----

TEST(ParseActions, Words) {
  EXPECT_EQ(ParseActions({"pull"}).value(), unsigned{kPull});
  EXPECT_EQ(ParseActions({"pull", "push"}).value(), unsigned{kPull | kPush});
  EXPECT_EQ(ParseActions({"delete"}).value(), unsigned{kDelete});
  EXPECT_EQ(ParseActions({"*"}).value(), unsigned{kPull | kPush | kDelete});
  EXPECT_EQ(ParseActions({"push", "push"}).value(), unsigned{kPush});
  auto bad = ParseActions({"pull", "write"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("write"), std::string::npos);
  EXPECT_FALSE(ParseActions({}).ok());
  EXPECT_FALSE(ParseActions({"Pull"}).ok());
}

// ---- Basic header parsing ----

TEST(BasicHeader, Parses) {
  auto c = ParseBasicAuthorization(Basic("alice", "wonderland"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "wonderland");

  auto spaced = ParseBasicAuthorization("  bAsIc \t  " + B64("u:p:q") + "  ");
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  EXPECT_EQ(spaced->user, "u");
  EXPECT_EQ(spaced->password, "p:q");

  auto unpadded = ParseBasicAuthorization("Basic dTpw");  // "u:p"
  ASSERT_TRUE(unpadded.ok());
  EXPECT_EQ(unpadded->password, "p");
  auto unpadded2 = ParseBasicAuthorization("BASIC dTpwcQ");  // "u:pq" without "=="
  ASSERT_TRUE(unpadded2.ok());
  EXPECT_EQ(unpadded2->password, "pq");

  auto empty_password = ParseBasicAuthorization(Basic("u", ""));
  ASSERT_TRUE(empty_password.ok());
  EXPECT_EQ(empty_password->password, "");
}

TEST(BasicHeader, Malformed) {
  for (std::string bad :
       {std::string("Basic"), std::string("Basic   "), std::string("Basic !!!!"),
        std::string("Basic dTpw dTpw"), "Basic " + B64("nocolon"), std::string("Basic dTpwc"),
        std::string("Basic dTp=w"), std::string("Basic ===="), std::string("Basic dTpwcQ=")}) {
    auto c = ParseBasicAuthorization(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << bad;
    }
  }
  for (std::string other : {std::string("Bearer abc.def.ghi"), std::string("Digest username=x"),
                            "Basically " + B64("u:p"), std::string("xyz")}) {
    auto c = ParseBasicAuthorization(other);
    ASSERT_FALSE(c.ok()) << other;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(c.status().message().find("abc.def"), std::string::npos) << "must not echo credentials";
  }
}

TEST(Base64, Decode) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("", &out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(DecodeBase64("aGVsbG8=", &out));
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(DecodeBase64("aGVsbG8", &out));
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(DecodeBase64("+/+/", &out));
  EXPECT_EQ(out, "\xfb\xff\xbf");
  EXPECT_FALSE(DecodeBase64("aGVsbG8-", &out));
  EXPECT_FALSE(DecodeBase64("a", &out));
  EXPECT_FALSE(DecodeBase64("aGVsbG8==", &out));
}

// ---- Authenticate ----

TEST(Authenticate, DisabledIsAlwaysAnonymous) {
  Authorizer a(std::nullopt, {}, false);
  EXPECT_FALSE(a.enabled());
  for (std::string h :
       {std::string(""), Basic("alice", "wrong"), std::string("Bearer x"), std::string("garbage")}) {
    auto id = a.Authenticate(h);
    ASSERT_TRUE(id.ok()) << h;
    EXPECT_TRUE(id->anonymous);
    EXPECT_EQ(id->user, "");
  }
  EXPECT_TRUE(a.Allowed(kAnon, "any/repo", kPull | kPush | kDelete));
}

TEST(Authenticate, AnonymousAndValidUsers) {
  Authorizer a(Users(), {}, false);
  EXPECT_TRUE(a.enabled());
  auto anon = a.Authenticate("");
  ASSERT_TRUE(anon.ok());
  EXPECT_TRUE(anon->anonymous);

  auto alice = a.Authenticate(Basic("alice", "wonderland"));
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_FALSE(alice->anonymous);
  EXPECT_EQ(alice->user, "alice");

  auto dave = a.Authenticate("basic   " + B64("dave:hunter2"));
  ASSERT_TRUE(dave.ok()) << dave.status().ToString();
  EXPECT_EQ(dave->user, "dave");
}

TEST(Authenticate, WrongCredentialsAreErrorsNotAnonymous) {
  Authorizer a(Users(), {}, true);
  for (std::string h :
       {Basic("alice", "wrong"), Basic("mallory", "wonderland"), Basic("", ""), Basic("alice", "")}) {
    auto id = a.Authenticate(h);
    ASSERT_FALSE(id.ok()) << h;
    EXPECT_EQ(id.status().code(), Code::kNotFound);
    EXPECT_EQ(id.status().message(), "invalid username or password");
  }
  auto bad = a.Authenticate("Basic %%%");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  auto bearer = a.Authenticate("Bearer token");
  ASSERT_FALSE(bearer.ok());
  EXPECT_EQ(bearer.status().code(), Code::kInvalidArgument);
}

TEST(Authenticate, CachedVerificationReturnsSameIdentity) {
  Authorizer a(Users(), {}, false);
  std::string header = Basic("alice", "wonderland");
  auto first = a.Authenticate(header);
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 3; ++i) {
    auto again = a.Authenticate(header);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->anonymous);
    EXPECT_EQ(again->user, first->user);
  }
  // A cached success must not make a different password succeed.
  auto wrong = a.Authenticate(Basic("alice", "wonderland!"));
  EXPECT_FALSE(wrong.ok());
  // Failures are not cached into successes either.
  EXPECT_FALSE(a.Authenticate(Basic("alice", "wonderland!")).ok());
  EXPECT_TRUE(a.Authenticate(header).ok());
}

TEST(Authenticate, ConcurrentCallers) {
  Authorizer a(Users(), {}, false);
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        auto id = (t % 2 == 0) ? a.Authenticate(Basic("alice", "wonderland"))
                               : a.Authenticate(Basic("dave", "hunter2"));
        if (id.ok() && id->user == (t % 2 == 0 ? "alice" : "dave")) ++ok[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ok[t], 4) << t;
}

// ---- Allowed ----

TEST(Allowed, NoRules) {
  Authorizer closed(Users(), {}, false);
  EXPECT_TRUE(closed.Allowed(User("alice"), "any/repo", kPull | kPush | kDelete));
  EXPECT_FALSE(closed.Allowed(kAnon, "any/repo", kPull));
  EXPECT_FALSE(closed.Allowed(kAnon, "any/repo", kPush));

  Authorizer open(Users(), {}, true);
  EXPECT_TRUE(open.Allowed(User("alice"), "any/repo", kPull | kPush | kDelete));
  EXPECT_TRUE(open.Allowed(kAnon, "any/repo", kPull));
  EXPECT_FALSE(open.Allowed(kAnon, "any/repo", kPush));
  EXPECT_FALSE(open.Allowed(kAnon, "any/repo", kPull | kPush));
  EXPECT_FALSE(open.Allowed(kAnon, "any/repo", kDelete));
}

std::vector<AclRule> Rules() {
  return {
      {"alice", "team-a/**", kPull | kPush},
      {"alice", "team-a/prod/*", kDelete},
      {"dave", "library/*", kPull},
      {"dave", "{library,tools}/*", kPush},
      {"*", "public/**", kPull},
      {"anonymous", "library/hello-world", kPull},
  };
}

TEST(Allowed, AclMatrix) {
  Authorizer a(Users(), Rules(), false);
  Identity alice = User("alice"), dave = User("dave");

  // Exact user + glob.
  EXPECT_TRUE(a.Allowed(alice, "team-a/app", kPull));
  EXPECT_TRUE(a.Allowed(alice, "team-a/x/y", kPull | kPush));
  EXPECT_FALSE(a.Allowed(alice, "team-a/app", kDelete));
  EXPECT_FALSE(a.Allowed(alice, "team-b/app", kPull));
  EXPECT_FALSE(a.Allowed(alice, "library/nginx", kPull));

  // Union of matching rules covers the request.
  EXPECT_TRUE(a.Allowed(alice, "team-a/prod/api", kPull | kPush | kDelete));
  EXPECT_FALSE(a.Allowed(alice, "team-a/prod/api/v2", kDelete));  // '*' stays in one component
  EXPECT_TRUE(a.Allowed(dave, "library/nginx", kPull | kPush));
  EXPECT_TRUE(a.Allowed(dave, "tools/jq", kPush));
  EXPECT_FALSE(a.Allowed(dave, "tools/jq", kPull | kPush));  // pull only granted on library/*
  EXPECT_FALSE(a.Allowed(dave, "library/nginx", kDelete));
  EXPECT_FALSE(a.Allowed(dave, "library/a/b", kPull));

  // "*" = any authenticated user, but not anonymous.
  EXPECT_TRUE(a.Allowed(alice, "public/x", kPull));
  EXPECT_TRUE(a.Allowed(dave, "public/x/y", kPull));
  EXPECT_FALSE(a.Allowed(dave, "public/x", kPush));
  EXPECT_FALSE(a.Allowed(kAnon, "public/x", kPull));

  // "anonymous" rules apply to anonymous clients and, since logging in must
  // never show less, to every authenticated user too (Harbor's public projects).
  EXPECT_TRUE(a.Allowed(kAnon, "library/hello-world", kPull));
  EXPECT_FALSE(a.Allowed(kAnon, "library/hello-world", kPush));
  EXPECT_FALSE(a.Allowed(kAnon, "library/nginx", kPull));
  EXPECT_TRUE(a.Allowed(alice, "library/hello-world", kPull));
  EXPECT_FALSE(a.Allowed(alice, "library/hello-world", kPush));

  // Users with no rule of their own get only the "*" rules (rules exist).
  EXPECT_TRUE(a.Allowed(User("zoe"), "public/z", kPull));
  EXPECT_FALSE(a.Allowed(User("zoe"), "team-a/app", kPull));

  // Nothing asked: trivially allowed.
  EXPECT_TRUE(a.Allowed(kAnon, "whatever", 0));
}

TEST(Allowed, AnonymousPullWithRules) {
  Authorizer a(Users(), Rules(), true);
  EXPECT_TRUE(a.Allowed(kAnon, "team-a/app", kPull));
  EXPECT_TRUE(a.Allowed(kAnon, "anything/at/all", kPull));
  EXPECT_FALSE(a.Allowed(kAnon, "team-a/app", kPush));
  EXPECT_FALSE(a.Allowed(kAnon, "library/hello-world", kPull | kDelete));
  // What anonymous may pull, an authenticated user may pull too; no more.
  EXPECT_TRUE(a.Allowed(User("dave"), "team-a/app", kPull));
  EXPECT_FALSE(a.Allowed(User("dave"), "team-a/app", kPush));
}

TEST(Allowed, AnonymousRuleWithPush) {
  Authorizer a(Users(), {{"anonymous", "scratch/**", kPush}}, true);
  EXPECT_TRUE(a.Allowed(kAnon, "scratch/x", kPull | kPush));  // pull via anonymous_pull, push via rule
  EXPECT_FALSE(a.Allowed(kAnon, "other/x", kPush));
  // Authenticated users get what anonymous gets (pull and the rule's push), nothing more.
  EXPECT_TRUE(a.Allowed(User("alice"), "scratch/x", kPull | kPush));
  EXPECT_FALSE(a.Allowed(User("alice"), "other/x", kPush));
}

TEST(Allowed, EmptyGlobAndCatalogStyleQueries) {
  Authorizer a(Users(), {{"alice", "", kPull}, {"dave", "library/**", kPull}}, false);
  std::vector<std::string> repos = {"library/a", "library/b/c", "team/x"};
  int alice = 0, dave = 0;
  for (const auto& r : repos) {
    alice += a.Allowed(User("alice"), r, kPull);
    dave += a.Allowed(User("dave"), r, kPull);
  }
  EXPECT_EQ(alice, 3);  // empty glob matches everything
  EXPECT_EQ(dave, 2);
}

TEST(Allowed, MalformedGlobGrantsNothing) {
  Authorizer a(Users(), {{"alice", "library/[abc", kPull | kPush}}, false);
  EXPECT_FALSE(a.Allowed(User("alice"), "library/a", kPull));
  EXPECT_FALSE(a.Allowed(User("alice"), "library/[abc", kPull));
}

}  // namespace
}  // namespace pier::auth
