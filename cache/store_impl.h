#pragma once
// Internals of the Store shared by its .cc files: the state every operation
// works on (StoreState), the session table, and
// StoreImpl, the Store implementation. Not for use outside cache/.
#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cache/db.h"
#include "cache/key_locks.h"
#include "base/digest.h"
#include "cache/layout.h"
#include "cache/local_blob_storage.h"
#include "cache/counted_batch.h"
#include "cache/project_usage.h"
#include "cache/pull_times.h"
#include "cache/quota_book.h"
#include "cache/records.h"
#include "cache/store.h"
#include "cache/shared_touches.h"
#include "cache/touches.h"
#include "cache/warmer.h"

namespace pier::internal {

// The running hash of an upload: sha256 of its first `offset` bytes.
struct HashState {
  Sha256 sha;
  uint64_t offset = 0;
};

// Process memory about upload sessions (the Db holds the durable part):
// which sessions have a writer right now, and the running hash of idle ones
// so a chunked upload never re-reads what it already hashed. With a shared
// Db the writer slot is also claimed in the database, so a session has one
// writer across all replicas.
class SessionClaim;
class SessionTable {
 public:
  explicit SessionTable(Db* db) : db_(db) {}
  // Claims the session's single writer slot; FailedPrecondition ("another
  // request is writing to this upload") if already taken.
  Result<SessionClaim> Claim(const std::string& uuid);
  // Removes and returns the saved hash when it covers exactly `offset` bytes.
  std::optional<HashState> TakeHash(const std::string& uuid, uint64_t offset);
  void PutHash(const std::string& uuid, HashState h);
  void DropHash(const std::string& uuid);

 private:
  friend class SessionClaim;
  void Release(const std::string& uuid);

  Db* const db_;
  std::mutex mu_;
  std::unordered_set<std::string> busy_;
  std::unordered_map<std::string, HashState> hashes_;
};

// RAII writer slot of one session (see SessionTable::Claim).
class SessionClaim {
 public:
  SessionClaim() = default;
  SessionClaim(SessionTable* table, std::string uuid, std::unique_ptr<HeldLock> remote)
      : table_(table), uuid_(std::move(uuid)), remote_(std::move(remote)) {}
  ~SessionClaim() { reset(); }
  SessionClaim(SessionClaim&& o) noexcept
      : table_(std::exchange(o.table_, nullptr)), uuid_(std::move(o.uuid_)), remote_(std::move(o.remote_)) {}
  SessionClaim& operator=(SessionClaim&& o) noexcept {
    if (this != &o) {
      reset();
      table_ = std::exchange(o.table_, nullptr);
      uuid_ = std::move(o.uuid_);
      remote_ = std::move(o.remote_);
    }
    return *this;
  }
  const std::string& uuid() const { return uuid_; }
  void reset() {
    remote_.reset();
    if (table_ != nullptr) table_->Release(uuid_);
    table_ = nullptr;
  }

 private:
  SessionTable* table_ = nullptr;
  std::string uuid_;
  std::unique_ptr<HeldLock> remote_;
};

// Everything a store operation needs. Shared by StoreImpl and its upload
// writers, so a writer that outlives the Store object stays valid.
struct StoreState {
  StoreState(Store::Options o, std::unique_ptr<Db> d)
      : options(std::move(o)), layout(options.root),
        blobs(options.blob_storage ? options.blob_storage : std::make_shared<LocalBlobStorage>(layout)),
        db(std::move(d)),
        blob_locks("blob", db.get()),
        manifest_locks("manifest", db.get()),
        usage_locks("usage", db.get()),
        sessions(db.get()),
        warmer(options.warm_upload_bytes > 0 ? std::make_unique<Warmer>(options.warm_upload_bytes) : nullptr),
        touches(options.reads_at_open ? options.clock->UnixSeconds() : 0) {}

  int64_t Now() const { return options.clock->UnixSeconds(); }

