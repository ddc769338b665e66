#include "base/names.h"
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
  if (Status s = internal::LoadProjectUsage(*st); !s.ok()) return s;
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
  s.blobs = st_->blob_count.load();
  s.blob_bytes = st_->blob_bytes.load();
  s.uploads = st_->upload_count.load();
  s.dedup_saved_bytes = st_->dedup_saved_bytes.load();
  s.quota_refusals = st_->quota_refusals.load();
  return s;
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
