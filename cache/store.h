#pragma once
// Store: Pier's content-addressed registry storage. Blob bytes live in
// files named by digest (layout.h), everything else in RocksDB (keys.h).
//
// Promises:
//  - One file per digest for the whole store; repositories hold links.
//  - A repository reads only blobs it links to (uploaded, mounted, or
//    referenced by manifests it was given) and manifests pushed to it.
//  - A commit (blob, manifest, tag) is one synced RocksDB WriteBatch issued
//    after the bytes are durable: a crash leaves the old state or the new.
//  - Upload sessions survive restarts; their committed offset is the last
//    Flush()ed (acknowledged) byte.
//  - Open() runs recovery: half-written upload bytes past the committed
//    offset are truncated, orphaned files removed, stale sessions expired.
//  - CollectGarbage() runs online, beside every other call, and never takes
//    what a manifest, a recent upload or read, or a pin still needs (the
//    rule is in cache/README.md, "Garbage collection").
// Thread-safe: every method may be called concurrently.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/digest.h"
#include "base/file.h"
#include "base/manifest.h"
#include "base/status.h"
#include "cache/blob_storage.h"
#include "cache/db.h"

namespace pier {

struct BlobInfo {
  Digest digest;
  uint64_t size = 0;
  int64_t created_unix = 0;
};

struct UploadState {
  std::string uuid;
  std::string repo;
  uint64_t offset = 0;  // committed (durable, acknowledged) bytes
  int64_t started_unix = 0;
};

struct StoredManifest {
  Digest digest;
  std::string media_type;
  std::string bytes;
  std::optional<Digest> subject;
};

// What one garbage collection run is told (Store::CollectGarbage).
struct GcOptions {
  // Links, blobs, manifests and orphan files younger than this, and links
  // and manifests read (HEAD/GET) more recently, are kept: a client that
  // uploaded or probed a blob has this long to reference it.
  int64_t grace_seconds = 7200;
  // Also delete manifests no tag names (nor an index or a kept subject).
  bool delete_untagged = false;
  // Report what would go and how many bytes; change nothing.
  bool dry_run = false;
  // Threads sweeping repositories side by side (Harbor's `workers`, 1..10).
  int workers = 1;
  // Content a pending replication still has to send: (repository, digest)
  // of a manifest (kept with everything it references) or of a blob; repo
  // "" asks about a derived blob no repository links (a transcode about to
  // be sent). May be called with the repository's manifest lock held: must
  // not call the store.
  std::function<bool(std::string_view repo, const Digest& d)> pinned;
  // One line per thing collected (dry run: that would be).
  std::function<void(const std::string& line)> log;
  // Checked between repositories and between phases; set: stop early.
  const std::atomic<bool>* stop = nullptr;
};

struct GcReport {
  uint64_t manifests_deleted = 0;  // untagged, or referrers whose subject is gone
  uint64_t links_deleted = 0;      // repository links to blobs nothing references
  uint64_t blobs_deleted = 0;      // blob files (and records) freed
  uint64_t blob_bytes_deleted = 0;
  uint64_t uploads_deleted = 0;    // sessions idle past uploads.max_age_hours
  uint64_t upload_bytes_deleted = 0;
  uint64_t orphans_deleted = 0;    // files and records left by a crash
  uint64_t orphan_bytes_deleted = 0;
  // Kept only because a pin holds them (replication still needs them).
  uint64_t pinned_blobs = 0;
  uint64_t pinned_bytes = 0;
  bool stopped = false;  // options.stop was set before the end
};

// What one capacity eviction pass is told (Store::Evict). The unit is an
// image: a manifest no other manifest of its repository names (with its
// index children and referrers), its tags, and the links to blobs nothing
// else in the repository references; a blob's file goes with its last link.
struct EvictOptions {
  // Stop once this many blob bytes are freed.
  uint64_t bytes_to_free = 0;
  // Hosted images (pushed here, not pull-through copies) too, when
  // `replicated` says they are safe elsewhere (storage.evict_replicated).
  bool evict_hosted = false;
  // Whether a hosted image (repository, manifest digest, its tags) is held
  // by every destination of every push policy that selects it (and at least
  // one does). Called without store locks held. Absent: nothing hosted goes.
  std::function<bool(std::string_view repo, const Digest& manifest, const std::vector<std::string>& tags)>
      replicated;
  // As GcOptions::pinned: a pending replication still needs it. Called with
  // the repository's manifest lock held: must not call the store.
  std::function<bool(std::string_view repo, const Digest& d)> pinned;
  // In use: an image pushed, pulled or probed, or a blob linked or read,
  // within this many seconds is kept (a client between its blob HEADs and
  // its manifest PUT, a pull in progress).
  int64_t min_idle_seconds = 600;
  // One line per image evicted.
  std::function<void(const std::string& line)> log;
};

struct EvictReport {
  uint64_t images_evicted = 0;
  uint64_t blobs_deleted = 0;
  uint64_t cached_bytes = 0;      // freed from pull-through copies
  uint64_t replicated_bytes = 0;  // freed from hosted images the destinations hold
  // Left although they were candidates by age:
  uint64_t pinned_images = 0;     // a pending replication needs them
  uint64_t unsafe_images = 0;     // hosted, not held by every destination (or not opted in)
  uint64_t in_use_images = 0;     // used within min_idle_seconds
  uint64_t freed_bytes() const { return cached_bytes + replicated_bytes; }
};

// A project's storage quota (Harbor's project quota; a project is the first
// component of a repository name). Usage counts every blob and manifest
// once per project, however many of its repositories hold it.
struct ProjectQuota {
  int64_t id = 0;  // given on first sight, kept
  std::string project;
  int64_t hard = -1;  // bytes; -1: no limit
  uint64_t used = 0;
  int64_t created_unix = 0;
  int64_t updated_unix = 0;
};

// One manifest of a repository as tag retention sees it (Harbor's artifact).
struct ArtifactInfo {
  Digest digest;
  std::string media_type;
  std::vector<std::string> tags;  // sorted
  int64_t pushed_unix = 0;        // last put (0: before push times were kept)
  int64_t pulled_unix = 0;        // last GET, including not yet flushed ones (0: never)
  uint64_t size = 0;              // manifest bytes + config and layers (+ children for an index)
  std::vector<Digest> children;   // manifests an index names
  std::optional<Digest> subject;  // OCI 1.1 subject (a referrer: signature, SBOM...)
  bool cached = false;            // a pull-through copy (PutCachedManifest)
};

struct Page {
  std::vector<std::string> items;
  bool more = false;  // there are items after the last one returned
};

// Appends bytes to one upload session. Obtained from Store::OpenWriter; only
// one writer per session exists at a time. Destroying a writer without
// Flush/Commit discards the unacknowledged bytes (as Abort()). A writer may
// outlive the Store that made it (it keeps the store's state alive).
class UploadWriter {
 public:
  virtual ~UploadWriter() = default;
  // Appends to the session, hashed on the way. The first 4 MiB a writer
  // appends go through the page cache; past that the bytes go to disk with
  // O_DIRECT through a DirectAppender (direct_appender.h: hashing and
  // writing on its own threads, so no gigabyte of dirty pages waits for the
  // final fsync), or through the page cache again when the file system
  // refuses O_DIRECT or too many appenders are active. Fast either way:
  // callable from an I/O thread (it waits only for a buffer to come free).
  virtual Status Append(std::span<const char> data) = 0;
  // Makes everything appended durable and records the new committed offset.
  virtual Status Flush() = 0;
  // Flushes, verifies the content hashes to `expected` (DigestMismatch
  // otherwise, and the session is deleted), moves the bytes into the blob
  // store and links the blob to the session's repository; ends the session.
  // QuotaExceeded (and the session is deleted) when the blob is new to the
  // repository's project and would take it past its quota.
  virtual Result<BlobInfo> Commit(const Digest& expected) = 0;
  // Drops bytes appended since the last Flush.
  virtual void Abort() = 0;
  // Keeps every append in the page cache (no O_DIRECT), written at once;
  // call before the first Append. For a file that readers follow while it grows (a pull-through
  // fill streams it to clients).
  virtual void KeepBuffered() = 0;
  // The upload is a pull-through copy: its blob is recorded as cached
  // (evictable, the upstream has it) and counts toward its project's usage
  // without ever being refused by the quota. Call before Commit.
  virtual void MarkCached() = 0;
  // The upload is derived data (a transcode, cache/transcode): Commit
  // stores the blob without linking it to any repository or counting it in
  // any quota; OpenStoredBlob reads it; GC collects it like any unlinked
  // blob once its grace period is over (unless GcOptions::pinned("", d)).
  // Call before Commit.
  virtual void MarkDerived() = 0;
  // A read-only descriptor of the session's file. It keeps reading the same
  // bytes after Commit moved (or, for a duplicate, removed) the file.
  virtual Result<UniqueFd> OpenReader() = 0;
  // Bytes in the session including unflushed appends.
  virtual uint64_t size() const = 0;
};

// A column family of the store's RocksDB set aside for another component's
// small records (replication keeps its endpoints and policies here, see
// keys.h). Created on first use; every write is synced. Thread-safe.
class KvSpace {
 public:
  virtual ~KvSpace() = default;
  // NotFound when the key is absent.
  virtual Result<std::string> Get(std::string_view key) = 0;
  // Applies every put (value set) and delete (nullopt) atomically.
  using Op = std::pair<std::string, std::optional<std::string>>;
  virtual Status Write(const std::vector<Op>& ops) = 0;
  // Calls fn(key, value) for the keys beginning with `prefix`, in key order;
  // fn returns false to stop.
  virtual Status Scan(std::string_view prefix,
                      const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;
  // Exclusion on `name` within this space among every replica sharing the
  // records, held while the result lives (waits up to ~30 s): for the
  // read-modify-write steps (id counters) a component's own mutex only
  // guards within one process. Holds nothing for a private store.
  // wait=false: FailedPrecondition at once when another replica holds it.
  virtual Result<std::unique_ptr<HeldLock>> Lock(std::string_view name, bool wait = true) = 0;
};

class Store {
 public:
  struct Options {
    std::filesystem::path root;
    // Upload sessions idle for longer than this are removed at startup.
    int64_t upload_max_age_seconds = 7 * 24 * 3600;
    // Bytes of freshly committed blobs queued or being read back into the
    // page cache after their O_DIRECT upload (warmer.h), so the first pull
    // of a fresh blob comes from memory; 0 turns the read-back off. 2 GiB
    // holds one or two of the largest layers commonly pushed while leaving
    // most of a small node's memory alone; the pages stay reclaimable.
    uint64_t warm_upload_bytes = 2ull << 30;
    // Where record times come from; tests move a FakeClock. Must outlive the store.
    const Clock* clock = &SystemClock();
    // Garbage collection counts every link and manifest as read when the
    // store opened (reads before a restart are not known; touches.h). Off
    // for an offline `pier gc`, which no client can race.
    bool reads_at_open = true;
    // Where blob bytes live; null: files under `root` (LocalBlobStorage).
    std::shared_ptr<BlobStorage> blob_storage = nullptr;
    // Opens where the records live; empty: RocksDB under `root` (the
    // PostgreSQL Db of cache/pg/db.h for replicas sharing one database).
    DbOpener metadata = nullptr;
  };