  Store::Options options;
  Layout layout;
  std::shared_ptr<BlobStorage> blobs;  // the bytes (local files unless options.blob_storage)
  std::unique_ptr<Db> db;
  KeyLocks blob_locks;      // by digest: blob commit, delete and mount
  KeyLocks manifest_locks;  // by repository: manifest and tag changes
  KeyLocks usage_locks;     // by project + digest: a holder count row (CountedBatch, shared records)
  SessionTable sessions;
  std::unique_ptr<Warmer> warmer;  // read-back of fresh O_DIRECT blobs; null when off
  TouchTable touches;              // recent reads, for garbage collection (touches.h)
  std::unique_ptr<SharedTouches> shared_touches;  // with shared records: every replica's reads
  // A read of (repo, digest): in `touches`, and for the other replicas' GC
  // in `shared_touches` (a failure there is logged; the read goes on).
  void NoteRead(std::string_view repo, std::string_view digest);
  // The last read any replica noted (GC's grace); unknown: the far future.
  int64_t LastRead(std::string_view repo, std::string_view digest) const;
  std::mutex gc_mu;                // one garbage collection at a time
  std::mutex evict_mu;             // one eviction pass at a time
  ProjectUsage usage;              // bytes per project, derived from links and manifests (private records)
  // Shared records: the family of the usage and blob counts (CountedBatch),
  // which then replace `usage`, blob_count and blob_bytes.
  std::optional<Family> counts;
  QuotaBook quotas;                // limits per project (store_quotas.cc)
  PullTimes pulls;                 // last pull per manifest, batched (store_artifacts.cc)
  // Kept in step with the blobs and uploads column families (GetStats;
  // with shared records GetStats reads the database instead).
  std::atomic<uint64_t> blob_count{0};
  std::atomic<uint64_t> blob_bytes{0};
  std::atomic<uint64_t> upload_count{0};
  std::atomic<uint64_t> dedup_saved_bytes{0};  // process lifetime, not persisted
  mutable std::atomic<uint64_t> quota_refusals{0};  // process lifetime (QuotaRefusal)
  // Requests served (blob and manifest reads, upload starts and writes,
  // links, manifest puts): garbage collection gives way while it moves.
  std::atomic<uint64_t> requests{0};
  void Served() { requests.fetch_add(1, std::memory_order_relaxed); }
};

// --- shared operations (each defined in the .cc named after it) ---

// store_blobs.cc: moves the verified, fsync'ed upload file of `uuid` into the
// blob store (or drops it if the digest is already stored), links the blob
// to `repo` and ends the session, in one batch.
// A blob new to the repository's project must fit its quota unless it is
// kCached (a pull-through copy, recorded so when new); refused:
// QuotaExceeded and the session is gone. kDerived: no link at all (and no
// quota); the record says kDerived when new.
Result<BlobInfo> CommitBlob(StoreState& st, const std::string& uuid, const std::string& repo, const Digest& d,
                            uint64_t size, records::Origin origin);
// store_blobs.cc: removes `repo`'s link to `d` and, when it was the last
// link, the blob's record and then its file; *freed_bytes is the blob's size
// then, else 0. The caller holds blob_locks.For(d.hex).
Status UnlinkBlobLocked(StoreState& st, std::string_view repo, const Digest& d, uint64_t* freed_bytes);
// store_blobs.cc: when `repo` got `d` (the link's time, 0 for a link older
// than link times), or NotFound.
Result<int64_t> LinkTime(const StoreState& st, std::string_view repo, const Digest& d);
// What one stored manifest references, as garbage collection and eviction
// read it.
struct ManifestFacts {
  std::string subject;                // digest string, or empty
  std::vector<std::string> blobs;     // config + layers held here (foreign layers left out)
  std::vector<std::string> children;  // index entries
  int64_t pushed = 0;
  bool understood = true;  // false: it did not parse, so what it references is unknown
};
// store_manifests.cc: every manifest of `repo`, by digest string.
Status ScanManifestFacts(const StoreState& st, std::string_view repo,
                         std::unordered_map<std::string, ManifestFacts>* out);
// store_manifests.cc: deletes manifest `d` of `repo` with its tags, its
// referrer entry and its pull time. The caller holds manifest_locks.For(repo).
Status DeleteManifestLocked(StoreState& st, std::string_view repo, const Digest& d);
// store_quotas.cc: Harbor's quota refusal for adding `bytes` to `project`.
Status QuotaRefusal(const StoreState& st, std::string_view project, uint64_t bytes);
// store_quotas.cc: every holding the records imply, once per holding
// repository: (project, kind, digest, size) for each link to a blob with a
// record and each manifest; `blob` (may be null) first sees every blob
// record's size.
using HoldingVisitor =
    std::function<void(std::string_view project, ProjectUsage::Kind kind, std::string_view digest, uint64_t size)>;
Status ScanHoldings(const Db& db, const std::function<void(uint64_t size)>& blob, const HoldingVisitor& hold);
// store_quotas.cc: rebuilds `usage` from the links and manifests (startup,
// private records: LoadCounts).
Status LoadProjectUsage(StoreState& st);
// store_uploads.cc: deletes a session's record, file and saved hash.
Status DropSession(StoreState& st, const std::string& uuid);
// store_uploads.cc: the record of `uuid` if it belongs to `repo`, else NotFound.
Result<records::UploadRecord> LoadUpload(StoreState& st, std::string_view repo, std::string_view uuid);
// upload_writer.cc
std::unique_ptr<UploadWriter> NewUploadWriter(std::shared_ptr<StoreState> st, SessionClaim claim,
                                              records::UploadRecord record, UniqueFd fd, HashState hash);
// remote_upload_writer.cc: a writer for a session kept in `remote`
// (loads the recorded parts, tail and hash first).
Result<std::unique_ptr<UploadWriter>> NewRemoteUploadWriter(std::shared_ptr<StoreState> st, SessionClaim claim,
                                                            records::UploadRecord record, RemoteUploads* remote);
// upload_writer.cc: extends `h` with the bytes of `fd` from h.offset to `end`.
Status HashFileRange(int fd, HashState* h, uint64_t end);
// recovery.cc: what the store needs to know of a file it may remove.
struct FileFacts {
  bool exists = false;  // and is a regular file
  uint64_t size = 0;
  int64_t mtime_unix = 0;
};
FileFacts StatFile(const std::filesystem::path& path);
// recovery.cc: the facts of an upload session's bytes in the blob storage.
FileFacts UploadFacts(const StoreState& st, std::string_view uuid);
// recovery.cc: a session idle (since its start or last write) for longer
// than options.upload_max_age_seconds.
bool UploadExpired(const StoreState& st, const records::UploadRecord& rec, const FileFacts& file);
// recovery.cc: the startup pass (see store.h) and the counters for GetStats.
Status Recover(StoreState& st);

// Validation shared by the entry points; InvalidArgument/NotFound as the
// Store contract says.
Status CheckRepo(std::string_view repo);
Status CheckBlobDigest(const Digest& d);

class StoreImpl final : public Store {
 public:
  explicit StoreImpl(std::shared_ptr<StoreState> st) : st_(std::move(st)) {}
  // Writes the pending pull times (store_artifacts.cc).
  ~StoreImpl() override;

