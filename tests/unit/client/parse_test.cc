// The registry client's pure parts: header dialects, token and error JSON,
// URL resolution, error classification.
#include "adapter/client/parse.h"

#include <gtest/gtest.h>

#include "adapter/client/errors.h"
#include "adapter/client/url.h"
#include "base/clock.h"

namespace pier::client {
namespace {

// ---- WWW-Authenticate -------------------------------------------------------

TEST(ChallengeTest, BearerAsAcrSendsIt) {
  auto c = ParseChallenges(
      R"(Bearer realm="https://dockerauth.cn-hangzhou.aliyuncs.com/auth",service="registry.aliyuncs.com:cn-hangzhou:26842",scope="repository:ns/app:pull,push")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].Param("realm"), "https://dockerauth.cn-hangzhou.aliyuncs.com/auth");
  EXPECT_EQ(c[0].Param("service"), "registry.aliyuncs.com:cn-hangzhou:26842");
  EXPECT_EQ(c[0].Param("SCOPE"), "repository:ns/app:pull,push");  // names are case-insensitive
  EXPECT_EQ(c[0].Param("error"), "");
}

TEST(ChallengeTest, BasicWithRealm) {
  auto c = ParseChallenges(R"(Basic realm="Registry Realm")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].Param("realm"), "Registry Realm");
}

TEST(ChallengeTest, SeveralChallengesInOneHeaderAndOddSpacing) {
  auto c = ParseChallenges(
      R"(Basic realm="a, b", BEARER  realm = "https://t/x" , service=reg, error="insufficient_scope")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].Param("realm"), "a, b");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].Param("realm"), "https://t/x");
  EXPECT_EQ(c[1].Param("service"), "reg");
  EXPECT_EQ(c[1].Param("error"), "insufficient_scope");
}

TEST(ChallengeTest, EscapesToken68AndJunk) {
  auto c = ParseChallenges(R"(Bearer realm="a\"b\\c")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].Param("realm"), R"(a"b\c)");

  c = ParseChallenges("Negotiate abc==, Basic realm=x");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "negotiate");
  EXPECT_TRUE(c[0].params.empty());
  EXPECT_EQ(c[1].scheme, "basic");
  EXPECT_EQ(c[1].Param("realm"), "x");

  EXPECT_TRUE(ParseChallenges("").empty());
  EXPECT_TRUE(ParseChallenges("  ,  ").empty());
  c = ParseChallenges("@@@, Basic");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
}

TEST(ChallengeTest, SchemeOnly) {
  auto c = ParseChallenges("Bearer");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].Param("realm"), "");
}

// ---- Link -------------------------------------------------------------------

TEST(LinkTest, Registry2Form) {
  EXPECT_EQ(ParseNextLink(R"(</v2/_catalog?last=b&n=2>; rel="next")"), "/v2/_catalog?last=b&n=2");
}

TEST(LinkTest, SeveralLinksUnquotedRelAndLists) {
  EXPECT_EQ(ParseNextLink(R"(<https://r/v2/a?p=1>; rel="prev", <https://r/v2/a?p=3>; rel="next")"),
            "https://r/v2/a?p=3");
  EXPECT_EQ(ParseNextLink(R"(</x>;rel=next)"), "/x");
  EXPECT_EQ(ParseNextLink(R"(</x>; title="a;b"; rel="last next")"), "/x");
  EXPECT_EQ(ParseNextLink(R"(</x>; REL="Next")"), "/x");
}

TEST(LinkTest, NoNext) {
  EXPECT_FALSE(ParseNextLink(R"(</x>; rel="prev")"));
  EXPECT_FALSE(ParseNextLink(""));
  EXPECT_FALSE(ParseNextLink("garbage"));
  EXPECT_FALSE(ParseNextLink("<unclosed; rel=next"));
  EXPECT_FALSE(ParseNextLink(R"(</x>; rel="nextpage")"));
}

// ---- upload Range ---------------------------------------------------------

TEST(UploadRangeTest, CommittedBytes) {
  EXPECT_EQ(*ParseUploadRange("0-1023"), 1024u);
  EXPECT_EQ(*ParseUploadRange("bytes=0-9"), 10u);
  EXPECT_EQ(*ParseUploadRange(" 0-1 "), 2u);
}

TEST(UploadRangeTest, ZeroZeroIsAnEmptySession) {
  // registry:2 answers "0-0" for an empty session (and, ambiguously, for 1 byte).
  EXPECT_EQ(*ParseUploadRange("0-0"), 0u);
  EXPECT_EQ(*ParseUploadRange("0--1"), 0u);
}

