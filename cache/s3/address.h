#pragma once
// Where an S3 request goes: validating object keys and bucket names, and
// building the URL and the path SigV4 signs, path-style
// (http://host:port/BUCKET/KEY: RGW, MinIO) or virtual-hosted
// (https://BUCKET.host/KEY: AWS, and Aliyun OSS, which refuses path style).
//
// Promises: a key that passes ValidateKey cannot step out of the bucket or
// change the request's shape: it is non-empty, at most 1024 bytes, valid
// UTF-8, has no control characters and no empty, "." or ".." segment (which
// HTTP servers and proxies may fold); it is percent-encoded per segment with
// SigV4's UriEncode, the same encoding the signature covers.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapter/client/url.h"
#include "base/status.h"

namespace pier::s3 {

inline constexpr size_t kMaxKeyBytes = 1024;

Status ValidateKey(std::string_view key);
// A list prefix: like a key but may be empty and may end with '/'.
Status ValidatePrefix(std::string_view prefix);
// S3's DNS-compatible bucket names: 3 to 63 of [a-z0-9.-], starting and
// ending with a letter or digit.
Status ValidateBucket(std::string_view bucket);

using Query = std::vector<std::pair<std::string, std::string>>;  // decoded name, value

struct Target {
  client::Url url;        // where to send the request (path and query encoded)
  std::string sign_path;  // the decoded path SigV4 signs: "/BUCKET/KEY" or "/KEY"
};

class Addressing {
 public:
  // InvalidArgument when the endpoint is not an http(s) URL without path,
  // query or user-info, the bucket name is invalid, or virtual-hosted
  // addressing is asked for an IP-literal endpoint.
  static Result<Addressing> Create(std::string_view endpoint, std::string_view bucket, bool path_style);

  // The target of a request on `key` (empty: the bucket itself) with
  // `query`. The key must have passed ValidateKey.
  Target For(std::string_view key, const Query& query) const;
  // "/BUCKET/" + encoded key, as x-amz-copy-source names a source object.
  std::string CopySource(std::string_view key) const;
  const std::string& bucket() const { return bucket_; }

 private:
  client::Url base_;  // scheme, host (with the bucket when virtual-hosted), port
  std::string bucket_;
  bool path_style_ = true;
};

}  // namespace pier::s3
