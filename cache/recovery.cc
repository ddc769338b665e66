// Startup recovery (Store::Open): brings files and records back in line
// after a crash, then loads the counters GetStats reports.
//  - upload sessions: expired ones go; bytes past the committed offset were
//    never acknowledged and are cut off; sessions whose acknowledged bytes
//    are gone are dropped.
//  - files in uploads/ without a session, and files under blobs/ without a
//    blob record (a crash between rename and batch, or between a delete's
//    batch and unlink), are removed.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cache/store_impl.h"
#include "base/internal_errors.h"

namespace pier::internal {
namespace {

namespace fs = std::filesystem;

// Recovery removes leftovers; one it cannot remove is tried again at the next
// start, so it is reported, not fatal.
void RemoveOrReport(const fs::path& p) {
  if (Status s = RemoveFile(p); !s.ok()) ReportInternalError("store", "removing a leftover file failed", s);
}

enum class Verdict { kKeep, kDropRecord, kDropRecordAndFile };

Verdict Judge(const StoreState& st, const records::UploadRecord& rec, const FileFacts& file) {
  if (UploadExpired(st, rec, file)) return Verdict::kDropRecordAndFile;
  // A session that never got a writer has no file yet; nothing was lost.
  if (!file.exists) return rec.offset == 0 ? Verdict::kKeep : Verdict::kDropRecord;
  if (file.size < rec.offset) return Verdict::kDropRecordAndFile;
  return Verdict::kKeep;
}

// Cuts a session file back to its committed offset.
Status TruncateUpload(const fs::path& path, uint64_t offset) {
  auto fd = OpenForWrite(path);
  if (!fd.ok()) return fd.status();
  return Truncate(fd->get(), offset);
}

// Returns the ids of the sessions kept.
Result<std::unordered_set<std::string>> RecoverUploads(StoreState& st) {
  std::vector<std::pair<std::string, std::string>> all;
  Status s = st.db->Scan(Cf::kUploads, "", "", [&](std::string_view k, std::string_view v) {
    all.emplace_back(k, v);
    return true;
  });
  if (!s.ok()) return s;
  std::unordered_set<std::string> kept;
  std::vector<fs::path> doomed_files;
  WriteBatch batch;
  for (const auto& [uuid, value] : all) {
    records::UploadRecord rec;
    if (!IsValidUploadId(uuid) || !records::Decode(value, &rec)) {
      batch.Delete(Cf::kUploads, uuid);
      continue;  // a file with this name, if any, goes with the stray files
    }
    const fs::path path = st.layout.UploadPath(uuid);
    const FileFacts file = StatFile(path);
    switch (Judge(st, rec, file)) {
      case Verdict::kKeep:
        if (file.size > rec.offset) {
          if (Status t = TruncateUpload(path, rec.offset); !t.ok()) return t;
        }
        kept.insert(uuid);
        break;
      case Verdict::kDropRecordAndFile:
        doomed_files.push_back(path);
        [[fallthrough]];
      case Verdict::kDropRecord:
        batch.Delete(Cf::kUploads, uuid);
        break;
    }
  }
  if (batch.size() > 0) {
    if (Status w = st.db->Write(batch); !w.ok()) return w;
  }
  for (const auto& p : doomed_files) RemoveOrReport(p);
  st.upload_count.store(kept.size());
  return kept;
}

Status RemoveStrayUploadFiles(const StoreState& st, const std::unordered_set<std::string>& kept) {
  auto names = ListDir(st.layout.UploadsDir());
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    // Only regular files: anything else was not put there by the store.
    if (!kept.contains(name) && StatFile(st.layout.UploadsDir() / name).exists) {
      RemoveOrReport(st.layout.UploadsDir() / name);
    }
  }
  return Status::OK();
}

bool IsShardName(std::string_view s) {
  return s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A blob file is kept only at its proper path and with its blob record.
Result<bool> IsKnownBlobFile(const StoreState& st, std::string_view shard, const std::string& name) {
  auto d = Digest::Parse("sha256:" + name);
  if (!d.ok() || !name.starts_with(shard)) return false;
  return st.db->Has(Cf::kBlobs, d->str());
}

Status RemoveOrphansInShard(const StoreState& st, const std::string& shard) {
  auto names = ListDir(st.layout.BlobsDir() / shard);
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    auto known = IsKnownBlobFile(st, shard, name);
    if (!known.ok()) return known.status();
    if (!*known && StatFile(st.layout.BlobsDir() / shard / name).exists) {
      RemoveOrReport(st.layout.BlobsDir() / shard / name);
    }
  }
  return Status::OK();
}

Status RemoveOrphanBlobFiles(const StoreState& st) {
  auto names = ListDir(st.layout.BlobsDir());
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    if (StatFile(st.layout.BlobsDir() / name).exists) {
      RemoveOrReport(st.layout.BlobsDir() / name);  // a regular file here is a stray temp file
    } else if (IsShardName(name)) {
      if (Status s = RemoveOrphansInShard(st, name); !s.ok()) return s;
    }
  }
  return Status::OK();
}

Status LoadBlobCounters(StoreState& st) {
  uint64_t count = 0;
  uint64_t bytes = 0;
  Status s = st.db->Scan(Cf::kBlobs, "", "", [&](std::string_view, std::string_view v) {
    records::BlobRecord r;
    if (records::Decode(v, &r)) {
      ++count;
      bytes += r.size;
    }
    return true;
  });
  st.blob_count.store(count);
  st.blob_bytes.store(bytes);
  return s;
}

}  // namespace

FileFacts StatFile(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return FileFacts{true, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)};
}

FileFacts UploadFacts(const StoreState& st, std::string_view uuid) {
  auto obj = st.blobs->StatUpload(uuid);
  if (!obj.ok() || !obj->has_value()) return {};
  return FileFacts{true, (*obj)->size, (*obj)->mtime_unix};
}

bool UploadExpired(const StoreState& st, const records::UploadRecord& rec, const FileFacts& file) {
  // Idle time counts from the last write, which the file's mtime records.
  const int64_t last_active = std::max(rec.started_unix, file.mtime_unix);
  return st.Now() - last_active > st.options.upload_max_age_seconds;
}

Status Recover(StoreState& st) {
  // The file pass is for a data folder this process owns. Bytes in a remote
  // storage may be another replica's work in progress: garbage collection
  // judges those by age instead (store_gc_files.cc).
  if (dynamic_cast<const LocalBlobStorage*>(st.blobs.get()) != nullptr) {
    auto kept = RecoverUploads(st);
    if (!kept.ok()) return kept.status();
    if (Status s = RemoveStrayUploadFiles(st, *kept); !s.ok()) return s;
    if (Status s = RemoveOrphanBlobFiles(st); !s.ok()) return s;
  } else {
    // Spools of remote sessions (remote_upload_writer.cc) only serve the
    // readers of a fill in progress: none survives a restart.
    if (auto names = ListDir(st.layout.UploadsDir()); names.ok()) {
      for (const auto& n : *names) (void)RemoveFile(st.layout.UploadsDir() / n);
    }
    uint64_t sessions = 0;
    Status s = st.db->Scan(Cf::kUploads, "", "", [&](std::string_view, std::string_view) {
      ++sessions;
      return true;
    });
    if (!s.ok()) return s;
    st.upload_count.store(sessions);
  }
  // Shared records keep their counts in the database (CountedBatch).
  return st.db->shared() ? Status::OK() : LoadBlobCounters(st);
}

}  // namespace pier::internal