TEST(UploadRangeTest, Malformed) {
  EXPECT_FALSE(ParseUploadRange("").ok());
  EXPECT_FALSE(ParseUploadRange("100").ok());
  EXPECT_FALSE(ParseUploadRange("5-10").ok());  // must start at 0
  EXPECT_FALSE(ParseUploadRange("0-x").ok());
  EXPECT_FALSE(ParseUploadRange("0-").ok());
  EXPECT_FALSE(ParseUploadRange("0-18446744073709551615").ok());
}

// ---- token JSON ------------------------------------------------------------

TEST(TokenReplyTest, TokenOrAccessToken) {
  auto r = ParseTokenReply(R"({"token":"abc","expires_in":300,"issued_at":"2026-01-01T00:00:00Z"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->token, "abc");
  EXPECT_EQ(r->expires_in, 300);

  r = ParseTokenReply(R"({"access_token":"xyz"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->token, "xyz");
  EXPECT_EQ(r->expires_in, 60);  // the protocol's default

  r = ParseTokenReply(R"({"token":"","access_token":"second"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->token, "second");
}

TEST(TokenReplyTest, BadExpiryFallsBackToDefault) {
  EXPECT_EQ(ParseTokenReply(R"({"token":"a","expires_in":0})")->expires_in, 60);
  EXPECT_EQ(ParseTokenReply(R"({"token":"a","expires_in":"300"})")->expires_in, 60);
  EXPECT_EQ(ParseTokenReply(R"({"token":"a","expires_in":-5})")->expires_in, 60);
}

TEST(TokenReplyTest, Unusable) {
  EXPECT_FALSE(ParseTokenReply("").ok());
  EXPECT_FALSE(ParseTokenReply("not json").ok());
  EXPECT_FALSE(ParseTokenReply("[]").ok());
  EXPECT_FALSE(ParseTokenReply(R"({"expires_in":60})").ok());
  EXPECT_FALSE(ParseTokenReply(R"({"token":5})").ok());
}

// ---- OCI error body ---------------------------------------------------------

TEST(ErrorBodyTest, FirstCodeAndSummary) {
  auto e = ParseErrorBody(
      R"({"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload invalid","detail":{}},{"code":"DENIED","message":"no"}]})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "BLOB_UPLOAD_INVALID");
  EXPECT_EQ(e->summary, "BLOB_UPLOAD_INVALID: blob upload invalid; DENIED: no");
}

TEST(ErrorBodyTest, NotAnErrorDocument) {
  EXPECT_FALSE(ParseErrorBody(""));
  EXPECT_FALSE(ParseErrorBody("<html>502</html>"));
  EXPECT_FALSE(ParseErrorBody(R"({"errors":[]})"));
  EXPECT_FALSE(ParseErrorBody(R"({"message":"x"})"));
}

// ---- Retry-After -------------------------------------------------------------

TEST(RetryAfterTest, SecondsAndDates) {
  EXPECT_EQ(ParseRetryAfter("120", 0), 120u);
  EXPECT_EQ(ParseRetryAfter(" 0 ", 0), 0u);
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30), 30u);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30), 0u);
  EXPECT_FALSE(ParseRetryAfter("soon", 0));
  EXPECT_FALSE(ParseRetryAfter("-3", 0));
}

// ---- URL ---------------------------------------------------------------------

