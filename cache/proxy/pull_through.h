#pragma once
// PullThrough: Pier as a pull-through cache of other registries.
//
// Promises:
//  - EnsureManifest/EnsureBlob make the answer to a client's GET/HEAD
//    available in the target's local repository (upstream.h), after which the
//    ordinary registry handlers serve it; the cache is the store itself
//    (deduplicated with hosted content, crash-safe, fsck-clean).
//  - One upstream download per blob digest at a time, however many clients,
//    repositories or upstreams ask for it; every client asking is served
//    from the growing file as the bytes arrive (StreamBlob). A blob is
//    verified against its digest before it is committed: a wrong blob is
//    never stored. A dropped upstream connection resumes with Range from the
//    last durable offset; a client that gives up does not cancel the fill.
//  - A blob already stored (pushed, or cached for another name) is linked,
//    not downloaded again, once the upstream confirms (HEAD) that the
//    requested repository has it: the cache never lends one repository's
//    blobs to a name the upstream would refuse.
//  - Manifests by digest: local first, fetched once if absent, stored
//    byte-identical. By tag: revalidated with a HEAD upstream (not counted
//    against Docker Hub's pull limit) once the cached answer is older than
//    the upstream's tag_ttl; a moved tag is fetched and moved locally.
//  - Upstream unreachable (network, timeout, 5xx, 429, auth refused): cached
//    content is served at once and the upstream is considered offline for
//    offline_period, so later requests do not each wait for a timeout. An
//    upstream 404 is remembered for tag_ttl (bounded) so a typo storm does
//    not hammer the upstream.
// Thread-safe. Every method blocks (network and disk): call it from the
// blocking pool. Blob downloads run on threads of their own (at most
// max_fills), so a client that goes away does not stop one and waiting
// clients hold no thread; the destructor stops them and waits.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapter/client/registry_client.h"
#include "base/clock.h"
#include "base/digest.h"
#include "base/file.h"
#include "base/growing_file.h"
#include "base/status.h"
#include "cache/disk_space.h"
#include "cache/proxy/upstream.h"
#include "cache/store.h"

namespace pier::proxy {

class BlobFill;  // blob_fill.h

// What happened, for metrics and logs.
enum class Outcome { kHit, kMiss, kCoalesced, kStale, kError };
const char* OutcomeName(Outcome o);

class PullThroughObserver {
 public:
  virtual ~PullThroughObserver() = default;
  // kind: "manifest" or "blob".
  virtual void OnRequest(std::string_view upstream, std::string_view kind, Outcome outcome) = 0;
  virtual void OnFetchedBytes(std::string_view upstream, uint64_t bytes) = 0;
  virtual void SetUpstreamUp(std::string_view upstream, bool up) = 0;
  // Seconds from sending a request upstream to its answer's header (a
  // manifest HEAD/GET, a blob GET's first byte).
  virtual void OnUpstreamLatency(std::string_view /*upstream*/, double /*seconds*/) {}
  // Blob downloads from this upstream running right now.
  virtual void SetFetchesInFlight(std::string_view /*upstream*/, size_t /*fetches*/) {}
};

struct PullThroughOptions {
  // A fill's upload session is made durable every this many bytes: what a
  // dropped upstream connection can cost.
  uint64_t flush_every_bytes = 8 << 20;
  // Attempts per fill that move less than 1 MiB each (an attempt that moves
  // nothing ends the fill at once; one that moves more is not counted).
  int max_attempts = 5;
  int no_progress_timeout_seconds = 30;
  // Blob downloads at once; a client asking for one more waits for a slot.
  size_t max_fills = 32;
  // The data folder's free space (storage.reserve_bytes). Below the reserve
  // a blob that is not cached is not downloaded into the cache (that would
  // eat the room RocksDB and pushes need): it is passed through to the one
  // client asking, through memory (at most pass_window_bytes ahead of what
  // the client took), verified as it streams, never stored. A second client
  // asking for the same blob meanwhile gets 503 UNAVAILABLE "no space left
  // on device ..." (containerd and docker go on to the next mirror or the
  // upstream). Cached blobs and manifests (small, RocksDB) are served and
  // fetched as usual. Null: no check.
  std::shared_ptr<DiskSpace> disk_space;
  uint64_t pass_window_bytes = 8 << 20;
  // A passed-through download whose client takes nothing for this long is
  // dropped (the client went away).
  std::chrono::milliseconds pass_idle_timeout{60000};
  // Replicas sharing their records (proxy.cluster_fill_wait_seconds): a
  // blob another replica is downloading is waited for up to this long
  // (its clients get their headers once it is stored here too), so the
  // upstream sends it once for the cluster; past it, or when the other
  // replica's fill ends without the blob, this replica downloads it itself.
  // 0: never wait (once per replica).
  std::chrono::milliseconds cluster_fill_wait{60000};
};

class PullThrough {
 public:
  // Builds one real client per upstream (adapter/client). InvalidArgument
  // naming the upstream when its URL or CA cannot be used.
  static Result<std::shared_ptr<PullThrough>> Create(std::shared_ptr<Store> store, std::vector<Upstream> upstreams,
                                                     PullThroughOptions options = {});
  // clients[i] talks to upstreams[i]. `clock` must outlive this object.
  PullThrough(std::shared_ptr<Store> store, std::vector<Upstream> upstreams,
              std::vector<std::unique_ptr<client::RegistryClient>> clients, PullThroughOptions options,
              const Clock& clock = SystemClock());
  ~PullThrough();

