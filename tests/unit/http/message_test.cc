#include "adapter/http/message.h"

#include <gtest/gtest.h>

namespace pier::http {
namespace {

Request WithHeaders(std::vector<std::pair<std::string, std::string>> headers) {
  Request r;
  r.headers = std::move(headers);
  return r;
}

TEST(RequestTest, HeaderIsCaseInsensitiveAndFirstWins) {
  Request r = WithHeaders({{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}});
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("X-A"), "1");
  EXPECT_EQ(r.Header("missing"), "");
  EXPECT_TRUE(r.HasHeader("CONTENT-TYPE"));
  EXPECT_FALSE(r.HasHeader("content"));
}

TEST(RequestTest, HeaderListSplitsAndTrimsEveryLine) {
  Request r =
      WithHeaders({{"accept", "application/vnd.oci.image.manifest.v1+json"},
                   {"accept", " application/vnd.docker.distribution.manifest.v2+json ,application/json, "},
                   {"other", "x"},
                   {"accept", "text/plain; q=0.5,\t*/*"}});
  std::vector<std::string> expected = {"application/vnd.oci.image.manifest.v1+json",
                                       "application/vnd.docker.distribution.manifest.v2+json",
                                       "application/json", "text/plain; q=0.5", "*/*"};
  EXPECT_EQ(r.HeaderList("Accept"), expected);
  EXPECT_TRUE(r.HeaderList("missing").empty());
}

TEST(RequestTest, HeaderListKeepsCommasInsideQuotes) {
  Request r = WithHeaders({{"x-list", R"(a="1,2", b, c="x\"y,z")"}});
  std::vector<std::string> expected = {R"(a="1,2")", "b", R"(c="x\"y,z")"};
  EXPECT_EQ(r.HeaderList("x-list"), expected);
}

TEST(RequestTest, QueryDecodesPercentButNotPlus) {
  Request r;
  r.query = "n=10&last=foo%2Fbar&plus=a+b&empty=&flag&bad=%zz&dup=1&dup=2&sp%61ce=%20x";
  EXPECT_EQ(r.Query("n"), "10");
  EXPECT_EQ(r.Query("last"), "foo/bar");
  EXPECT_EQ(r.Query("plus"), "a+b");
  EXPECT_EQ(r.Query("empty"), "");
  EXPECT_EQ(r.Query("flag"), "");
  EXPECT_EQ(r.Query("bad"), std::nullopt);
  EXPECT_EQ(r.Query("dup"), "1");
  EXPECT_EQ(r.Query("space"), " x");
  EXPECT_EQ(r.Query("missing"), std::nullopt);
  EXPECT_EQ(r.Query("la"), std::nullopt);
}

TEST(RequestTest, QueryOnEmptyString) {
  Request r;
  EXPECT_EQ(r.Query("n"), std::nullopt);
  r.query = "&&";
  EXPECT_EQ(r.Query(""), std::nullopt);
}

TEST(PercentTest, Decode) {
  EXPECT_EQ(PercentDecode("abc"), "abc");
  EXPECT_EQ(PercentDecode("a%2Fb%2fc"), "a/b/c");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("%00"), std::string(1, '\0'));
  EXPECT_EQ(PercentDecode("%E2%82%AC"), "\xE2\x82\xAC");
  EXPECT_EQ(PercentDecode(""), "");
  EXPECT_EQ(PercentDecode("%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%4"), std::nullopt);
  EXPECT_EQ(PercentDecode("abc%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%g0"), std::nullopt);
  EXPECT_EQ(PercentDecode("%0g"), std::nullopt);
}

TEST(PercentTest, EncodeRoundTrips) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a/b c+d"), "a%2Fb%20c%2Bd");
  EXPECT_EQ(PercentEncode("\xff"), "%FF");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(PercentDecode(PercentEncode(all)), all);
}

TEST(ReplyTest, MakesImmediateExchange) {
  Response r;
  r.status = 404;
  r.Set("Content-Type", "application/json").Set("X-A", "1");
  Exchange e = Reply(std::move(r));
  ASSERT_TRUE(e.immediate.has_value());
  EXPECT_EQ(e.immediate->status, 404);
  EXPECT_EQ(e.immediate->headers.size(), 2u);
  EXPECT_FALSE(e.finish);
}

}  // namespace
}  // namespace pier::http