  // Opens (creating if needed) the store at options.root and runs recovery.
  static Result<std::unique_ptr<Store>> Open(const Options& options);
  virtual ~Store() = default;

  // --- blobs ---
  // NotFound unless `repo` links to the blob.
  virtual Result<BlobInfo> StatBlob(std::string_view repo, const Digest& d) = 0;
  // Opens the blob for reading (fd positioned anywhere; use pread/sendfile).
  // Unsupported when the bytes are remote (an S3 storage): use OpenBlobReader.
  virtual Result<UniqueFd> OpenBlob(std::string_view repo, const Digest& d, BlobInfo* info) = 0;
  // Opens the blob for reading wherever its bytes live. NotFound unless
  // `repo` links to the blob.
  virtual Result<std::unique_ptr<BlobReader>> OpenBlobReader(std::string_view repo, const Digest& d,
                                                             BlobInfo* info) = 0;
  // Removes the repository's link; when no repository links the blob any
  // more its file and record are deleted at once. NotFound if not linked.
  virtual Status DeleteBlob(std::string_view repo, const Digest& d) = 0;
  // Links a blob that `from` links to into `repo`. NotFound if `from`
  // does not have it; QuotaExceeded when the blob is new to repo's project
  // and would take it past its quota.
  virtual Result<BlobInfo> MountBlob(std::string_view repo, std::string_view from, const Digest& d) = 0;
  // Links a blob stored for any repository into `repo` (never refused by a
  // quota: a pull-through copy, the upstream has it). Only for callers
  // that established `repo` may have it (pull-through, after the upstream
  // confirmed the name has the blob): it is an existence oracle otherwise.
  // NotFound when the store does not hold the blob.
  virtual Result<BlobInfo> LinkStoredBlob(std::string_view repo, const Digest& d) = 0;
  // Whether the store holds the blob for any repository (same caveat).
  virtual bool BlobStored(const Digest& d) = 0;
  // Opens a blob by digest whoever links it (or nobody: a derived blob).
  // Internal callers only (the same caveat as LinkStoredBlob). NotFound
  // when the store does not hold it.
  virtual Result<UniqueFd> OpenStoredBlob(const Digest& d, BlobInfo* info) = 0;
  // As OpenStoredBlob, wherever the bytes live.
  virtual Result<std::unique_ptr<BlobReader>> OpenStoredBlobReader(const Digest& d, BlobInfo* info) = 0;
  // Where the blob bytes live ("filesystem", "s3").
  virtual const BlobStorage& blob_storage() const = 0;
  // Whether the records and the blob storage answer now (for /readyz): OK,
  // or the first failure, its message naming "metadata" or "storage". Asks
  // at most every 2 s; in between it answers what it last found.
  virtual Status CheckHealth() = 0;
  // The records are shared with other replicas (metadata.type postgres).
  virtual bool shared_metadata() const = 0;
  // A lease among the replicas sharing the records (Db::HoldLease): the
  // tenure's token while `holder` holds it, nullopt while another does.
  // A single node holds every lease.
  virtual Result<std::optional<int64_t>> HoldLease(std::string_view name, std::string_view holder,
                                                   std::chrono::milliseconds ttl) = 0;
  virtual Status ReleaseLease(std::string_view name, std::string_view holder) = 0;
  // Exclusion on (space, key) among the replicas sharing the records while
  // the returned lock lives (Db::Lock: wait=false answers FailedPrecondition
  // at once when another replica holds it). A single node: held at once.
  virtual Result<std::unique_ptr<HeldLock>> LockAcross(std::string_view space, std::string_view key, bool wait) = 0;

