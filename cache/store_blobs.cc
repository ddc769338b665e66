// Blobs: commit of verified uploads, stat/open, links (mount) and deletion.
// Every change to a digest's file or records holds that digest's stripe of
// blob_locks, so a delete never removes a file a commit is about to link.
#include "cache/keys.h"
#include "base/internal_errors.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

std::string LinkKey(std::string_view repo, const Digest& d) { return keys::Join(repo, d.str()); }
std::string ReverseKey(const Digest& d, std::string_view repo) { return keys::Join(d.str(), repo); }

Result<records::BlobRecord> LoadBlobRecord(const Db& db, const Digest& d) {
  auto v = db.Get(Cf::kBlobs, d.str());
  if (!v.ok()) return v.status();
  records::BlobRecord r;
  if (!records::Decode(*v, &r)) return Status::Corruption("bad blob record for " + d.str());
  return r;
}

BlobInfo ToInfo(const Digest& d, const records::BlobRecord& r) { return BlobInfo{d, r.size, r.created_unix}; }

// The link records when the repository got the blob: garbage collection
// leaves an unreferenced link alone for the grace period after that. A link
// new to the repository adds the blob to its project's usage (when no other
// repository of the project holds it), refused with QuotaExceeded when
// `enforce` and past the limit; the batch undoes that unless written.
Status AddLink(StoreState& st, CountedBatch* cb, std::string_view repo, const Digest& d, uint64_t size,
               bool enforce) {
  Db& db = *st.db;
  st.Served();
  auto exists = db.Has(Cf::kLinks, LinkKey(repo, d));
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    const std::string_view project = ProjectOf(repo);
    if (Status q = cb->AddHolder(project, ProjectUsage::Kind::kBlob, d.str(), size,
                                 enforce ? st.quotas.Limit(project) : -1);
        !q.ok()) {
      return q;
    }
  }
  WriteBatch& b = cb->batch();
  b.Put(Cf::kLinks, LinkKey(repo, d), records::EncodeLinkTime(st.Now()));
  b.Put(Cf::kBlobRepos, ReverseKey(d, repo), "");
  b.Put(Cf::kRepos, repo, "");
  return Status::OK();
}

// True when some repository other than `repo` still links to `d`.
Result<bool> LinkedElsewhere(const Db& db, const Digest& d, std::string_view repo) {
  const std::string prefix = keys::Prefix(d.str());
  bool found = false;
  Status s = db.Scan(Cf::kBlobRepos, prefix, "", [&](std::string_view key, std::string_view) {
    found = key.substr(prefix.size()) != repo;
    return !found;
  });
  if (!s.ok()) return s;
  return found;
}

}  // namespace

