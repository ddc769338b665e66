// Upload sessions: start, look up, open a writer, cancel. The durable part
// of a session is its uploads record (repo, committed offset) and its file;
// the writer slot and running hash live in the SessionTable.
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

UploadState ToState(std::string_view uuid, const records::UploadRecord& r) {
  return UploadState{std::string(uuid), r.repo, r.offset, r.started_unix};
}

}  // namespace

Result<records::UploadRecord> LoadUpload(StoreState& st, std::string_view repo, std::string_view uuid) {
  if (!IsValidUploadId(uuid)) return Status::NotFound("upload unknown");
  auto v = st.db->Get(Cf::kUploads, uuid);
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound)
      return Status::NotFound("upload " + std::string(uuid) + " unknown");
    return v.status();
  }
  records::UploadRecord r;
  if (!records::Decode(*v, &r)) return Status::Corruption("bad upload record " + std::string(uuid));
  // Another repository's session is indistinguishable from none.
  if (r.repo != repo) return Status::NotFound("upload " + std::string(uuid) + " unknown");
  return r;
}

Status DropSession(StoreState& st, const std::string& uuid) {
  WriteBatch batch;
  batch.Delete(Cf::kUploads, uuid);
  if (Status s = st.db->Write(batch); !s.ok()) return s;
  // Record first: a crash before the unlink leaves an orphan file that
  // recovery removes.
  st.sessions.DropHash(uuid);
  st.upload_count.fetch_sub(1);
  // A remote session may have a spool here (remote_upload_writer.cc).
  if (st.blobs->remote_uploads() != nullptr) (void)RemoveFile(st.layout.UploadPath(uuid));
  return st.blobs->RemoveUpload(uuid);
}

Result<UploadState> StoreImpl::StartUpload(std::string_view repo) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  // The file is created by the first writer; until then the record alone is
  // the session (recovery keeps file-less sessions at offset 0).
  st_->Served();
  records::UploadRecord rec{std::string(repo), 0, st_->Now(), {}};
  const std::string uuid = NewUploadId();
  WriteBatch batch;
  batch.Put(Cf::kUploads, uuid, records::Encode(rec));
  if (Status s = st_->db->Write(batch); !s.ok()) return s;
  st_->upload_count.fetch_add(1);
  return ToState(uuid, rec);
}

Result<UploadState> StoreImpl::GetUpload(std::string_view repo, std::string_view uuid) {
  auto rec = LoadUpload(*st_, repo, uuid);
  if (!rec.ok()) return rec.status();
  return ToState(uuid, *rec);
}

Result<std::unique_ptr<UploadWriter>> StoreImpl::OpenWriter(std::string_view repo, std::string_view uuid,
                                                            std::optional<uint64_t> expected_offset) {
  if (!IsValidUploadId(uuid)) return Status::NotFound("upload unknown");
  st_->Served();
  // Claim first, then read the record: the previous writer may have just
  // committed (and so deleted) the session.
  auto claimed = st_->sessions.Claim(std::string(uuid));
  if (!claimed.ok()) return claimed.status();
  SessionClaim claim = std::move(claimed).value();
  auto rec = LoadUpload(*st_, repo, uuid);
  if (!rec.ok()) return rec.status();
  if (expected_offset && *expected_offset != rec->offset) {
    return Status::OutOfRange("upload is at offset " + std::to_string(rec->offset) + ", not " +
                              std::to_string(*expected_offset));
  }
  if (RemoteUploads* remote = st_->blobs->remote_uploads()) {
    return NewRemoteUploadWriter(st_, std::move(claim), std::move(rec).value(), remote);
  }
  auto fd = OpenForWrite(st_->layout.UploadPath(uuid));
  if (!fd.ok()) return fd.status();
  auto size = FileSize(fd->get());
  if (!size.ok()) return size.status();
  if (*size < rec->offset)
    return Status::Corruption("upload " + std::string(uuid) + " lost acknowledged bytes");
  // Bytes past the committed offset were never acknowledged (a failed writer).
  if (*size > rec->offset) {
    if (Status s = Truncate(fd->get(), rec->offset); !s.ok()) return s;
  }
  auto hash = st_->sessions.TakeHash(claim.uuid(), rec->offset);
  if (!hash) {
    // First writer since a restart or an abort: rebuild from the file.
    hash.emplace();
    if (Status s = HashFileRange(fd->get(), &*hash, rec->offset); !s.ok()) return s;
  }
  return NewUploadWriter(st_, std::move(claim), std::move(rec).value(), std::move(fd).value(),
                         std::move(*hash));
}

Status StoreImpl::CancelUpload(std::string_view repo, std::string_view uuid) {
  if (!IsValidUploadId(uuid)) return Status::NotFound("upload unknown");
  auto claimed = st_->sessions.Claim(std::string(uuid));
  if (!claimed.ok()) return claimed.status();
  SessionClaim claim = std::move(claimed).value();
  auto rec = LoadUpload(*st_, repo, uuid);
  if (!rec.ok()) return rec.status();
  return DropSession(*st_, claim.uuid());
}

}  // namespace pier::internal