  const std::vector<Upstream>& upstreams() const { return upstreams_; }
  std::optional<Target> Resolve(std::string_view name, std::optional<std::string_view> ns) const {
    return proxy::Resolve(upstreams_, name, ns);
  }
  void SetObserver(std::shared_ptr<PullThroughObserver> observer) { observer_ = std::move(observer); }

  // OK when target.local_repo can now answer `reference` (a tag or digest).
  // NotFound when the upstream does not have it (and nothing is cached);
  // Unavailable when the upstream cannot be asked and nothing is cached.
  Status EnsureManifest(const Target& target, std::string_view reference);
  // OK when target.local_repo now links blob `d`. NotFound / Unavailable as
  // above; DigestMismatch when the upstream sent other bytes. Waits for the
  // whole download.
  Status EnsureBlob(const Target& target, const Digest& d);

  // What a client's GET of a blob is answered from.
  struct BlobStream {
    // True: the blob is stored and linked to the target: serve it as usual.
    bool stored = false;
    // Otherwise the download's file, read while it grows: its own
    // descriptor, the blob's whole size, and how much is there (`growing`
    // holds back the last byte until the digest is verified, and fails if
    // it is not).
    UniqueFd fd;
    uint64_t size = 0;
    std::shared_ptr<GrowingFile> growing;
  };
  // Starts (or joins) the blob's download and returns as soon as its size
  // is known, about one upstream round trip on a miss, so the client gets
  // bytes as they arrive instead of after the whole blob. Errors as
  // EnsureBlob.
  Result<BlobStream> StreamBlob(const Target& target, const Digest& d);

  // True (and counted as a hit) when the cache can answer `reference` (a
  // blob digest when `blob`, else a manifest tag or digest) right now without
  // asking the upstream: cheap, no network, callable from an I/O thread, so
  // warm pulls skip the blocking pool.
  bool Fresh(const Target& target, std::string_view reference, bool blob);

  // The blob's size for a HEAD: from the cache, else from a HEAD upstream
  // (nothing downloaded: a HEAD must not cost a whole layer).
  Result<uint64_t> BlobSize(const Target& target, const Digest& d);

  // Whether an upstream is considered offline right now.
  bool Offline(size_t upstream) const;
  // Callers waiting for another caller's upstream fetch right now.
  size_t Waiting() const;
  // Blob downloads running right now.
  size_t Fills() const;

 private:
  struct Flight;
  using TimePoint = std::chrono::steady_clock::time_point;

  Status FetchManifest(const Target& t, std::string_view reference, std::optional<std::string_view> tag);
  // The running download of `d`, started for `t` when there is none (then
  // *leader is true: the caller's request counts as the miss).
  std::shared_ptr<BlobFill> JoinFill(const Target& t, const Digest& d, bool* leader);
  // A download's thread: FillBlob, then publishes the result.
  void RunFill(std::shared_ptr<BlobFill> fill, Target t, Digest d, uint64_t id);
  // Replicas: the cluster lock on downloading `d`, once no other replica
  // holds it; null when the blob got stored meanwhile, or after
  // options_.cluster_fill_wait (then this replica downloads it unlocked).
  std::unique_ptr<HeldLock> AwaitOtherReplicasFill(const Digest& d);
  Status FillBlob(const Target& t, const Digest& d, BlobFill& fill);
  // Below the disk reserve: streams the blob to the fill's one reader
  // through a memory file, never stored (PullThroughOptions::disk_space).
  Status PassBlob(const Target& t, const Digest& d, BlobFill& fill);
  // Whether `t`'s upstream confirms its name has blob `d` (HEAD): before a
  // name is served bytes fetched or stored for another name.
  Status ConfirmBlob(const Target& t, const Digest& d);
  // Records the outcome of an upstream call: offline after a transient or
  // auth failure, online after an answer.
  void Note(size_t upstream, const client::ClientError& e);
  void Report(const Target& t, std::string_view kind, Outcome o);
  void ReportLatency(size_t upstream, std::chrono::steady_clock::time_point asked);

  std::shared_ptr<Store> store_;
  std::vector<Upstream> upstreams_;
  std::vector<std::unique_ptr<client::RegistryClient>> clients_;
  PullThroughOptions options_;
  const Clock& clock_;
  std::shared_ptr<PullThroughObserver> observer_;

  mutable std::mutex mu_;
  std::vector<TimePoint> offline_until_;           // per upstream
  std::map<std::string, TimePoint> tag_checked_;   // "local_repo:tag" → last upstream confirmation
  std::map<std::string, TimePoint> not_found_;     // "local_repo@ref" → negative cache expiry
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // "manifest:<repo>@<ref>"
  std::map<std::string, std::shared_ptr<BlobFill>> fills_;  // by digest
  std::vector<size_t> fills_per_upstream_;
  // Each download runs on its own thread; a finished one parks its thread
  // here to be joined by the next start or the destructor.
  std::map<uint64_t, std::thread> fill_threads_;
  std::vector<std::thread> finished_threads_;
  uint64_t next_fill_id_ = 0;
  std::condition_variable fills_cv_;  // a fill ended (slot free / all done)
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> waiting_{0};
};

}  // namespace pier::proxy