Result<BlobInfo> CommitBlob(StoreState& st, const std::string& uuid, const std::string& repo, const Digest& d,
                            uint64_t size, records::Origin origin) {
  const bool cached = origin == records::Origin::kCached;
  const bool derived = origin == records::Origin::kDerived;
  auto lock = st.blob_locks.Lock(d.hex);
  PIER_TRY(lock);
  Db& db = *st.db;
  auto existing = LoadBlobRecord(db, d);
  if (!existing.ok() && existing.status().code() != Code::kNotFound) return existing.status();
  const bool new_record = !existing.ok();
  if (!new_record && existing->size != size) {
    return Status::Corruption("stored blob " + d.str() + " has a different size");
  }
  // The quota is checked before the file moves: a refused upload leaves
  // nothing behind, its session included.
  CountedBatch batch(st);
  Status q = derived ? Status::OK() : AddLink(st, &batch, repo, d, size, !cached);
  if (!q.ok()) {
    if (q.code() == Code::kQuotaExceeded) {
      if (Status s = DropSession(st, uuid); !s.ok()) ReportInternalError("store", "dropping a refused upload failed", s);
    }
    return q;
  }
  // Global dedup: with the file in place the upload copy is dropped. A file
  // without a record (a crash before the batch) holds the same bytes and a
  // record without a file (damage) is repaired: the rename replaces either.
  bool keep_existing_file = false;
  if (!new_record) {
    auto stored = st.blobs->Stat(d);
    if (!stored.ok()) return stored.status();
    keep_existing_file = stored->has_value();
  }
  if (!keep_existing_file) {
    if (Status s = st.blobs->Promote(uuid, d); !s.ok()) return s;
  }
  const records::BlobRecord rec =
      new_record ? records::BlobRecord{size, st.Now(), origin}
                 : *existing;
  if (new_record) {
    batch.batch().Put(Cf::kBlobs, d.str(), records::Encode(rec));
    batch.CountBlob(1, static_cast<int64_t>(size));
  }
  batch.batch().Delete(Cf::kUploads, uuid);
  if (Status s = batch.Write(); !s.ok()) {
    // Put the bytes back in the session (its record still says so), so a
    // retried PUT commits them once the database takes writes again.
    if (!keep_existing_file) {
      if (Status back = st.blobs->Unpromote(d, uuid); !back.ok())
        ReportInternalError("store", "returning an uncommitted blob to its upload failed", back);
    }
    return s;
  }
  // The blob is committed; a leftover upload object (a duplicate, or a copy
  // a remote Promote left) only costs space until GC or recovery.
  if (Status s = st.blobs->RemoveUpload(uuid); !s.ok())
    ReportInternalError("store", "removing a committed upload's bytes failed", s);
  st.sessions.DropHash(uuid);
  st.upload_count.fetch_sub(1);
  if (!new_record && keep_existing_file) {
    st.dedup_saved_bytes.fetch_add(size);  // the upload's copy was dropped
  }
  return ToInfo(d, rec);
}

Status UnlinkBlobLocked(StoreState& st, std::string_view repo, const Digest& d, uint64_t* freed_bytes) {
  *freed_bytes = 0;
  Db& db = *st.db;
  auto linked = db.Has(Cf::kLinks, LinkKey(repo, d));
  if (!linked.ok()) return linked.status();
  if (!*linked) return Status::NotFound("blob " + d.str() + " unknown to repository");
  auto elsewhere = LinkedElsewhere(db, d, repo);
  if (!elsewhere.ok()) return elsewhere.status();
  auto rec = LoadBlobRecord(db, d);
  const bool last = !*elsewhere && rec.ok();
  CountedBatch batch(st);
  batch.batch().Delete(Cf::kLinks, LinkKey(repo, d));
  batch.batch().Delete(Cf::kBlobRepos, ReverseKey(d, repo));
  if (Status s = batch.RemoveHolder(ProjectOf(repo), ProjectUsage::Kind::kBlob, d.str()); !s.ok()) return s;
  if (last) {
    batch.batch().Delete(Cf::kBlobs, d.str());
    batch.CountBlob(-1, -static_cast<int64_t>(rec->size));
  }
  if (Status s = batch.Write(); !s.ok()) return s;
  if (!last) return Status::OK();
  // Records first, file second: a crash in between leaves an orphan file,
  // which recovery removes, never a record without its file.
  *freed_bytes = rec->size;
  return st.blobs->Remove(d);
}

Result<int64_t> LinkTime(const StoreState& st, std::string_view repo, const Digest& d) {
  auto v = st.db->Get(Cf::kLinks, LinkKey(repo, d));
  if (!v.ok()) return v.status();
  int64_t t = 0;
  if (!records::DecodeLinkTime(*v, &t)) return Status::Corruption("bad link time for " + d.str());
  return t;
}

Result<BlobInfo> StoreImpl::StatLinkedBlob(std::string_view repo, const Digest& d) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  if (Status s = CheckBlobDigest(d); !s.ok()) return s;
  auto linked = st_->db->Has(Cf::kLinks, LinkKey(repo, d));
  if (!linked.ok()) return linked.status();
  if (!*linked) return Status::NotFound("blob " + d.str() + " unknown to repository");
  auto rec = LoadBlobRecord(*st_->db, d);
  if (!rec.ok()) return rec.status();
  return ToInfo(d, *rec);
}

