#pragma once
// ProgressStore: what the transfer engine knows about each destination,
// kept in RocksDB (column family repl_progress, see cache/keys.h) so that
// neither a dropped connection nor a Pier restart costs more than the chunk
// in flight.
//
//  - Upload progress: per (destination, digest) the remote upload session
//    (its latest Location), the repository it was opened in, and the
//    offset the destination acknowledged. Written after every acknowledged
//    chunk; removed when the blob is complete. A zstd copy uploaded while
//    it is being made has no digest yet: its record is under
//    "<gzip digest>/zstd-<level>" instead (transcode_push.h), moved to the
//    copy's digest once the copy is recorded.
//  - Known blobs: per (destination, digest) the destination repositories
//    known to hold the blob (uploaded, mounted, or seen by HEAD), so a blob
//    is never HEADed twice and can be mounted instead of sent.
//  - Known manifests: per (destination, digest) the destination
//    repositories that accepted the manifest (its PUT answered, or a HEAD
//    showed it there): what capacity eviction asks before it drops hosted
//    content (replication/eviction_guard.h).
// Thread-safe; every write is synced.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cache/store.h"

namespace pier::replication {

struct UploadProgress {
  std::string repo;      // destination repository the session belongs to
  std::string location;  // absolute URL to continue with
  uint64_t offset = 0;   // bytes the destination acknowledged
};

class ProgressStore {
 public:
  static Result<std::unique_ptr<ProgressStore>> Open(Store& store);
  explicit ProgressStore(std::shared_ptr<KvSpace> kv) : kv_(std::move(kv)) {}

  std::optional<UploadProgress> GetUpload(int64_t dest, std::string_view digest);
  Status PutUpload(int64_t dest, std::string_view digest, const UploadProgress& p);
  Status DeleteUpload(int64_t dest, std::string_view digest);

  // Repositories at `dest` known to hold `digest`, in name order.
  std::vector<std::string> KnownRepos(int64_t dest, std::string_view digest);
  bool IsKnown(int64_t dest, std::string_view digest, std::string_view repo);
  // Records that `repo` at `dest` holds the blob; when `upload_done` also
  // removes the upload progress, in the same batch.
  Status AddKnown(int64_t dest, std::string_view digest, std::string_view repo, bool upload_done = false);
  // Forgets one (e.g. the destination answered 404 for it after all).
  Status ForgetKnown(int64_t dest, std::string_view digest, std::string_view repo);
  // The destination accepted manifest `digest` in `repo` (so it holds
  // every blob and child manifest it references).
  Status AddKnownManifest(int64_t dest, std::string_view digest, std::string_view repo);
  bool IsKnownManifest(int64_t dest, std::string_view digest, std::string_view repo);
  // The destination's link rate from replication history (bytes/s): each
  // execution that sent enough adds its average (sent ÷ duration, a lower
  // bound of the link) to a running average. nullopt: no history.
  std::optional<double> LinkRate(int64_t dest);
  Status NoteLinkRate(int64_t dest, double bytes_per_second);
  // The zstd probe's verdict on `dest` (zstd_probe.h): "" it takes zstd
  // images, else why not; nullopt when it was never probed.
  std::optional<std::string> GetZstdVerdict(int64_t dest);
  Status PutZstdVerdict(int64_t dest, std::string_view refusal);
  // Forgets everything about a destination (its endpoint was deleted or
  // its URL changed: another registry), the zstd verdict included.
  Status ForgetDestination(int64_t dest);

 private:
  std::shared_ptr<KvSpace> kv_;
};

}  // namespace pier::replication
