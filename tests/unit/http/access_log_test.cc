#include "adapter/http/access_log.h"

#include <gtest/gtest.h>

#include <string>

namespace pier::http {
namespace {

TEST(RedactQueryTest, KeepsOrdinaryParametersByteForByte) {
  EXPECT_EQ(RedactQuery("ns=docker.io"), "ns=docker.io");
  EXPECT_EQ(RedactQuery("n=100&last=library%2Fbusybox"), "n=100&last=library%2Fbusybox");
  EXPECT_EQ(RedactQuery("digest=sha256:abc&mount=sha256:def&from=a/b"),
            "digest=sha256:abc&mount=sha256:def&from=a/b");
  EXPECT_EQ(RedactQuery("flag&&x="), "flag&&x=");
  EXPECT_EQ(RedactQuery(""), "");
}

TEST(RedactQueryTest, SecretValuesAreRedacted) {
  EXPECT_EQ(RedactQuery("_state=eyJhbGciOi.xyz&digest=sha256:1"), "_state=REDACTED&digest=sha256:1");
  EXPECT_EQ(RedactQuery("token=abc"), "token=REDACTED");
  EXPECT_EQ(RedactQuery("access_token=abc&refresh_token=def"),
            "access_token=REDACTED&refresh_token=REDACTED");
  EXPECT_EQ(RedactQuery("grant_type=password&username=ci&password=hunter2"),
            "grant_type=password&username=ci&password=REDACTED");
  EXPECT_EQ(RedactQuery("client_id=pier&client_secret=s3cr3t"), "client_id=pier&client_secret=REDACTED");
  EXPECT_EQ(
      RedactQuery("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261202&X-Amz-Date=20261202T"
                  "000000Z&X-Amz-Security-Token=tok&X-Amz-Signature=deadbeef"),
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20261202T000000Z&"
      "X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED");
  EXPECT_EQ(RedactQuery("Expires=1&Signature=abc&OSSAccessKeyId=id"),
            "Expires=1&Signature=REDACTED&OSSAccessKeyId=id");
  EXPECT_EQ(RedactQuery("se=2026&sig=abc%3D"), "se=2026&sig=REDACTED");
}

TEST(RedactQueryTest, NamesCompareIgnoringCaseAndPercentEncoding) {
  EXPECT_EQ(RedactQuery("TOKEN=a&Password=b"), "TOKEN=REDACTED&Password=REDACTED");
  EXPECT_EQ(RedactQuery("%74oken=a"), "%74oken=REDACTED");  // %74 = 't'
  EXPECT_EQ(RedactQuery("access%5Ftoken=a"), "access%5Ftoken=REDACTED");
  EXPECT_EQ(RedactQuery("_state=a=b=c"), "_state=REDACTED");  // the whole value, '=' included
  EXPECT_EQ(RedactQuery("bad%zz=1&token=x"), "bad%zz=1&token=REDACTED");
}

TEST(AccessLogTest, LineCarriesTheRedactedQuery) {
  Request req;
  req.method = "GET";
  req.path = "/v2/library/busybox/manifests/latest";
  req.query = "ns=docker.io&token=abc";
  req.remote = "10.0.0.1";
  AccessLog line(req, true);
  Response r;
  r.status = 200;
  testing::internal::CaptureStderr();
  line(r, "ci");
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("query=\"ns=docker.io&token=REDACTED\""), std::string::npos) << out;
  EXPECT_EQ(out.find("abc"), std::string::npos) << out;
  EXPECT_NE(out.find("user=ci"), std::string::npos) << out;

  req.query.clear();
  AccessLog plain(req, true);
  testing::internal::CaptureStderr();
  plain(r);
  out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find("query="), std::string::npos) << out;
  EXPECT_NE(out.find("status=200"), std::string::npos) << out;
}

}  // namespace
}  // namespace pier::http
