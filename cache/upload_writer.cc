// UploadWriter: appends to one session's file while hashing, makes appended
// bytes durable on Flush, and on Commit verifies the digest and hands the
// file to CommitBlob. The writer owns the session's writer slot (its
// SessionClaim) for its whole life.
#include <algorithm>
#include <vector>

#include "cache/direct_appender.h"
#include "base/internal_errors.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

// Writeback is started every this many appended bytes so dirty pages drain
// while the upload streams and the final fsync has little left to do.
constexpr uint64_t kWritebackChunk = 8ull << 20;
constexpr size_t kHashBufferSize = 1 << 20;
// A writer switches to direct I/O once it has appended this much: small
// blobs and chunks stay on the cheap buffered path (no buffers, no thread).
constexpr uint64_t kDirectAfter = 4ull << 20;

class UploadWriterImpl final : public UploadWriter {
 public:
  UploadWriterImpl(std::shared_ptr<StoreState> st, SessionClaim claim, records::UploadRecord rec, UniqueFd fd,
                   HashState hash)
      : st_(std::move(st)),
        claim_(std::move(claim)),
        rec_(std::move(rec)),
        fd_(std::move(fd)),
        hash_(std::move(hash)),
        size_(rec_.offset),
        writeback_from_(rec_.offset) {}

  ~UploadWriterImpl() override {
    if (done_) return;
    Abort();  // unflushed bytes were never acknowledged
    // Keep the running hash for the next request of this chunked upload.
    if (hash_.offset == rec_.offset) st_->sessions.PutHash(claim_.uuid(), std::move(hash_));
  }

  Status Append(std::span<const char> data) override;
  Status Flush() override;
  Result<BlobInfo> Commit(const Digest& expected) override;
  void Abort() override;
  void KeepBuffered() override { buffered_only_ = true; }
  void MarkCached() override { origin_ = records::Origin::kCached; }
  void MarkDerived() override { origin_ = records::Origin::kDerived; }
  Result<UniqueFd> OpenReader() override { return OpenForRead(st_->layout.UploadPath(claim_.uuid())); }
  uint64_t size() const override { return size_; }

 private:
  Status Ended() const { return Status::FailedPrecondition("upload already committed"); }
  // Brings the running hash up to size_ by reading the file (after Abort).
  Status CatchUpHash() {
    return hash_.offset == size_ ? Status::OK() : HashFileRange(fd_.get(), &hash_, size_);
  }
  Status MatchFileSize();
  // Writes the bytes the direct appender holds; the file then has size_ bytes.
  Status DrainDirect() { return direct_ ? direct_->Drain() : Status::OK(); }

  std::shared_ptr<StoreState> st_;
  SessionClaim claim_;         // declared after st_: released while the table still exists
  records::UploadRecord rec_;  // rec_.offset is the committed (flushed) size
  UniqueFd fd_;
  HashState hash_;
  uint64_t size_;            // committed + appended since
  uint64_t writeback_from_;  // start of the range not yet handed to writeback
  bool done_ = false;        // Commit ran: the session is no longer ours
  uint64_t appended_ = 0;    // bytes appended through this writer
  bool direct_tried_ = false;
  bool buffered_only_ = false;  // KeepBuffered: readers follow the file
  records::Origin origin_ = records::Origin::kLocal;  // MarkCached, MarkDerived
  bool wrote_direct_ = false;  // some bytes bypassed the page cache
  std::unique_ptr<DirectAppender> direct_;  // last: waits for its write before fd_ closes
};

Status UploadWriterImpl::Append(std::span<const char> data) {
  if (done_) return Ended();
  if (data.empty()) return Status::OK();
  if (Status s = CatchUpHash(); !s.ok()) return s;
  if (!direct_ && !direct_tried_ && !buffered_only_ && appended_ >= kDirectAfter) {
    direct_tried_ = true;
    direct_ = DirectAppender::Open(fd_.get(), size_, &hash_.sha);
    wrote_direct_ = wrote_direct_ || direct_ != nullptr;
    if (direct_) StartWriteback(fd_.get(), writeback_from_, size_ - writeback_from_);
  }
  if (direct_) {
    // A failed append leaves bytes of this request in the appender; the
    // caller fails the request and Abort drops everything since the last Flush.
    if (Status s = direct_->Append(data); !s.ok()) return s;
  } else if (Status s = WriteAt(fd_.get(), size_, data); !s.ok()) {
    // Drop a partial write; size_ is unchanged. Should that fail too, the
    // next OpenWriter truncates to the recorded offset anyway.
    if (Status t = Truncate(fd_.get(), size_); !t.ok()) ReportInternalError("store", "truncating a partial write failed", t);
    return s;
  }
  if (!direct_) hash_.sha.Update(data);  // else the appender hashes (on its thread)
  size_ += data.size();
  appended_ += data.size();
  hash_.offset = size_;
  if (!direct_ && size_ - writeback_from_ >= kWritebackChunk) {
    StartWriteback(fd_.get(), writeback_from_, size_ - writeback_from_);
    writeback_from_ = size_;
  }
  return Status::OK();
}

