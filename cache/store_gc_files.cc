// The whole-store passes of a garbage collection run, after the repository
// sweeps (store_gc.cc):
//  - blob records no repository links any more (a crash between batches of
//    an older Pier, or damage repaired by hand), past the grace period;
//  - upload sessions idle for longer than uploads.max_age_hours, taken only
//    when no request is writing to them (the session's writer slot);
//  - files a crash left behind: upload files without a session, blob files
//    without a record, past the grace period. Recovery removes the same at
//    startup; here they go without a restart.
// Every removal re-checks under the lock the store's writers take (blob
// stripe or session slot), so nothing a concurrent request is creating goes.
#include <string>
#include <utility>
#include <vector>

#include "cache/keys.h"
#include "cache/store_gc.h"

namespace pier::internal {
namespace {

bool HasLinks(const Db& db, const std::string& digest, Status* error) {
  bool any = false;
  *error = db.Scan(Cf::kBlobRepos, keys::Prefix(digest), "", [&](std::string_view, std::string_view) {
    any = true;
    return false;
  });
  return any;
}

}  // namespace

// Every kBatch items of a whole-store pass, GC gives way to requests (Pace).
class GcRun::Pacer {
 public:
  explicit Pacer(const GcRun& run)
      : run_(run), started_(std::chrono::steady_clock::now()), seen_(run.st_.requests.load()) {}
  void Step() {
    if (++n_ % kBatch == 0) run_.Pace(&started_, &seen_);
  }