TEST(UrlTest, Parse) {
  auto u = Url::Parse("https://Registry.CN-Hangzhou.aliyuncs.com");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "registry.cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->Origin(), "https://registry.cn-hangzhou.aliyuncs.com:443");
  EXPECT_EQ(u->HostHeader(), "registry.cn-hangzhou.aliyuncs.com");

  u = Url::Parse("http://127.0.0.1:5000/prefix/v2/?a=b#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 5000);
  EXPECT_EQ(u->target, "/prefix/v2/?a=b");
  EXPECT_EQ(u->path(), "/prefix/v2/");
  EXPECT_EQ(u->query(), "a=b");
  EXPECT_EQ(u->HostHeader(), "127.0.0.1:5000");
  EXPECT_EQ(u->str(), "http://127.0.0.1:5000/prefix/v2/?a=b");

  u = Url::Parse("http://[::1]:8080?x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->target, "/?x");
  EXPECT_EQ(u->HostHeader(), "[::1]:8080");
}

TEST(UrlTest, ParseRejects) {
  EXPECT_FALSE(Url::Parse("registry.example.com").ok());
  EXPECT_FALSE(Url::Parse("ftp://h/").ok());
  EXPECT_FALSE(Url::Parse("http:///x").ok());
  EXPECT_FALSE(Url::Parse("http://h:0/").ok());
  EXPECT_FALSE(Url::Parse("http://h:70000/").ok());
  EXPECT_FALSE(Url::Parse("http://h:12a/").ok());
  EXPECT_FALSE(Url::Parse("http://user:pw@h/").ok());
  EXPECT_FALSE(Url::Parse("http://[::1/").ok());
}

// Found by tests/fuzz/url_fuzz: hosts whose str() did not parse back.
TEST(UrlTest, ParseRejectsMalformedHosts) {
  EXPECT_FALSE(Url::Parse("http://][::1]:5000/v2/").ok());
  EXPECT_FALSE(Url::Parse("https://[name%9]:5/v2/").ok());  // a bracketed host must be IPv6
  EXPECT_FALSE(Url::Parse("http://h\r\nX-Injected: 1/").ok());
  EXPECT_FALSE(Url::Parse("http://a b/").ok());
  EXPECT_TRUE(Url::Parse("http://[fe80::1%25eth0]:5000/").ok());
  EXPECT_TRUE(Url::Parse("https://registry-1.docker.io/").ok());
  auto u = Url::Parse("http://[::1]:5000/v2/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(Url::Parse(u->str())->host, "::1");
}

TEST(UrlTest, ResolveLocations) {
  Url base = *Url::Parse("http://127.0.0.1:5000/v2/lib/app/blobs/uploads/");
  // registry:2: absolute with _state
  EXPECT_EQ(base.Resolve("http://127.0.0.1:5000/v2/lib/app/blobs/uploads/u1?_state=abc%3D")->str(),
            "http://127.0.0.1:5000/v2/lib/app/blobs/uploads/u1?_state=abc%3D");
  // Harbor/Pier: absolute path
  EXPECT_EQ(base.Resolve("/v2/lib/app/blobs/uploads/u2")->str(),
            "http://127.0.0.1:5000/v2/lib/app/blobs/uploads/u2");
  // relative path
  EXPECT_EQ(base.Resolve("u3?x=1")->str(), "http://127.0.0.1:5000/v2/lib/app/blobs/uploads/u3?x=1");
  EXPECT_EQ(base.Resolve("../other")->str(), "http://127.0.0.1:5000/v2/lib/app/blobs/other");
  // scheme-relative and other hosts (object storage)
  EXPECT_EQ(base.Resolve("//s3.example.com/b/k?sig=1")->str(), "http://s3.example.com/b/k?sig=1");
  EXPECT_EQ(base.Resolve("https://s3.example.com/b/k")->Origin(), "https://s3.example.com:443");
  // query only
  EXPECT_EQ(base.Resolve("?n=2&last=b")->str(), "http://127.0.0.1:5000/v2/lib/app/blobs/uploads/?n=2&last=b");
  EXPECT_EQ(base.Resolve("/a/./b/../c")->target, "/a/c");
  EXPECT_FALSE(base.Resolve("").ok());
  EXPECT_FALSE(base.Resolve("ftp://x/").ok());
}

TEST(UrlTest, AddQueryKeepsAnExistingQuery) {
  Url u = *Url::Parse("http://h/v2/a/blobs/uploads/u?_state=xyz");
  u.AddQuery("digest", "sha256:0123");
  EXPECT_EQ(u.target, "/v2/a/blobs/uploads/u?_state=xyz&digest=sha256%3A0123");
  Url v = *Url::Parse("http://h/v2/a/blobs/uploads/u");
  v.AddQuery("digest", "sha256:0123");
  EXPECT_EQ(v.target, "/v2/a/blobs/uploads/u?digest=sha256%3A0123");
  Url w = *Url::Parse("http://h/x?");
  w.AddQuery("k", "a b/c");
  EXPECT_EQ(w.target, "/x?k=a%20b%2Fc");
}

// ---- error classification ---------------------------------------------------

HttpResponse Answer(int status, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> h = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(h);
  return r;
}

// Time for HttpFailure: Retry-After dates are counted from it.
const FakeClock kClock;

TEST(HttpFailureTest, KindsByStatusAndCode) {
  struct Case {
    int status;
    std::string body;
    ErrorKind kind;
    Code code;
  };
  const Case cases[] = {
      {401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})", ErrorKind::kAuth,
       Code::kIOError},
      {403, "", ErrorKind::kAuth, Code::kIOError},
      {404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})", ErrorKind::kNotFound,
       Code::kNotFound},
      {400, R"({"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match"}]})",
       ErrorKind::kDigestMismatch, Code::kDigestMismatch},
      {416, "", ErrorKind::kRemote4xx, Code::kOutOfRange},
      {429, "", ErrorKind::kThrottled, Code::kIOError},
      {500, "oops", ErrorKind::kRemote5xx, Code::kIOError},
      {503, "", ErrorKind::kRemote5xx, Code::kIOError},
      {302, "", ErrorKind::kProtocol, Code::kIOError},
  };
  for (const Case& c : cases) {
    Call call;
    Status s = HttpFailure(kClock, call, "op", Answer(c.status, c.body));
    EXPECT_EQ(call.error.kind, c.kind) << c.status;
    EXPECT_EQ(s.code(), c.code) << c.status;
    EXPECT_EQ(call.error.http_status, c.status);
  }
}

