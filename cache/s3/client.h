#pragma once
// A blocking S3 client for one bucket of an S3-compatible store (AWS S3,
// Aliyun OSS, MinIO, Ceph RGW): objects, listing, multipart uploads,
// server-side copies and presigned GET URLs, over Pier's HTTP transport
// (adapter/client/transport.h: keep-alive pool, TLS with an extra CA, no-
// progress timeout, cancellation through the Call) and signed with AWS
// SigV4 (sigv4.h).
//
// Promises:
//  - string bodies are signed with their SHA-256 (x-amz-content-sha256);
//    file bodies stream from the file with UNSIGNED-PAYLOAD and are never
//    held in memory; Get streams into the caller's sink;
//  - every buffered answer body is bounded (64 KiB, 8 MiB for list pages,
//    1 MiB for DeleteObjects, the caller's limit for GetSmall);
//  - keys are validated (address.h) before anything is sent;
//  - no retries here beyond the transport's one retry of a stale keep-alive
//    connection: callers decide (call.error.Transient() tells them);
//  - the secret key never appears in a Status message or a log line.
//
// Status mapping (call.error is filled too: kind, http_status, and the S3
// error Code in registry_code):
//  - 404 (NoSuchKey, NoSuchBucket, NoSuchUpload)          -> kNotFound
//  - 401/403, SignatureDoesNotMatch, InvalidAccessKeyId,
//    AccessDenied, RequestTimeTooSkewed                    -> kFailedPrecondition
//  - 5xx, 429, SlowDown, network, timeout, cancellation    -> kUnavailable
//  - 416 InvalidRange                                      -> kOutOfRange
//  - 409 BucketAlreadyExists (someone else's)              -> kAlreadyExists
//  - other 400s                                            -> kInvalidArgument
//  - other 4xx, TLS refused                                -> kFailedPrecondition
//  - malformed or unexpected answers                       -> kInternal
// Messages name the operation, the key (or bucket) and S3's error Code.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/client/call.h"
#include "adapter/client/transport.h"
#include "base/status.h"
#include "cache/s3/address.h"
#include "cache/s3/types.h"

namespace pier::s3 {

struct Config {
  std::string endpoint;  // "http://127.0.0.1:7480" or "https://oss-cn-hangzhou.aliyuncs.com"
  std::string region = "us-east-1";
  std::string bucket;
  bool path_style = true;  // false: virtual-hosted, https://BUCKET.endpoint-host/key (Aliyun OSS requires it)
  std::string access_key;
  std::string secret_key;  // never logged, never in an error message
  std::string ca_pem;      // extra trusted CA (PEM), empty: system store
  int no_progress_timeout_ms = 60'000;
};

inline constexpr uint64_t kMaxCopyBytes = 5ULL << 30;  // CopyObject's limit
inline constexpr int kMaxParts = 10'000;
inline constexpr int kMaxPresignSeconds = 7 * 24 * 3600;

class Client {
 public:
  // InvalidArgument naming the field (endpoint, region, bucket, access_key,
  // secret_key, ca_pem, no_progress_timeout_ms).
  static Result<std::unique_ptr<Client>> Create(const Config& config);

  // OK when the bucket already exists and is ours.
  Status CreateBucket(client::Call& call);

  Status Put(std::string_view key, std::string_view body, client::Call& call);
  // Streams the slice (UNSIGNED-PAYLOAD).
  Status PutFile(std::string_view key, client::FileSlice body, client::Call& call);
  // NotFound when absent.
  Result<ObjectInfo> Head(std::string_view key, client::Call& call);
  // Streams bytes [offset, offset+length) (length nullopt: to the end) into
  // `sink`, with a Range header unless the whole object is asked for.
  // Returns the object's info with size = the WHOLE object's size (from
  // Content-Range or Content-Length), also set in call.blob_size before the
  // first byte reaches the sink. A range past the end is OutOfRange; an
  // answer that ignores the Range or ends early is Internal. length 0 asks
  // for no bytes: the info comes from a HEAD.
  Result<ObjectInfo> Get(std::string_view key, uint64_t offset, std::optional<uint64_t> length,
                         const client::BodySink& sink, client::Call& call);
  // The whole object when it is at most `limit` bytes; OutOfRange otherwise.
  Result<std::string> GetSmall(std::string_view key, size_t limit, client::Call& call);
  // OK when already absent.
  Status Delete(std::string_view key, client::Call& call);
  // DeleteObjects in batches of 1000 with Content-MD5. Keys already absent
  // are fine; the first key S3 refused fails the call (naming it).
  Status DeleteMany(const std::vector<std::string>& keys, client::Call& call);
  // ListObjectsV2: up to `max_keys` (1..1000) keys starting with `prefix`,
  // after the page `token` (empty: first page) ended.
  Result<ListPage> List(std::string_view prefix, std::string_view token, int max_keys, client::Call& call);

  // Returns the upload id.
  Result<std::string> CreateMultipart(std::string_view key, client::Call& call);
  // Parts are numbered 1..10000; all but the last must be >= 5 MiB (S3's
  // rule, checked by the store). Return the part's ETag (quotes removed).
  Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int number,
                                 std::string_view body, client::Call& call);
  Result<std::string> UploadPartFile(std::string_view key, std::string_view upload_id, int number,
                                     client::FileSlice body, client::Call& call);
  // Part `number` is bytes [offset, offset+length) of `source_key` (length > 0).
  Result<std::string> UploadPartCopy(std::string_view key, std::string_view upload_id, int number,
                                     std::string_view source_key, uint64_t offset, uint64_t length,
                                     client::Call& call);
  // Parts in ascending order of number. An <Error> in a 200 answer fails.
  Status CompleteMultipart(std::string_view key, std::string_view upload_id, const std::vector<Part>& parts,
                           client::Call& call);
  // OK when the upload is already gone (NoSuchUpload).
  Status AbortMultipart(std::string_view key, std::string_view upload_id, client::Call& call);
  // Server-side copy within the bucket (objects up to 5 GiB; larger ones
  // need UploadPartCopy).
  Status Copy(std::string_view source_key, std::string_view dest_key, client::Call& call);

  // A presigned GET URL (query-string SigV4, X-Amz-Expires) valid for
  // `expires_seconds` (1..604800) from `now_unix`. Empty when the key or the
  // expiry is invalid.
  std::string PresignGet(std::string_view key, int expires_seconds, int64_t now_unix) const;
  // The same at an x-amz-date ("20130524T000000Z"), for AWS's examples.
  std::string PresignGetAt(std::string_view key, int expires_seconds, std::string_view amz_date) const;

  const Config& config() const { return config_; }

 private:
  struct Op;
  Client(Config config, Addressing addressing, std::unique_ptr<client::Transport> transport);
  // Signs and sends `op`; a non-2xx answer becomes the mapped Status.
  Result<client::HttpResponse> Send(const Op& op, client::Call& call, const client::BodySink* sink = nullptr);
  Status FromAnswer(const Op& op, int http_status, std::string_view body, client::Call& call) const;
  Status Describe(const Op& op, Code code, std::string_view what) const;
  std::string Clean(std::string_view server_text) const;
  Result<std::string> PartEtag(const Op& op, const client::HttpResponse& r) const;

  Config config_;
  Addressing addressing_;
  std::unique_ptr<client::Transport> transport_;
};

}  // namespace pier::s3