  // --- uploads ---
  virtual Result<UploadState> StartUpload(std::string_view repo) = 0;
  // NotFound if unknown or belonging to another repository.
  virtual Result<UploadState> GetUpload(std::string_view repo, std::string_view uuid) = 0;
  // Opens the session for appending. When `expected_offset` is set it must
  // equal the committed size, else OutOfRange. FailedPrecondition if another
  // writer is active on the session.
  virtual Result<std::unique_ptr<UploadWriter>> OpenWriter(std::string_view repo, std::string_view uuid,
                                                           std::optional<uint64_t> expected_offset) = 0;
  virtual Status CancelUpload(std::string_view repo, std::string_view uuid) = 0;

  // --- manifests and tags ---
  // `reference` is a tag or a digest string. NotFound when absent.
  virtual Result<StoredManifest> GetManifest(std::string_view repo, std::string_view reference) = 0;
  // Verifies every blob the manifest references is linked to `repo` and every
  // child manifest exists in `repo` (NotFound naming the first missing one)
  // and that a manifest new to the project fits its quota (QuotaExceeded),
  // then stores it, points `tag` (if any) at it and records it as a referrer
  // of its subject, all in one batch. Returns the manifest digest.
  virtual Result<Digest> PutManifest(std::string_view repo, std::optional<std::string_view> tag,
                                     std::string_view media_type, std::string_view bytes,
                                     const ParsedManifest& parsed) = 0;
  // A manifest fetched from a pull-through upstream: stored like PutManifest
  // but without requiring its blobs and child manifests to be present (they
  // are fetched when a client asks for them), and marked cached so fsck does
  // not count what is still missing. Returns the manifest digest.
  virtual Result<Digest> PutCachedManifest(std::string_view repo, std::optional<std::string_view> tag,
                                           std::string_view media_type, std::string_view bytes,
                                           const ParsedManifest& parsed) = 0;
  // Deletes the manifest, every tag pointing at it and its referrer entry.
  virtual Status DeleteManifest(std::string_view repo, const Digest& d) = 0;
  virtual Status DeleteTag(std::string_view repo, std::string_view tag) = 0;
  // Records a pull (GET) of the manifest. Kept in memory and written to
  // RocksDB in one batch at most every 30 s (by the next call after that,
  // and when the store closes): cheap enough for every GET. Never fails the
  // caller; a write error is reported and the pulls kept for the next batch.
  virtual void NotePull(std::string_view repo, const Digest& manifest) = 0;
  // Every manifest of `repo` with its tags, push and pull times and size, in
  // digest order. An unknown repository has none.
  virtual Result<std::vector<ArtifactInfo>> ListArtifacts(std::string_view repo) = 0;
  // Tags sorted lexically, after `last` (exclusive), at most n (0: all).
  virtual Result<Page> ListTags(std::string_view repo, std::string_view last, size_t n) = 0;
  // Repositories sorted lexically after `last`, at most n (0: all), only those
  // for which `visible(repo)` is true.
  virtual Result<Page> ListRepositories(std::string_view last, size_t n,
                                        const std::function<bool(std::string_view)>& visible) = 0;
  virtual bool RepositoryExists(std::string_view repo) = 0;
  // Manifests in `repo` whose subject is `subject`, optionally only those
  // with the given artifact type.
  virtual Result<std::vector<Descriptor>> ListReferrers(std::string_view repo, const Digest& subject,
                                                        std::string_view artifact_type) = 0;