 private:
  static constexpr size_t kBatch = 256;
  const GcRun& run_;
  std::chrono::steady_clock::time_point started_;
  uint64_t seen_;
  size_t n_ = 0;
};

Status GcRun::SweepUnlinkedBlobs() {
  Db& db = *st_.db;
  std::vector<Digest> old;
  Status s = db.Scan(Cf::kBlobs, "", "", [&](std::string_view key, std::string_view value) {
    records::BlobRecord r;
    if (!records::Decode(value, &r) || !Old(r.created_unix)) return true;
    if (auto d = Digest::Parse(key); d.ok()) old.push_back(std::move(d).value());
    return true;
  });
  if (!s.ok()) return s;
  Pacer pacer(*this);
  for (const auto& d : old) {
    if (Stopping()) return Status::OK();
    pacer.Step();
    Status scan;
    if (HasLinks(db, d.str(), &scan) || !scan.ok()) {
      if (!scan.ok()) return scan;
      continue;
    }
    // A derived blob (a transcode) a replication is about to send.
    if (Pinned("", d.str())) {
      ++report_.pinned_blobs;
      continue;
    }
    auto lock = st_.blob_locks.Lock(d.hex);
    PIER_TRY(lock);
    if (HasLinks(db, d.str(), &scan) || !scan.ok()) {
      if (!scan.ok()) return scan;
      continue;
    }
    auto v = db.Get(Cf::kBlobs, d.str());
    records::BlobRecord r;
    if (!v.ok() || !records::Decode(*v, &r)) continue;
    Log("delete blob " + d.str() + " (" + std::to_string(r.size) + " bytes, linked by no repository)");
    ++report_.blobs_deleted;
    report_.blob_bytes_deleted += r.size;
    if (o_.dry_run) continue;
    CountedBatch batch(st_);
    batch.batch().Delete(Cf::kBlobs, d.str());
    batch.CountBlob(-1, -static_cast<int64_t>(r.size));
    if (Status w = batch.Write(); !w.ok()) return w;
    if (Status rm = st_.blobs->Remove(d); !rm.ok()) return rm;
  }
  return Status::OK();
}

Status GcRun::SweepUploads() {
  std::vector<std::pair<std::string, records::UploadRecord>> sessions;
  Status s = st_.db->Scan(Cf::kUploads, "", "", [&](std::string_view key, std::string_view value) {
    records::UploadRecord r;
    if (IsValidUploadId(key) && records::Decode(value, &r)) sessions.emplace_back(std::string(key), std::move(r));
    return true;
  });
  if (!s.ok()) return s;
  Pacer pacer(*this);
  for (const auto& [uuid, rec] : sessions) {
    if (Stopping()) return Status::OK();
    pacer.Step();
    const FileFacts file = UploadFacts(st_, uuid);
    if (!UploadExpired(st_, rec, file)) continue;
    // A request writing to it now makes it active: leave it.
    auto claim = st_.sessions.Claim(uuid);
    if (!claim.ok()) continue;  // in use now (or the database is away: next run)
    auto still = st_.db->Has(Cf::kUploads, uuid);
    if (!still.ok()) return still.status();
    // Re-read under the claim: a write that ended since the scan renewed it.
    if (!*still || !UploadExpired(st_, rec, UploadFacts(st_, uuid))) continue;
    Log("delete upload " + uuid + " of " + rec.repo + " (" + std::to_string(file.size) + " bytes, idle since " +
        std::to_string(std::max(rec.started_unix, file.mtime_unix)) + ")");
    ++report_.uploads_deleted;
    report_.upload_bytes_deleted += file.size;
    if (o_.dry_run) continue;
    if (Status d = DropSession(st_, uuid); !d.ok()) return d;
  }
  return Status::OK();
}

Status GcRun::SweepOrphanFiles() {
  if (Status s = SweepOrphanUploadFiles(); !s.ok()) return s;
  return SweepOrphanBlobFiles();
}

Status GcRun::SweepOrphanUploadFiles() {
  std::vector<StoredObject> objects;
  Status listed = st_.blobs->ListUploads([&](const StoredObject& o) {
    // Not the store's names: recovery judges them.
    if (IsValidUploadId(o.name) && Old(o.mtime_unix)) objects.push_back(o);
    return !Stopping();
  });
  if (!listed.ok()) return listed;
  Pacer pacer(*this);
  for (const StoredObject& file : objects) {
    if (Stopping()) return Status::OK();
    pacer.Step();
    const std::string& name = file.name;
    auto claim = st_.sessions.Claim(name);
    if (!claim.ok()) continue;
    // Sessions are recorded before their file exists and forgotten before
    // it goes, so a file without a record under the claim is a leftover.
    auto recorded = st_.db->Has(Cf::kUploads, name);
    if (!recorded.ok()) return recorded.status();
    if (*recorded) continue;
    Log("delete leftover upload file " + name + " (" + std::to_string(file.size) + " bytes)");
    ++report_.orphans_deleted;
    report_.orphan_bytes_deleted += file.size;
    if (o_.dry_run) continue;
    if (Status rm = st_.blobs->RemoveUpload(name); !rm.ok()) return rm;
  }
  return Status::OK();
}

// Blob objects without a record: a crash between a commit's Promote and its
// record, or between a delete's record and its object. Only those older
// than the grace period go: a younger one may be a commit in progress (on a
// shared storage, another replica's).
Status GcRun::SweepOrphanBlobFiles() {
  std::vector<StoredObject> candidates;
  Pacer pacer(*this);
  Status s = st_.blobs->ListBlobs([&](const StoredObject& o) {
    if (Stopping()) return false;
    pacer.Step();
    if (!Old(o.mtime_unix)) return true;
    // Almost every object has its record: look without the lock first, so
    // the pass does not queue behind (or hold up) the commits that take it.
    auto known = st_.db->Has(Cf::kBlobs, "sha256:" + o.name);
    if (!known.ok() || *known) return true;
    candidates.push_back(o);
    return true;
  });
  if (!s.ok()) return s;
  for (const StoredObject& file : candidates) {
    if (Stopping()) return Status::OK();
    pacer.Step();
    auto d = Digest::Parse("sha256:" + file.name);
    if (!d.ok()) continue;
    // A commit places the object and writes the record under this lock.
    auto lock = st_.blob_locks.Lock(d->hex);
    PIER_TRY(lock);
    auto known = st_.db->Has(Cf::kBlobs, d->str());
    if (!known.ok()) return known.status();
    if (*known) continue;
    auto now = st_.blobs->Stat(*d);
    if (!now.ok()) return now.status();
    if (!now->has_value() || !Old((*now)->mtime_unix)) continue;
    Log("delete leftover blob file " + d->str() + " (" + std::to_string((*now)->size) + " bytes)");
    ++report_.orphans_deleted;
    report_.orphan_bytes_deleted += (*now)->size;
    if (o_.dry_run) continue;
    if (Status rm = st_.blobs->Remove(*d); !rm.ok()) return rm;
  }
  return Status::OK();
}

}  // namespace pier::internal
