#pragma once
// The per-operation context of the registry client: how the caller stops an
// operation, paces its upload bytes, watches its progress, and learns in
// machine-readable form why it failed.
//
// A Call belongs to one operation at a time on one thread. The stop token and
// the rate limiter may be shared (one stop source per task, one limiter per
// destination); the Call itself is not.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string>

#include "base/status.h"

namespace pier::client {

// Paces upload bytes. The replication engine shares one limiter (a token
// bucket) per destination across all of its workers.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Blocks until `bytes` may be sent, then returns true. Returns false, and
  // promptly, when `stop` is requested first; nothing is then sent.
  virtual bool Acquire(size_t bytes, const std::stop_token& stop) = 0;
};

// Why an operation failed; stable, so metrics can count failures by it.
enum class ErrorKind {
  kNone = 0,        // the operation succeeded
  kCancelled,       // the caller's stop token was requested
  kNetwork,         // name resolution, connect, reset, connection closed early
  kTls,             // certificate not trusted or for another host; TLS refused
  kTimeout,         // no byte moved for the no-progress timeout
  kAuth,            // 401/403 with our credentials, or the token realm refused them
  kNotFound,        // 404: manifest, blob, repository or upload session unknown
  kThrottled,       // 429 Too Many Requests (see retry_after_seconds)
  kRemote4xx,       // any other 4xx answer (including 416 range errors)
  kRemote5xx,       // a 5xx answer (503 may carry retry_after_seconds)
  kDigestMismatch,  // content does not hash to the digest it was asked or said to have
  kProtocol,        // an answer this client cannot use (no Location, bad JSON, too large)
  kLocal,           // the caller's side: bad argument, source read failed, sink refused
};

// Lower-case label for metrics and logs: "network", "timeout", "remote_5xx"...
const char* ErrorKindName(ErrorKind kind);

// The failure detail of the last operation run with a Call.
struct ClientError {
  ErrorKind kind = ErrorKind::kNone;
  int http_status = 0;        // 0 when no HTTP answer was received
  std::string registry_code;  // first "code" of the OCI error body, e.g. "BLOB_UPLOAD_INVALID"
  // From Retry-After (delta-seconds or HTTP-date) on 429/503 answers.
  std::optional<uint32_t> retry_after_seconds;

  // True when trying the same operation again later can succeed: network,
  // timeout, throttling, 5xx. (TLS, auth, 4xx, digest and local failures
  // need a change first; a cancelled call was meant to stop.)
  bool Transient() const;
};

// A byte range of an open file used as a request body: bytes
// [offset, offset + length) of `fd`, read with pread(2) as they are sent, so
// a blob is never held in memory. The client does not own `fd`.
struct FileSlice {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  // Bytes with no descriptor (a blob in S3): when set, called instead of
  // pread(2) with the file offset and a buffer to fill; returns the bytes
  // read (0 only past the end). Called on the sending thread, in order.
  std::function<Result<size_t>(uint64_t offset, std::span<char> out)> read_at = nullptr;
};

struct Call {
  // When requested, the operation stops promptly (the socket is closed) and
  // fails with ErrorKind::kCancelled.
  std::stop_token stop;
  // Called before each write of request body bytes (at most
  // ClientOptions::io_size bytes each); null: unpaced.
  RateLimiter* limiter = nullptr;
  // Called after body bytes moved (sent for uploads, received for
  // downloads) with the running total for this call. Bytes re-sent after an
  // automatic retry count again: it measures the wire, not the remote state.
  std::function<void(uint64_t bytes)> progress;
  // Called now and then (every 250 ms at most) while a request's file body
  // is on its way and until its answer, with how many more of its bytes the
  // peer's TCP stack has acknowledged since the first sample, 250 ms in (a
  // running total that only grows, at most the body's length). What was
  // acknowledged by then is left out: buffers on the way (a proxy's socket
  // buffer, megabytes) take it in at memory speed, so it says nothing of
  // the link; the growth after it does. So the total stays at or below
  // what crossed the slowest hop, short of it by what the first sample
  // found (those buffers, and 250 ms of the link). On a slow link one request lasts seconds: this is what lets a
  // caller show progress within it. `progress` counts our writes, which on
  // such a link run megabytes ahead of arrival. Null: not sampled.
  std::function<void(uint64_t bytes)> body_acked;
  // When > 0: no connection carries more than this many request bytes in
  // all. A pooled connection that would exceed it with this request is
  // closed and a new one opened. The replication engine sets it after a
  // link cut connections after roughly that many bytes: a registry that
  // discards an upload session whose PATCH was cut mid-body (registry:2)
  // then never sees a cut PATCH again.
  uint64_t connection_byte_budget = 0;
  // Set by every request: the request bytes the connection it used had
  // delivered in all, across keep-alive requests (acknowledged by the
  // peer's TCP stack: the kernel's count read when the request ended or
  // broke), when the request ended or broke.
  uint64_t connection_bytes = 0;
  // GetBlob: the whole blob's size as the answer announced it, set before
  // its first byte reaches the sink (so a reader can announce a length
  // while the bytes still arrive); nullopt when the answer did not say.
  std::optional<uint64_t> blob_size;
  // Reset when an operation starts; filled when it fails.
  ClientError error;
};

}  // namespace pier::client
