#include "replication/blob_fetcher.h"

#include <optional>

#include "base/internal_errors.h"

namespace pier::replication {
namespace {

class Fetcher {
 public:
  Fetcher(const SendEnv& env, const BlobJob& job) : env_(env), job_(job) {}

  Result<BlobOutcome> Run() {
    if (env_.store->StatBlob(job_.dst_repo, job_.digest).ok()) return BlobOutcome::kSkipped;
    Backoff backoff(env_.retry);
    Result<BlobOutcome> r = Status::Internal("not started");
    for (;;) {
      if (env_.stop.stop_requested()) break;
      client::Call call;
      call.stop = env_.stop;
      uint64_t before = committed_;
      r = Attempt(call);
      if (r.ok()) return r;
      if (committed_ > before) backoff.Progress();
      if (env_.stop.stop_requested() || call.error.kind == client::ErrorKind::kCancelled) break;
      env_.observer->OnFailure(env_.dest_name, env_.policy_name, ReasonOf(call.error.kind));
      if (!backoff.ShouldRetry(call.error)) break;
      if (env_.log) env_.log("blob " + job_.digest.str() + ": " + r.status().message() + "; retrying");
      if (!backoff.Wait(call.error, env_.stop)) break;
    }
    if (!uuid_.empty()) Cancel();
    return r;
  }

 private:
  // A local session left behind only takes space until the startup pass
  // removes it: counted, not fatal.
  void Cancel() {
    if (Status s = env_.store->CancelUpload(job_.dst_repo, uuid_); !s.ok() && s.code() != Code::kNotFound) {
      ReportInternalError("replication", "cancelling the local upload of " + job_.digest.str(), s);
    }
  }

  Result<BlobOutcome> Attempt(client::Call& call) {
    if (uuid_.empty()) {
      auto up = env_.store->StartUpload(job_.dst_repo);
      if (!up.ok()) {
        call.error.kind = client::ErrorKind::kLocal;
        return up.status();
      }
      uuid_ = up->uuid;
      committed_ = 0;
    }
    auto w = env_.store->OpenWriter(job_.dst_repo, uuid_, committed_);
    if (!w.ok()) {
      call.error.kind = client::ErrorKind::kLocal;
      uuid_.clear();  // start a fresh session next time
      return w.status();
    }
    UploadWriter& writer = **w;
    uint64_t unflushed = 0;
    Status sink_error;
    if (committed_ > 0 && env_.log) {
      env_.log("blob " + job_.digest.str() + ": resuming the download at " + std::to_string(committed_));
    }
    auto got = env_.client->GetBlob(call, job_.src_repo, job_.digest, committed_, [&](std::span<const char> data) {
      if (Status s = writer.Append(data); !s.ok()) return s;
      env_.observer->OnBytesSent(env_.dest_name, env_.policy_name, data.size());
      if (env_.on_bytes) env_.on_bytes(data.size());
      unflushed += data.size();
      if (unflushed >= env_.chunk_size) {
        if (Status s = writer.Flush(); !s.ok()) return s;
        committed_ += unflushed;
        unflushed = 0;
      }
      return Status::OK();
    });
    if (!got.ok()) {
      writer.Abort();  // keep only what was flushed
      if (got.status().code() == Code::kDigestMismatch) {
        Cancel();
        uuid_.clear();
        committed_ = 0;
      }
      return got.status();
    }
    auto info = writer.Commit(job_.digest);
    uuid_.clear();
    if (!info.ok()) {
      call.error.kind = info.status().code() == Code::kDigestMismatch ? client::ErrorKind::kDigestMismatch
                                                                       : client::ErrorKind::kLocal;
      committed_ = 0;
      return info.status();
    }
    return BlobOutcome::kUploaded;
  }

  const SendEnv& env_;
  BlobJob job_;
  std::string uuid_;
  uint64_t committed_ = 0;
};

}  // namespace

Result<BlobOutcome> FetchBlob(const SendEnv& env, const BlobJob& job) { return Fetcher(env, job).Run(); }

}  // namespace pier::replication