Result<BlobInfo> StoreImpl::StatBlob(std::string_view repo, const Digest& d) {
  auto stat = StatLinkedBlob(repo, d);
  if (stat.ok()) st_->NoteRead(repo, d.str());
  st_->Served();
  return stat;
}

Result<std::unique_ptr<BlobReader>> StoreImpl::OpenBlobReader(std::string_view repo, const Digest& d,
                                                              BlobInfo* info) {
  auto stat = StatLinkedBlob(repo, d);
  if (!stat.ok()) return stat.status();
  // No lock needed: a reader opened before a concurrent delete keeps the bytes.
  auto reader = st_->blobs->Open(d);
  if (!reader.ok()) return reader.status();
  if (info != nullptr) *info = *stat;
  st_->NoteRead(repo, d.str());
  st_->Served();
  return reader;
}

Result<UniqueFd> StoreImpl::OpenBlob(std::string_view repo, const Digest& d, BlobInfo* info) {
  auto reader = OpenBlobReader(repo, d, info);
  if (!reader.ok()) return reader.status();
  return (*reader)->TakeFd();
}

Status StoreImpl::DeleteBlob(std::string_view repo, const Digest& d) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  if (Status s = CheckBlobDigest(d); !s.ok()) return s;
  auto lock = st_->blob_locks.Lock(d.hex);
  PIER_TRY(lock);
  uint64_t freed = 0;
  return UnlinkBlobLocked(*st_, repo, d, &freed);
}

Result<BlobInfo> StoreImpl::MountBlob(std::string_view repo, std::string_view from, const Digest& d) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  auto lock = st_->blob_locks.Lock(d.hex);
  PIER_TRY(lock);
  auto info = StatLinkedBlob(from, d);
  if (!info.ok() || repo == from) return info;
  CountedBatch batch(*st_);
  if (Status q = AddLink(*st_, &batch, repo, d, info->size, true); !q.ok()) return q;
  if (Status s = batch.Write(); !s.ok()) return s;
  st_->dedup_saved_bytes.fetch_add(info->size);
  return info;
}

Result<BlobInfo> StoreImpl::LinkStoredBlob(std::string_view repo, const Digest& d) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  if (Status s = CheckBlobDigest(d); !s.ok()) return s;
  auto lock = st_->blob_locks.Lock(d.hex);
  PIER_TRY(lock);
  if (auto linked = StatLinkedBlob(repo, d); linked.ok()) return linked;
  auto rec = LoadBlobRecord(*st_->db, d);
  if (!rec.ok()) return rec.status();
  CountedBatch batch(*st_);
  if (Status q = AddLink(*st_, &batch, repo, d, rec->size, false); !q.ok()) return q;
  if (Status s = batch.Write(); !s.ok()) return s;
  st_->dedup_saved_bytes.fetch_add(rec->size);
  return ToInfo(d, *rec);
}

Result<std::unique_ptr<BlobReader>> StoreImpl::OpenStoredBlobReader(const Digest& d, BlobInfo* info) {
  if (Status s = CheckBlobDigest(d); !s.ok()) return s;
  auto rec = LoadBlobRecord(*st_->db, d);
  if (!rec.ok()) return rec.status();
  // No lock needed: a reader opened before a concurrent delete keeps the bytes.
  auto reader = st_->blobs->Open(d);
  if (!reader.ok()) return reader.status();
  if (info != nullptr) *info = ToInfo(d, *rec);
  st_->Served();
  return reader;
}

Result<UniqueFd> StoreImpl::OpenStoredBlob(const Digest& d, BlobInfo* info) {
  auto reader = OpenStoredBlobReader(d, info);
  if (!reader.ok()) return reader.status();
  return (*reader)->TakeFd();
}

bool StoreImpl::BlobStored(const Digest& d) {
  if (!CheckBlobDigest(d).ok()) return false;
  return LoadBlobRecord(*st_->db, d).ok();
}

}  // namespace pier::internal
