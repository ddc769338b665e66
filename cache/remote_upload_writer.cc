// RemoteUploadWriter: an upload session whose bytes go to a remote storage
// (RemoteUploads: S3 multipart parts plus a tail object). Full parts leave
// as soon as they fill; Flush stores the short tail and records the parts,
// the tail and the running SHA-256 state in the session's record, so the
// next PATCH may land on any replica, after any restart. Commit verifies the
// hash before anything is placed under the digest.
//
// Spool: a pull-through fill lets clients read a blob while it arrives
// (KeepBuffered, then OpenReader). Remote bytes are no file to follow, so
// such a writer also writes every byte to a spool file in this replica's
// data folder (<data>/uploads/<uuid>), which readers follow; it is removed
// when the session ends (readers holding it keep reading), and any left by
// a crash at the next start. Only the replica that fills has the spool; a
// session continued elsewhere has none (OpenReader: Unsupported).
//
// Memory: one part (part_size) plus the chunk being appended. A part is
// uploaded on the calling thread: an I/O thread waits for it, as the local
// writer waits for a free direct-I/O buffer (a second buffer and a sender
// thread would overlap the two; not done yet).
#include "base/internal_errors.h"
#include "cache/remote_upload_state.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

class RemoteUploadWriter final : public UploadWriter {
 public:
  RemoteUploadWriter(std::shared_ptr<StoreState> st, SessionClaim claim, records::UploadRecord rec,
                     RemoteUploads* remote)
      : st_(std::move(st)), claim_(std::move(claim)), rec_(std::move(rec)), remote_(remote), size_(rec_.offset) {}

  ~RemoteUploadWriter() override {
    if (!done_) Abort();
    // The session ended (committed, or dropped as a wrong blob): the spool
    // goes; open readers keep the bytes.
    if (done_ && spool_.get() >= 0) (void)RemoveFile(SpoolPath());
  }

  // Loads the recorded state: parts, tail bytes and hash.
  Status Load() {
    state_ = RemoteUploadState{};
    pending_.clear();
    sha_ = Sha256();
    if (!rec_.remote.empty()) {
      auto s = DecodeRemoteState(rec_.remote);
      if (!s.ok()) return s.status();
      state_ = std::move(*s);
      auto sha = Sha256::RestoreState(state_.sha);
      if (!sha.ok()) return sha.status();
      sha_ = std::move(*sha);
    }
    if (state_.parts_bytes + state_.tail != rec_.offset || sha_.bytes() != rec_.offset ||
        state_.parts_bytes != state_.parts.size() * remote_->part_size()) {
      return Status::Corruption("upload " + claim_.uuid() + " record disagrees with its stored state");
    }
    if (state_.tail > 0) {
      auto tail = remote_->GetTail(claim_.uuid(), state_.parts_bytes, state_.tail);
      if (!tail.ok()) return tail.status();
      pending_ = std::move(*tail);
    }
    size_ = rec_.offset;
    recorded_tail_start_ = state_.parts_bytes;
    recorded_tail_ = state_.tail;
    stale_ = false;
    return Status::OK();
  }

  Status Append(std::span<const char> data) override {
    if (done_) return Ended();
    if (data.empty()) return Status::OK();
    if (stale_) {
      if (Status s = Load(); !s.ok()) return s;
    }
    if (spool_.get() >= 0) {
      if (Status s = WriteAt(spool_.get(), size_, data); !s.ok()) return s;
    }
    sha_.Update(data);
    pending_.append(data.data(), data.size());
    size_ += data.size();
    while (pending_.size() >= remote_->part_size()) {
      if (Status s = SendPart(); !s.ok()) {
        stale_ = true;  // the hash ran ahead of what is stored: reload
        return s;
      }
    }
    return Status::OK();
  }

  Status Flush() override {
    if (done_) return Ended();
    if (stale_ || size_ == rec_.offset) return Status::OK();
    if (!pending_.empty()) {
      if (Status s = remote_->PutTail(claim_.uuid(), state_.parts_bytes, pending_); !s.ok()) return s;
    }
    state_.tail = pending_.size();
    state_.sha = sha_.SaveState();
    records::UploadRecord next = rec_;
    next.offset = size_;
    next.remote = EncodeRemoteState(state_);
    WriteBatch batch;
    batch.Put(Cf::kUploads, claim_.uuid(), records::Encode(next));
    if (Status s = st_->db->Write(batch); !s.ok()) return s;
    rec_ = std::move(next);
    // The record now names the new tail; the old one is garbage.
    if (recorded_tail_ > 0 && (recorded_tail_start_ != state_.parts_bytes || recorded_tail_ != state_.tail)) {
      if (Status s = remote_->DeleteTail(claim_.uuid(), recorded_tail_start_, recorded_tail_); !s.ok())
        ReportInternalError("store", "deleting an upload's old tail failed", s);
    }
    recorded_tail_start_ = state_.parts_bytes;
    recorded_tail_ = state_.tail;
    return Status::OK();
  }