  // store_blobs.cc
  Result<BlobInfo> StatBlob(std::string_view repo, const Digest& d) override;
  Result<UniqueFd> OpenBlob(std::string_view repo, const Digest& d, BlobInfo* info) override;
  Status DeleteBlob(std::string_view repo, const Digest& d) override;
  Result<BlobInfo> MountBlob(std::string_view repo, std::string_view from, const Digest& d) override;
  Result<BlobInfo> LinkStoredBlob(std::string_view repo, const Digest& d) override;
  bool BlobStored(const Digest& d) override;
  Result<UniqueFd> OpenStoredBlob(const Digest& d, BlobInfo* info) override;
  Result<std::unique_ptr<BlobReader>> OpenBlobReader(std::string_view repo, const Digest& d,
                                                     BlobInfo* info) override;
  Result<std::unique_ptr<BlobReader>> OpenStoredBlobReader(const Digest& d, BlobInfo* info) override;
  const BlobStorage& blob_storage() const override { return *st_->blobs; }
  bool shared_metadata() const override { return st_->db->shared(); }
  Status CheckHealth() override;
  Result<std::optional<int64_t>> HoldLease(std::string_view name, std::string_view holder,
                                           std::chrono::milliseconds ttl) override {
    return st_->db->HoldLease(name, holder, ttl);
  }
  Result<std::unique_ptr<HeldLock>> LockAcross(std::string_view space, std::string_view key, bool wait) override {
    return st_->db->Lock(space, key, wait);
  }
  Status ReleaseLease(std::string_view name, std::string_view holder) override {
    return st_->db->ReleaseLease(name, holder);
  }

