#pragma once
// SendBlob: makes one blob present in one repository of a destination,
// sending only what is missing, in this order:
//   1. the known-blob index says the repository has it: done (skipped);
//   2. HEAD at the destination: present → recorded, done (skipped);
//   3. an upload of this digest into this repository was under way (before
//      a cut or a restart): ask the destination for its Range, continue;
//   4. the destination holds it in another repository (known index):
//      cross-repository mount (mounted);
//   5. upload: small blobs in one request, larger ones in chunks; after
//      every acknowledged chunk the offset and Location are persisted.
// Failures are retried with backoff (retry.h) while attempts make progress.
//
// Links that cut long connections: when a PATCH breaks mid-body, the
// bytes its connection had carried are remembered per destination
// (LinkState) and from then on no connection carries more than half of
// that, counted across keep-alive requests (chunks shrink to fit, a new
// connection when the next request would cross it). That
// matters because registry:2 (and registries built on it) discard an
// upload session whose PATCH was cut mid-body — only the Range of an
// intact session can be resumed; a lost session restarts at byte 0.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "adapter/client/registry_client.h"
#include "base/digest.h"
#include "base/status.h"
#include "cache/store.h"
#include "replication/observer.h"
#include "replication/progress_store.h"
#include "replication/retry.h"

namespace pier::replication {

// What one destination's link has taught the engine (shared by its workers).
struct LinkState {
  // 0: unknown. Else: connections were cut after about this many bytes.
  std::atomic<uint64_t> cut_after_bytes{0};
};

struct SendEnv {
  Store* store = nullptr;  // the source (push mode: this instance)
  client::RegistryClient* client = nullptr;
  ProgressStore* progress = nullptr;
  ReplicationObserver* observer = nullptr;
  LinkState* link = nullptr;
  client::RateLimiter* limiter = nullptr;
  std::stop_token stop;
  int64_t dest_id = 0;
  std::string dest_name;
  std::string policy_name;
  uint64_t chunk_size = 8 << 20;
  RetryOptions retry;
  // Called with blob bytes newly acknowledged by the destination (a chunk or
  // blob answered, an upload's Range moved on, or, within a request, its TCP
  // stack acknowledged them since the request's first sample:
  // client::Call::body_acked, sampled every 250 ms, which leaves out what
  // buffers on the way took in at once, so it trails the link rather than
  // running ahead of it):
  // bytes re-sent after a lost session are not reported again.
  // observer->OnBytesSent gets the same.
  std::function<void(uint64_t)> on_bytes;
  // An upload resumed from an earlier run: the destination already held
  // this many bytes before this send wrote any (not "sent" by this run).
  std::function<void(uint64_t)> on_present;
  // Task log.
  std::function<void(const std::string&)> log;
};

struct BlobJob {
  std::string src_repo;
  std::string dst_repo;
  Digest digest;
  uint64_t size = 0;
  // The source is a derived blob of the store (a zstd transcode of a gzip
  // layer, cache/transcode): read with OpenStoredBlob, not src_repo's link.
  bool derived = false;
  // Set by CheckBlobs: the destination answered HEAD "missing" (not asked
  // again), and maybe an upload session was opened for it meanwhile.
  bool checked_missing = false;
  std::optional<client::UploadState> session{};
};

// What CheckBlobs found out about one blob.
enum class BlobCheck { kUnknown, kPresent, kMissing };

// The cheap part of SendBlob for all blobs of one image at once, before the
// image waits for the link: the known-blob index, then HEADs, all
// concurrently. With `open_sessions` (the link is free: the image goes
// next) each missing blob's upload session is opened together with its
// HEAD (the POST does not wait for the HEAD's answer; a session opened for
// a blob that turns out present is cancelled), so the first body byte goes
// out one round trip after the check starts instead of two. Found present:
// recorded in the known index. Missing: `checked_missing` (and `session`)
// set on the job. Failures leave kUnknown (SendBlob retries and tells).
// `checked` (may be null) is called, on a checking thread, as soon as one
// blob's own requests are answered and it is not found present (missing or
// unknown), with its index: jobs[i] is final then, and the caller may start
// sending it while the other checks are still out. The largest blobs' requests
// go out first (their bodies decide when the image is complete).
std::vector<BlobCheck> CheckBlobs(const SendEnv& env, std::vector<BlobJob>& jobs, bool open_sessions,
                                  const std::function<void(size_t)>& checked = nullptr);

// Below this size a blob's upload costs about a round trip, not bandwidth.
inline constexpr uint64_t kSmallBlobBytes = 1 << 20;

// The blob's outcome (never kFailed: a failure is a non-OK Status naming
// the operation and the destination's answer). A stop request ends it
// promptly with a non-OK Status; the caller tells it apart by env.stop.
Result<BlobOutcome> SendBlob(const SendEnv& env, const BlobJob& job);

// A blob still being made (a zstd copy while it is transcoded,
// transcode_push.h): its bytes [0, readable) are final and more may follow;
// its digest and size are known once it ended.
class GrowingBlob {
 public:
  virtual ~GrowingBlob() = default;
  struct Seen {
    uint64_t readable = 0;
    bool ended = false;  // then readable is the blob's size (when Final() is OK)
  };
  // Waits until more than `offset` bytes are readable or the blob ended;
  // non-OK on a stop request.
  virtual Result<Seen> Wait(uint64_t offset, std::stop_token stop) = 0;
  // Reads the bytes [0, readable) with pread (valid once some are).
  virtual int fd() = 0;
  // Once ended: the blob's digest and size, or why it could not be made.
  virtual Result<std::pair<Digest, uint64_t>> Final() = 0;
};

struct GrowingJob {
  std::string dst_repo;
  // Where the upload's session and acknowledged offset are kept
  // (ProgressStore, in place of a digest): the blob is made the same way
  // again after a cut or a restart, so the offset stays valid for it.
  std::string progress_key;
  // For the log: what is sent ("the zstd copy of sha256:...").
  std::string name;
  // Called once the blob ended, before its final PUT: a non-OK Status
  // cancels the destination's upload session (DELETE), forgets the
  // progress and is what StreamBlob returns.
  std::function<Status(const Digest& digest, uint64_t size)> accept;
};

// SendBlob for a GrowingBlob: POST (or the session kept under
// job.progress_key, at the offset the destination reports), PATCHes of the
// bytes readable so far (at least 256 KiB each until the blob ends, at most
// env.chunk_size and the link's learnt connection budget, through the rate
// limiter; each acknowledged offset persisted, env.on_bytes told as for
// SendBlob), then the final PUT ?digest= once it ended. A cut resumes from
// the destination's Range; a lost session starts again at byte 0. When the
// blob could not be made (Final() fails) the session is cancelled and that
// failure returned, not retried. Success: the blob is recorded as known at
// the destination under its digest, the progress key forgotten.
Result<BlobOutcome> StreamBlob(const SendEnv& env, const GrowingJob& job, GrowingBlob& blob);

}  // namespace pier::replication