Status UploadWriterImpl::Flush() {
  if (done_) return Ended();
  if (size_ == rec_.offset) return Status::OK();
  if (Status s = DrainDirect(); !s.ok()) return s;
  if (Status s = Fsync(fd_.get()); !s.ok()) return s;
  // The first durable bytes also need the file's directory entry durable.
  if (rec_.offset == 0) {
    if (Status s = FsyncDir(st_->layout.UploadsDir()); !s.ok()) return s;
  }
  records::UploadRecord next = rec_;
  next.offset = size_;
  WriteBatch batch;
  batch.Put(Cf::kUploads, claim_.uuid(), records::Encode(next));
  if (Status s = st_->db->Write(batch); !s.ok()) return s;
  rec_.offset = size_;
  return Status::OK();
}

// The file must hold exactly size_ bytes before it becomes a blob: a failed
// append may have left a tail its truncate could not remove.
Status UploadWriterImpl::MatchFileSize() {
  auto actual = FileSize(fd_.get());
  if (!actual.ok()) return actual.status();
  return *actual == size_ ? Status::OK() : Truncate(fd_.get(), size_);
}

Result<BlobInfo> UploadWriterImpl::Commit(const Digest& expected) {
  if (done_) return Ended();
  if (Status s = CheckBlobDigest(expected); !s.ok()) return s;
  if (Status s = DrainDirect(); !s.ok()) return s;
  direct_.reset();
  if (Status s = CatchUpHash(); !s.ok()) return s;
  if (Status s = MatchFileSize(); !s.ok()) return s;
  // No offset update: the commit batch deletes the session record anyway.
  if (Status s = Fsync(fd_.get()); !s.ok()) return s;
  done_ = true;
  const Digest actual = hash_.sha.Finish();
  if (actual != expected) {
    if (Status s = DropSession(*st_, claim_.uuid()); !s.ok())
      ReportInternalError("store", "dropping an upload that failed verification failed", s);
    return Status::DigestMismatch("upload hashes to " + actual.str() + ", not " + expected.str());
  }
  fd_.reset();
  auto info = CommitBlob(*st_, claim_.uuid(), rec_.repo, expected, size_, origin_);
  // Bytes written with O_DIRECT are not in the page cache: read them back
  // for the pull that usually follows a push (warmer.h).
  if (info.ok() && wrote_direct_ && st_->warmer) (void)st_->warmer->Warm(st_->layout.BlobPath(expected), size_);
  return info;
}

void UploadWriterImpl::Abort() {
  if (done_ || size_ == rec_.offset) return;
  direct_.reset();  // waits for its write in flight; its unflushed bytes go
  direct_tried_ = false;
  // OpenWriter truncates again, so a failure here is logged and counted only.
  if (Status s = Truncate(fd_.get(), rec_.offset); !s.ok()) ReportInternalError("store", "truncating an aborted upload failed", s);
  size_ = rec_.offset;
  writeback_from_ = std::min(writeback_from_, size_);
  // sha256 cannot be rewound: start over, rebuilt from the file when needed.
  hash_ = HashState{};
}

}  // namespace

std::unique_ptr<UploadWriter> NewUploadWriter(std::shared_ptr<StoreState> st, SessionClaim claim,
                                              records::UploadRecord record, UniqueFd fd, HashState hash) {
  return std::make_unique<UploadWriterImpl>(std::move(st), std::move(claim), std::move(record), std::move(fd),
                                            std::move(hash));
}

Status HashFileRange(int fd, HashState* h, uint64_t end) {
  std::vector<char> buf(kHashBufferSize);
  while (h->offset < end) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - h->offset));
    auto n = ReadAt(fd, h->offset, std::span<char>(buf.data(), want));
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Corruption("upload file ends before its committed offset");
    h->sha.Update(std::span<const char>(buf.data(), *n));
    h->offset += *n;
  }
  return Status::OK();
}

}  // namespace pier::internal