  Result<BlobInfo> Commit(const Digest& expected) override {
    if (done_) return Ended();
    if (Status s = CheckBlobDigest(expected); !s.ok()) return s;
    if (stale_) {
      if (Status s = Load(); !s.ok()) return s;
    }
    done_ = true;
    const Digest actual = sha_.Finish();
    if (actual != expected) {
      if (Status s = DropSession(*st_, claim_.uuid()); !s.ok())
        ReportInternalError("store", "dropping an upload that failed verification failed", s);
      return Status::DigestMismatch("upload hashes to " + actual.str() + ", not " + expected.str());
    }
    if (Status s = remote_->Assemble(claim_.uuid(), state_.upload_id, state_.parts, pending_); !s.ok()) {
      done_ = false;
      stale_ = true;
      return s;
    }
    pending_.clear();
    pending_.shrink_to_fit();
    return CommitBlob(*st_, claim_.uuid(), rec_.repo, expected, size_, origin_);
  }

  void Abort() override {
    if (done_ || size_ == rec_.offset) return;
    // Parts sent since the last Flush are not recorded: the next writer
    // sends those numbers again, replacing them.
    stale_ = true;
    pending_.clear();
    size_ = rec_.offset;
  }

  void KeepBuffered() override {
    if (spool_.get() >= 0) return;
    // A spool that lacks bytes the session already has (the session began
    // on another replica, or before a restart) cannot be followed.
    auto fd = OpenForWrite(SpoolPath());
    if (!fd.ok()) return;
    auto have = FileSize(fd->get());
    if (!have.ok() || *have < size_) return;
    spool_ = std::move(*fd);
  }
  void MarkCached() override { origin_ = records::Origin::kCached; }
  void MarkDerived() override { origin_ = records::Origin::kDerived; }
  Result<UniqueFd> OpenReader() override {
    if (spool_.get() < 0) return Status::Unsupported("upload bytes are in remote storage: no spool file to follow");
    return OpenForRead(SpoolPath());
  }
  uint64_t size() const override { return size_; }

 private:
  Status Ended() const { return Status::FailedPrecondition("upload already committed"); }
  std::filesystem::path SpoolPath() const { return st_->layout.UploadPath(claim_.uuid()); }

  Status SendPart() {
    const uint64_t part = remote_->part_size();
    if (state_.upload_id.empty()) {
      auto id = remote_->BeginParts(claim_.uuid());
      if (!id.ok()) return id.status();
      state_.upload_id = *id;
    }
    const int number = static_cast<int>(state_.parts.size()) + 1;
    auto etag = remote_->PutPart(claim_.uuid(), state_.upload_id, number,
                                 std::string_view(pending_).substr(0, static_cast<size_t>(part)));
    if (!etag.ok()) return etag.status();
    state_.parts.push_back(UploadPart{number, *etag});
    state_.parts_bytes += part;
    pending_.erase(0, static_cast<size_t>(part));
    return Status::OK();
  }

  std::shared_ptr<StoreState> st_;
  SessionClaim claim_;
  records::UploadRecord rec_;  // rec_.offset: the flushed size
  RemoteUploads* remote_;
  RemoteUploadState state_;  // as of size_ (parts may run ahead of rec_)
  std::string pending_;      // bytes past state_.parts_bytes
  Sha256 sha_;               // of the first size_ bytes
  uint64_t recorded_tail_start_ = 0;  // the tail object rec_ names (deleted once replaced)
  uint64_t recorded_tail_ = 0;
  uint64_t size_;
  bool stale_ = true;  // state_/pending_/sha_ must be (re)loaded from rec_
  bool done_ = false;
  records::Origin origin_ = records::Origin::kLocal;
  UniqueFd spool_;  // -1: no spool (see the top of the file)
};

}  // namespace

Result<std::unique_ptr<UploadWriter>> NewRemoteUploadWriter(std::shared_ptr<StoreState> st, SessionClaim claim,
                                                            records::UploadRecord record, RemoteUploads* remote) {
  auto w = std::make_unique<RemoteUploadWriter>(std::move(st), std::move(claim), std::move(record), remote);
  if (Status s = w->Load(); !s.ok()) return s;
  return std::unique_ptr<UploadWriter>(std::move(w));
}

}  // namespace pier::internal
