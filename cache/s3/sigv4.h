#pragma once
// AWS Signature Version 4 for S3-compatible stores (issue 14: blobs on AWS
// S3, Aliyun OSS, MinIO, Ceph RGW). The first piece of the S3 blob storage:
// pure functions, no network — the canonical request, the string to sign,
// the signing key and the Authorization header, as AWS documents them
// ("Authenticating Requests: Using the Authorization Header", S3 API).
//
// Promises:
//  - headers are signed by their lowercased names, sorted, values trimmed
//    and inner runs of spaces folded; `host` and `x-amz-date` must be among
//    them, and `x-amz-content-sha256` is added (S3 requires it);
//  - the path is URI-encoded per segment as S3 expects (slashes kept, no
//    double encoding); query parameters are encoded and sorted by name then
//    value;
//  - the payload hash is the caller's: the hex SHA-256 of the body, or
//    "UNSIGNED-PAYLOAD" for a streamed body whose hash is not known upfront;
//  - the secret never leaves this file except as the signature's input: it
//    is not part of any returned string.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pier::s3 {

struct Credentials {
  std::string access_key;
  std::string secret_key;
};

struct SignRequest {
  std::string method;  // GET, PUT, ...
  std::string path;    // "/bucket/key" (path-style) or "/key" (virtual host), not yet encoded
  std::vector<std::pair<std::string, std::string>> query;    // decoded name, value
  std::vector<std::pair<std::string, std::string>> headers;  // must hold host and x-amz-date
  std::string payload_sha256;                                 // hex, or "UNSIGNED-PAYLOAD"
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// RFC 3986 unreserved characters kept, everything else %XX (uppercase);
// '/' kept when `keep_slash` (paths).
std::string UriEncode(std::string_view s, bool keep_slash);

std::string CanonicalRequest(const SignRequest& r);
// "AWS4-HMAC-SHA256\n<amz date>\n<date>/<region>/s3/aws4_request\n<hex sha256 of canonical>"
std::string StringToSign(std::string_view amz_date, std::string_view region, std::string_view canonical);
// Hex HMAC-SHA256 of the string to sign with the key derived from the
// secret, the date (YYYYMMDD), the region and "s3".
std::string Signature(const Credentials& c, std::string_view date, std::string_view region,
                      std::string_view string_to_sign);
// The Authorization header value for `r`, whose x-amz-date header gives the
// time ("20130524T000000Z"). Adds x-amz-content-sha256 to `r`'s headers
// when missing (the caller sends the headers it gets back).
std::string Authorize(const Credentials& c, std::string_view region, SignRequest& r);

}  // namespace pier::s3
