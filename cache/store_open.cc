#include <algorithm>
#include <limits>

#include "base/log.h"
#include "base/names.h"
#include "cache/keys.h"
#include "cache/store_impl.h"
#include "cache/storage_marker.h"

namespace pier {

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  Layout layout(options.root);
  for (const auto& dir : {layout.MetaDir(), layout.BlobsDir(), layout.UploadsDir()}) {
    if (Status s = MakeDirs(dir); !s.ok()) return s;
  }
  auto db = options.metadata ? options.metadata() : OpenRocksDb(layout.MetaDir(), /*read_only=*/false);
  if (!db.ok()) return db.status();
  auto st = std::make_shared<internal::StoreState>(options, std::move(db).value());
  // After the database: its lock keeps two processes from racing here.
  if (Status s = CheckStorageMarker(layout, st->blobs->identity()); !s.ok()) return s;
  if (Status s = internal::Recover(*st); !s.ok()) return s;
  if (Status s = st->quotas.Load(st->db.get()); !s.ok()) return s;
  if (Status s = internal::LoadCounts(*st); !s.ok()) return s;
  if (st->db->shared()) {
    auto touches = st->db->ExtraFamily(keys::kTouches);
    if (!touches.ok()) return touches.status();
    st->shared_touches = std::make_unique<SharedTouches>(st->db.get(), *touches);
  }
  return std::unique_ptr<Store>(std::make_unique<internal::StoreImpl>(std::move(st)));
}

namespace internal {

Status StoreImpl::CheckHealth() {
  std::lock_guard lock(health_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (health_at_ != std::chrono::steady_clock::time_point{} && now - health_at_ < std::chrono::seconds(2)) {
    return health_;
  }
  Status s = st_->db->Ping();
  if (!s.ok()) {
    s = Status(s.code(), "metadata: " + s.message());
  } else if (s = st_->blobs->Ping(); !s.ok()) {
    s = Status(s.code(), "storage: " + s.message());
  }
  health_ = s;
  health_at_ = std::chrono::steady_clock::now();
  return health_;
}

Store::Stats StoreImpl::GetStats() {
  Stats s;
  if (auto counts = BlobCounts(*st_); counts.ok()) {
    s.blobs = counts->first;
    s.blob_bytes = counts->second;
  } else {
    log::Warn("reading the blob counts failed", {{"error", counts.status().ToString()}});
  }
  s.uploads = st_->upload_count.load();
  if (st_->counts) {
    // Sessions of every replica: few rows (each ends within the upload
    // expiry), so counted when asked.
    uint64_t sessions = 0;
    Status scan = st_->db->Scan(Cf::kUploads, "", "", [&](std::string_view, std::string_view) {
      ++sessions;
      return true;
    });
    if (scan.ok()) s.uploads = sessions;
  }
  s.dedup_saved_bytes = st_->dedup_saved_bytes.load();
  s.quota_refusals = st_->quota_refusals.load();
  return s;
}

void StoreState::NoteRead(std::string_view repo, std::string_view digest) {
  touches.Touch(repo, digest, Now());
  if (!shared_touches) return;
  if (Status s = shared_touches->Touch(repo, digest, Now()); !s.ok()) {
    log::Warn("recording a read for the other replicas' GC failed", {{"error", s.ToString()}});
  }
}

int64_t StoreState::LastRead(std::string_view repo, std::string_view digest) const {
  const int64_t local = touches.LastTouch(repo, digest);
  if (!shared_touches) return local;
  auto shared = shared_touches->LastTouch(repo, digest);
  // Unknown errs on keeping.
  if (!shared.ok()) return std::numeric_limits<int64_t>::max();
  return std::max(local, *shared);
}

Status CheckRepo(std::string_view repo) {
  if (!IsValidRepositoryName(repo)) return Status::InvalidArgument("invalid repository name");
  return Status::OK();
}

Status CheckBlobDigest(const Digest& d) {
  // Digests reach the store parsed; anything else cannot name a stored blob
  // and must not be turned into a path.
  if (d.algorithm != "sha256") return Status::Unsupported("only sha256 digests are stored");
  if (Result<Digest> p = Digest::Parse(d.str()); !p.ok()) return p.status();
  return Status::OK();
}

}  // namespace internal
}  // namespace pier
