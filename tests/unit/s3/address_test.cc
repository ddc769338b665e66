// Where requests go and what they may name: key validation, path-style and
// virtual-hosted URLs, the client's configuration checks and presigned URLs
// (against AWS's documented example). No network.
#include <gtest/gtest.h>

#include "cache/s3/address.h"
#include "cache/s3/client.h"

namespace pier::s3 {
namespace {

TEST(S3Keys, Validation) {
  for (const char* ok : {"a", "docker/registry/v2/blobs/sha256/ab/abcd/data", "sp ace+plus=eq&amp?q#h",
                         "\xC3\xA9t\xC3\xA9", "a.b/..c/d..", "x/.y"}) {
    EXPECT_TRUE(ValidateKey(ok).ok()) << ok;
  }
  for (std::string bad : {std::string(""), std::string("a\nb"), std::string("a\x01"), std::string("a\x7f"),
                          std::string("a\0b", 3), std::string("\xC3"), std::string("\xC0\xAF"),
                          std::string("\xED\xA0\x80"), std::string(1025, 'k'), std::string("/a"),
                          std::string("a/"), std::string("a//b"), std::string("."), std::string(".."),
                          std::string("a/../b"), std::string("a/./b"), std::string("../etc")}) {
    EXPECT_FALSE(ValidateKey(bad).ok()) << bad;
  }
  EXPECT_TRUE(ValidateKey(std::string(1024, 'k')).ok());
  EXPECT_TRUE(ValidatePrefix("").ok());
  EXPECT_TRUE(ValidatePrefix("dir/").ok());
  EXPECT_FALSE(ValidatePrefix("dir//").ok());
  EXPECT_FALSE(ValidatePrefix("../").ok());
}

TEST(S3Keys, Buckets) {
  for (const std::string& ok : std::vector<std::string>{"abc", "my-bucket.1", std::string(63, 'b')}) {
    EXPECT_TRUE(ValidateBucket(ok).ok()) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{"ab", "Abc", "-abc", "abc-", "a_b", "a..b", "a/b", std::string(64, 'b')}) {
    EXPECT_FALSE(ValidateBucket(bad).ok()) << bad;
  }
}

TEST(S3Address, PathStyle) {
  auto a = Addressing::Create("http://127.0.0.1:7480", "bkt", true);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Target t = a->For("dir/a b+c:d", {{"partNumber", "3"}, {"uploadId", "x/y=z"}});
  EXPECT_EQ(t.url.host, "127.0.0.1");
  EXPECT_EQ(t.url.HostHeader(), "127.0.0.1:7480");
  EXPECT_EQ(t.url.target, "/bkt/dir/a%20b%2Bc%3Ad?partNumber=3&uploadId=x%2Fy%3Dz");
  EXPECT_EQ(t.sign_path, "/bkt/dir/a b+c:d");
  Target bucket = a->For("", {{"delete", ""}});
  EXPECT_EQ(bucket.url.target, "/bkt?delete");
  EXPECT_EQ(bucket.sign_path, "/bkt");
  EXPECT_EQ(a->CopySource("s/r c"), "/bkt/s/r%20c");
}

TEST(S3Address, VirtualHosted) {
  auto a = Addressing::Create("https://oss-cn-hangzhou.aliyuncs.com", "bkt", false);
  ASSERT_TRUE(a.ok());
  Target t = a->For("k/1", {});
  EXPECT_EQ(t.url.HostHeader(), "bkt.oss-cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(t.url.str(), "https://bkt.oss-cn-hangzhou.aliyuncs.com/k/1");
  EXPECT_EQ(t.sign_path, "/k/1");
  EXPECT_EQ(a->For("", {{"list-type", "2"}}).url.target, "/?list-type=2");
  auto port = Addressing::Create("http://minio.lan:9000", "bkt", false);
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(port->For("k", {}).url.HostHeader(), "bkt.minio.lan:9000");
  EXPECT_FALSE(Addressing::Create("http://127.0.0.1:9000", "bkt", false).ok());  // no DNS name to prefix
  EXPECT_FALSE(Addressing::Create("http://[::1]:9000", "bkt", false).ok());
}

TEST(S3Address, BadEndpoints) {
  for (const char* e : {"", "127.0.0.1:7480", "ftp://h", "http://h/path", "http://h/?q", "http://u:p@h"}) {
    EXPECT_FALSE(Addressing::Create(e, "bkt", true).ok()) << e;
  }
}

Config Good() {
  Config c;
  c.endpoint = "http://127.0.0.1:7480";
  c.bucket = "bkt";
  c.access_key = "AK";
  c.secret_key = "SK";
  return c;
}

TEST(S3Client, CreateNamesTheBadField) {
  ASSERT_TRUE(Client::Create(Good()).ok());
  auto check = [](Config c, const char* field) {
    auto r = Client::Create(c);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("SK"), std::string::npos);
  };
  Config c = Good();
  c.endpoint = "nope";
  check(c, "endpoint");
  c = Good();
  c.bucket = "B";
  check(c, "bucket");
  c = Good();
  c.region = "US East";
  check(c, "region");
  c = Good();
  c.access_key = "";
  check(c, "access_key");
  c = Good();
  c.secret_key = "";
  check(c, "secret_key");
  c = Good();
  c.no_progress_timeout_ms = 0;
  check(c, "no_progress_timeout_ms");
  c = Good();
  c.ca_pem = "-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n";
  check(c, "ca_pem");
}

TEST(S3Client, InvalidKeysAreRefusedBeforeSending) {
  // Nothing listens on port 1: a request that went out would be Unavailable.
  Config c = Good();
  c.endpoint = "http://127.0.0.1:1";
  auto client = Client::Create(c);
  ASSERT_TRUE(client.ok());
  client::Call call;
  EXPECT_EQ((*client)->Put("a/../b", "x", call).code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->Head("", call).status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->Delete("a\r\nHost: evil", call).code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->DeleteMany({"ok", "/bad"}, call).code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->List("", "", 0, call).status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->UploadPart("k", "id", 0, "x", call).status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->UploadPart("k", "id", 10001, "x", call).status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->CompleteMultipart("k", "id", {{2, "a"}, {1, "b"}}, call).code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->CompleteMultipart("k", "id", {}, call).code(), Code::kInvalidArgument);
  EXPECT_EQ((*client)->PresignGet("a//b", 60, 0), "");
  EXPECT_EQ((*client)->PresignGet("k", 0, 0), "");
  EXPECT_EQ((*client)->PresignGet("k", 604801, 0), "");
  // A valid request does go out, and a refused connection is Unavailable.
  Status s = (*client)->Put("k", "x", call);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_EQ(call.error.kind, client::ErrorKind::kNetwork);
  EXPECT_NE(s.message().find("PutObject 'k'"), std::string::npos) << s.message();
}

// AWS S3 API reference, "Authenticating Requests: Using Query Parameters
// (AWS Signature Version 4)", the GET example.
TEST(S3Presign, AwsDocumentedExample) {
  Config c;
  c.endpoint = "https://s3.amazonaws.com";
  c.bucket = "examplebucket";
  c.path_style = false;
  c.access_key = "AKIAIOSFODNN7EXAMPLE";
  c.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  auto client = Client::Create(c);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const std::string expected =
      "https://examplebucket.s3.amazonaws.com/test.txt"
      "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
      "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  EXPECT_EQ((*client)->PresignGetAt("test.txt", 86400, "20130524T000000Z"), expected);
  EXPECT_EQ((*client)->PresignGet("test.txt", 86400, 1369353600), expected);
  EXPECT_EQ(expected.find(c.secret_key), std::string::npos);
  EXPECT_NE((*client)->PresignGet("test.txt", 86400, 1369353601), expected);
}

}  // namespace
}  // namespace pier::s3
