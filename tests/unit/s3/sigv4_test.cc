// AWS Signature Version 4 against AWS's own worked examples (S3 API
// reference, "Signature Calculations for the Authorization Header"): the
// example credentials, bucket and date, and the signatures AWS prints.
#include "cache/s3/sigv4.h"

#include <gtest/gtest.h>

namespace pier::s3 {
namespace {

const Credentials kAws{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(SigV4, GetObjectWithRange) {
  SignRequest r{"GET", "/test.txt", {},
                {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}, {"x-amz-date", "20130524T000000Z"}},
                kEmpty};
  const std::string auth = Authorize(kAws, "us-east-1", r);
  EXPECT_EQ(CanonicalRequest(r),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(auth.find(kAws.secret_key), std::string::npos);
}

TEST(SigV4, ListObjectsWithASortedQuery) {
  SignRequest r{"GET", "/", {{"prefix", "J"}, {"max-keys", "2"}},
                {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-date", "20130524T000000Z"}}, kEmpty};
  const std::string auth = Authorize(kAws, "us-east-1", r);
  EXPECT_NE(CanonicalRequest(r).find("\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(auth.substr(auth.find("Signature=") + 10),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, AnyChangeChangesTheSignature) {
  auto sign = [](std::string path, std::string range, std::string secret) {
    SignRequest r{"GET", path, {}, {{"host", "b.example"}, {"range", range}, {"x-amz-date", "20130524T000000Z"}},
                  std::string(kUnsignedPayload)};
    return Authorize({"AK", secret}, "us-east-1", r);
  };
  const std::string base = sign("/k", "bytes=0-9", "s");
  EXPECT_NE(base, sign("/k2", "bytes=0-9", "s"));
  EXPECT_NE(base, sign("/k", "bytes=0-10", "s"));
  EXPECT_NE(base, sign("/k", "bytes=0-9", "t"));
  EXPECT_EQ(base, sign("/k", "  bytes=0-9 ", "s"));  // values are trimmed
}

TEST(SigV4, PathsAreEncodedPerSegment) {
  EXPECT_EQ(UriEncode("/docker/registry/v2/blobs/sha256:ab cd", true), "/docker/registry/v2/blobs/sha256%3Aab%20cd");
  EXPECT_EQ(UriEncode("a/b~c", false), "a%2Fb~c");
}

}  // namespace
}  // namespace pier::s3