  // --- maintenance ---
  // Cheap (atomic counters, no I/O): metrics read it at every scrape.
  struct Stats {
    uint64_t blobs = 0;       // distinct blobs stored
    uint64_t blob_bytes = 0;  // their total size
    uint64_t uploads = 0;     // upload sessions open
    // Since this process started: bytes not stored again because the digest
    // was already stored (an upload committed as a duplicate, or a mount).
    uint64_t dedup_saved_bytes = 0;
    // Since this process started: writes refused by a project quota.
    uint64_t quota_refusals = 0;
  };
  virtual Stats GetStats() = 0;
  // One garbage collection pass over the whole store (see GcOptions). Runs
  // beside every other call; one pass at a time (a second caller waits).
  virtual Result<GcReport> CollectGarbage(const GcOptions& options) = 0;
  // Capacity eviction (see EvictOptions): least recently used images first,
  // pull-through copies before hosted images; never a pinned or in-use one,
  // never a tag left naming a missing manifest or a manifest naming a
  // missing blob. Runs beside every other call; one pass at a time.
  virtual Result<EvictReport> Evict(const EvictOptions& options) = 0;

  // --- project quotas ---
  // Every project that holds something or has a limit, by id.
  virtual Result<std::vector<ProjectQuota>> ListQuotas() = 0;
  // NotFound for an unknown id.
  virtual Result<ProjectQuota> GetQuota(int64_t id) = 0;
  // Sets a project's limit in bytes (-1: none); InvalidArgument for a name
  // that is not one repository-name component or a limit below -1.
  virtual Result<ProjectQuota> SetQuota(std::string_view project, int64_t hard) = 0;
  // QuotaExceeded (Harbor's message: what was asked, the usage, the limit)
  // when `bytes` more would take repo's project past its quota. Commits,
  // mounts and manifest puts check on their own; this is for the start of
  // an upload, to refuse before any byte is sent.
  virtual Status CheckQuota(std::string_view repo, uint64_t bytes) = 0;

  // --- other components' records ---
  // Opens (creating it on first use) the column family `name`, which must
  // not be one of the store's own (keys.h): InvalidArgument then. The space
  // may outlive the Store object.
  virtual Result<std::shared_ptr<KvSpace>> OpenKeySpace(std::string_view name) = 0;
};

// Checks a store: every blob file (object) hashes to its name and has a
// record with the right size, every record has its file, every link and
// manifest points at something that exists. Problems are listed one per line.
struct FsckReport {
  uint64_t blobs_checked = 0;
  uint64_t manifests_checked = 0;
  std::vector<std::string> problems;
};
// Where the store's records and bytes are: by default RocksDB and files
// under `root`; the same settings Store::Options has otherwise.
struct FsckOptions {
  DbOpener metadata = nullptr;
  std::shared_ptr<BlobStorage> blob_storage = nullptr;
};
Result<FsckReport> Fsck(const std::filesystem::path& root, const FsckOptions& options = {});

}  // namespace pier