  // store_uploads.cc
  Result<UploadState> StartUpload(std::string_view repo) override;
  Result<UploadState> GetUpload(std::string_view repo, std::string_view uuid) override;
  Result<std::unique_ptr<UploadWriter>> OpenWriter(std::string_view repo, std::string_view uuid,
                                                   std::optional<uint64_t> expected_offset) override;
  Status CancelUpload(std::string_view repo, std::string_view uuid) override;

  // store_manifests.cc
  Result<StoredManifest> GetManifest(std::string_view repo, std::string_view reference) override;
  Result<Digest> PutCachedManifest(std::string_view repo, std::optional<std::string_view> tag,
                                   std::string_view media_type, std::string_view bytes,
                                   const ParsedManifest& parsed) override;
  Result<Digest> PutManifest(std::string_view repo, std::optional<std::string_view> tag,
                             std::string_view media_type, std::string_view bytes,
                             const ParsedManifest& parsed) override;
  Status DeleteManifest(std::string_view repo, const Digest& d) override;
  // PutManifest and PutCachedManifest: `cached` skips the reference checks.
  Result<Digest> WriteManifest(std::string_view repo, std::optional<std::string_view> tag,
                               std::string_view media_type, std::string_view bytes, const ParsedManifest& parsed,
                               bool cached);
  Status DeleteTag(std::string_view repo, std::string_view tag) override;

  // store_artifacts.cc
  void NotePull(std::string_view repo, const Digest& manifest) override;
  Result<std::vector<ArtifactInfo>> ListArtifacts(std::string_view repo) override;

  // store_lists.cc
  Result<Page> ListTags(std::string_view repo, std::string_view last, size_t n) override;
  Result<Page> ListRepositories(std::string_view last, size_t n,
                                const std::function<bool(std::string_view)>& visible) override;
  bool RepositoryExists(std::string_view repo) override;
  Result<std::vector<Descriptor>> ListReferrers(std::string_view repo, const Digest& subject,
                                                std::string_view artifact_type) override;

  // store_open.cc
  Stats GetStats() override;

  // store_quotas.cc
  Result<std::vector<ProjectQuota>> ListQuotas() override;
  Result<ProjectQuota> GetQuota(int64_t id) override;
  Result<ProjectQuota> SetQuota(std::string_view project, int64_t hard) override;
  Status CheckQuota(std::string_view repo, uint64_t bytes) override;

  // store_gc.cc
  Result<GcReport> CollectGarbage(const GcOptions& options) override;
  // store_evict.cc
  Result<EvictReport> Evict(const EvictOptions& options) override;

  // kv.cc
  Result<std::shared_ptr<KvSpace>> OpenKeySpace(std::string_view name) override;

 private:
  Result<BlobInfo> StatLinkedBlob(std::string_view repo, const Digest& d);

  std::shared_ptr<StoreState> st_;
  std::mutex health_mu_;
  std::chrono::steady_clock::time_point health_at_{};
  Status health_;
};

}  // namespace pier::internal