TEST(HttpFailureTest, MessageNamesOperationStatusAndCode) {
  Call call;
  Status s = HttpFailure(
      kClock, call, "upload status lib/app",
      Answer(404, R"({"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload invalid"}]})"));
  EXPECT_EQ(s.message(), "upload status lib/app: HTTP 404 BLOB_UPLOAD_INVALID: blob upload invalid");
  EXPECT_EQ(call.error.registry_code, "BLOB_UPLOAD_INVALID");
}

TEST(HttpFailureTest, RetryAfterExposed) {
  Call call;
  Status s = HttpFailure(kClock, call, "PATCH",
                         Answer(429, R"({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]})",
                                {{"retry-after", "7"}}));
  EXPECT_EQ(call.error.kind, ErrorKind::kThrottled);
  ASSERT_TRUE(call.error.retry_after_seconds);
  EXPECT_EQ(*call.error.retry_after_seconds, 7u);
  EXPECT_TRUE(call.error.Transient());
  EXPECT_NE(s.message().find("retry after 7 s"), std::string::npos);

  Call c2;
  EXPECT_FALSE(HttpFailure(kClock, c2, "GET", Answer(503, "", {{"retry-after", "2"}})).ok());
  EXPECT_EQ(c2.error.kind, ErrorKind::kRemote5xx);
  EXPECT_EQ(c2.error.retry_after_seconds.value_or(0), 2u);
}

TEST(HttpFailureTest, RetryAfterDateCountsFromTheInjectedClock) {
  FakeClock at(std::chrono::system_clock::from_time_t(784111777 - 45));  // 45 s before the date
  Call call;
  EXPECT_FALSE(HttpFailure(at, call, "PUT", Answer(429, "", {{"retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"}})).ok());
  EXPECT_EQ(call.error.retry_after_seconds.value_or(0), 45u);
  at.Advance(std::chrono::seconds(40));
  Call later;
  EXPECT_FALSE(HttpFailure(at, later, "PUT", Answer(429, "", {{"retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"}})).ok());
  EXPECT_EQ(later.error.retry_after_seconds.value_or(0), 5u);
}

TEST(HttpFailureTest, KindNamesAreStable) {
  EXPECT_STREQ(ErrorKindName(ErrorKind::kNetwork), "network");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kTimeout), "timeout");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kRemote5xx), "remote_5xx");
  EXPECT_STREQ(ErrorKindName(ErrorKind::kDigestMismatch), "digest_mismatch");
  ClientError e;
  e.kind = ErrorKind::kAuth;
  EXPECT_FALSE(e.Transient());
  e.kind = ErrorKind::kTimeout;
  EXPECT_TRUE(e.Transient());
}

TEST(AnnouncedBlobSizeTest, FromContentRangeOrContentLength) {
  EXPECT_EQ(AnnouncedBlobSize(200, "", "12345", 0), 12345u);
  EXPECT_EQ(AnnouncedBlobSize(200, "", "12345", 100), 12345u) << "a 200 to a Range is the whole blob";
  EXPECT_EQ(AnnouncedBlobSize(206, "bytes 100-12344/12345", "12245", 100), 12345u);
  EXPECT_EQ(AnnouncedBlobSize(206, "bytes 100-199/*", "100", 100), std::nullopt) << "unknown total";
  EXPECT_EQ(AnnouncedBlobSize(206, "bytes 100-199/50", "100", 100), std::nullopt) << "total before the offset";
  EXPECT_EQ(AnnouncedBlobSize(206, "100-199/300", "100", 100), std::nullopt) << "not a bytes range";
  EXPECT_EQ(AnnouncedBlobSize(200, "", "", 0), std::nullopt) << "chunked: no length";
  EXPECT_EQ(AnnouncedBlobSize(200, "", "12x", 0), std::nullopt);
  EXPECT_EQ(AnnouncedBlobSize(404, "", "10", 0), std::nullopt);
}

}  // namespace
}  // namespace pier::client
