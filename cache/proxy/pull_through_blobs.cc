// PullThrough's blobs: one download per digest on a thread of its own,
// streamed to every client asking from the growing file (blob_fill.h).
#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/digest.h"
#include "base/file.h"
#include "base/internal_errors.h"
#include "base/log.h"
#include "cache/proxy/blob_fill.h"
#include "cache/proxy/pull_through.h"

namespace pier::proxy {

namespace {
PullThrough::BlobStream Stored() {
  PullThrough::BlobStream s;
  s.stored = true;
  return s;
}
}  // namespace

size_t PullThrough::Fills() const {
  std::lock_guard lock(mu_);
  return fills_.size();
}

std::shared_ptr<BlobFill> PullThrough::JoinFill(const Target& t, const Digest& d, bool* leader) {
  std::unique_lock lock(mu_);
  *leader = false;
  for (;;) {
    if (auto it = fills_.find(d.str()); it != fills_.end()) return it->second;
    if (fill_threads_.size() < options_.max_fills || stopping_) break;
    fills_cv_.wait(lock);  // a slot, or someone else started this digest
  }
  *leader = true;
  auto fill = std::make_shared<BlobFill>(t.local_repo, t.upstream);
  fills_[d.str()] = fill;
  const size_t in_flight = ++fills_per_upstream_[t.upstream];
  // The thread is registered before it can finish: it looks itself up
  // under this same lock when it ends.
  const uint64_t id = next_fill_id_++;
  fill_threads_.emplace(id, std::thread([this, fill, t, d, id] { RunFill(fill, t, d, id); }));
  std::vector<std::thread> finished = std::move(finished_threads_);
  lock.unlock();
  for (std::thread& th : finished) th.join();
  if (observer_) observer_->SetFetchesInFlight(upstreams_[t.upstream].name, in_flight);
  return fill;
}

void PullThrough::RunFill(std::shared_ptr<BlobFill> fill, Target t, Digest d, uint64_t id) {
  Status s = FillBlob(t, d, *fill);
  if (s.ok() && !fill->pass_through()) {
    for (const std::string& repo : fill->TakeAlsoLinked()) {
      if (Status l = store_->LinkStoredBlob(repo, d).status(); !l.ok()) {
        ReportInternalError("proxy", "linking a downloaded blob to " + repo, l);
      }
    }
  }
  // Published before the download leaves the table: a client either finds
  // it (over, so it does not wait) or finds the blob stored.
  fill->Finish(s);
  size_t in_flight = 0;
  {
    std::lock_guard lock(mu_);
    fills_.erase(d.str());
    in_flight = --fills_per_upstream_[t.upstream];
    auto self = fill_threads_.find(id);
    finished_threads_.push_back(std::move(self->second));
    fill_threads_.erase(self);
  }
  fills_cv_.notify_all();
  if (observer_) observer_->SetFetchesInFlight(upstreams_[t.upstream].name, in_flight);
}

Status PullThrough::ConfirmBlob(const Target& t, const Digest& d) {
  client::Call call;
  Result<uint64_t> size = clients_[t.upstream]->HeadBlob(call, t.upstream_repo, d);
  Note(t.upstream, call.error);
  if (size.ok()) return Status::OK();
  if (call.error.kind == client::ErrorKind::kNotFound) return size.status();
  return UpstreamError(upstreams_[t.upstream], size.status());
}

Status PullThrough::EnsureBlob(const Target& t, const Digest& d) {
  // The same join as a client's GET, then the whole download.
  Result<BlobStream> stream = StreamBlob(t, d);
  if (!stream.ok()) return stream.status();
  if (stream->stored) return Status::OK();
  // StreamBlob's growing file is always the download itself.
  auto& fill = static_cast<BlobFill&>(*stream->growing);
  if (fill.pass_through()) return Status::Unavailable("below the disk reserve: blob " + d.str() + " is not cached");
  PIER_TRY(fill.Wait());
  return store_->StatBlob(t.local_repo, d).status();
}

Result<PullThrough::BlobStream> PullThrough::StreamBlob(const Target& t, const Digest& d) {
  if (store_->StatBlob(t.local_repo, d).ok()) {
    Report(t, "blob", Outcome::kHit);
    return Stored();
  }
  Status s;
  for (int round = 0; round < 2; ++round) {
    bool leader = false;
    std::shared_ptr<BlobFill> fill = JoinFill(t, d, &leader);
    if (!leader) ++waiting_;
    const bool started = fill->WaitStarted();
    if (!leader) --waiting_;
    if (!started) {
      // Over before it streamed (linked, tiny, failed, or no size known).
      s = fill->Wait();
      if (store_->StatBlob(t.local_repo, d).ok()) {
        if (!leader) Report(t, "blob", Outcome::kCoalesced);
        return Stored();
      }
      if (leader) return s.ok() ? Status::Internal("a finished download left no blob") : s;
      if (!s.ok() && s.code() != Code::kNotFound) break;
      continue;
    }
    if (fill->pass_through() && !leader) {
      // Streamed through memory to one client only (below the disk reserve).
      Report(t, "blob", Outcome::kError);
      return Status::Unavailable(NoSpaceMessage(options_.disk_space ? options_.disk_space->FreeBytes() : std::nullopt,
                                                options_.disk_space ? options_.disk_space->reserve_bytes() : 0) +
                                 "; blob " + d.str() + " is not cached and is being passed through to another client");
    }
    if (fill->repo() != t.local_repo) {
      // Bytes fetched for another name: this name's upstream must say it
      // has them too, then the blob is linked here as well at the commit.
      if (Status c = ConfirmBlob(t, d); !c.ok()) {
        Report(t, "blob", Outcome::kError);
        return c;
      }
      if (!fill->AlsoLink(t.local_repo)) {
        s = fill->Wait();
        if (s.ok() && store_->LinkStoredBlob(t.local_repo, d).ok()) {
          Report(t, "blob", Outcome::kCoalesced);
          return Stored();
        }
        if (!s.ok() && s.code() != Code::kNotFound) break;
        continue;
      }
    }
    Result<UniqueFd> fd = fill->Reader();
    if (!fd.ok()) return fd.status();
    if (!leader) Report(t, "blob", Outcome::kCoalesced);
    BlobStream stream;
    stream.fd = std::move(*fd);
    stream.size = fill->size();
    stream.growing = fill;
    return stream;
  }
  Report(t, "blob", Outcome::kError);
  return s.ok() ? Status::Unavailable("blob " + d.str() + " could not be fetched for " + t.local_repo) : s;
}

Result<uint64_t> PullThrough::BlobSize(const Target& t, const Digest& d) {
  if (Result<BlobInfo> local = store_->StatBlob(t.local_repo, d); local.ok()) {
    Report(t, "blob", Outcome::kHit);
    return local->size;
  }
  const Upstream& up = upstreams_[t.upstream];
  if (Offline(t.upstream)) {
    Report(t, "blob", Outcome::kError);
    return Status::Unavailable("upstream " + up.name + " is offline and blob " + d.str() + " is not cached");
  }
  // A download under way knows the size already.
  {
    std::lock_guard lock(mu_);
    if (auto it = fills_.find(d.str()); it != fills_.end() && it->second->repo() == t.local_repo &&
                                        it->second->started()) {
      return it->second->size();
    }
  }
  client::Call call;
  Result<uint64_t> size = clients_[t.upstream]->HeadBlob(call, t.upstream_repo, d);
  Note(t.upstream, call.error);
  if (size.ok() || call.error.kind == client::ErrorKind::kNotFound) return size;
  Report(t, "blob", Outcome::kError);
  return UpstreamError(up, size.status());
}

std::unique_ptr<HeldLock> PullThrough::AwaitOtherReplicasFill(const Digest& d) {
  const auto deadline = std::chrono::steady_clock::now() + options_.cluster_fill_wait;
  bool waited = false;
  for (;;) {
    auto lock = store_->LockAcross("fill", d.str(), /*wait=*/false);
    if (lock.ok()) return std::move(lock).value();
    // Another replica downloads it (or the lock cannot be had: then this
    // replica just downloads, as a single node would).
    if (lock.status().code() != Code::kFailedPrecondition) return nullptr;
    if (store_->BlobStored(d)) return nullptr;  // its fill is committed
    if (stopping_ || std::chrono::steady_clock::now() >= deadline) {
      if (waited) {
        log::Info("another replica's download of a blob is still under way; downloading it here too",
                  {{"digest", d.str()}});
      }
      return nullptr;
    }
    waited = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status PullThrough::FillBlob(const Target& t, const Digest& d, BlobFill& fill) {
  const Upstream& up = upstreams_[t.upstream];
  client::RegistryClient& c = *clients_[t.upstream];
  if (store_->StatBlob(t.local_repo, d).ok()) {
    Report(t, "blob", Outcome::kCoalesced);
    return Status::OK();
  }
  if (Offline(t.upstream)) {
    Report(t, "blob", Outcome::kError);
    return Status::Unavailable("upstream " + up.name + " is offline and blob " + d.str() + " is not cached");
  }
  // One download per digest across replicas too, held until the commit.
  std::unique_ptr<HeldLock> across;
  if (store_->shared_metadata()) across = AwaitOtherReplicasFill(d);
  // Stored already (pushed here, cached under another name, or just filled
  // by another replica): the upstream's HEAD confirms this name has it, then
  // it is only linked.
  if (store_->BlobStored(d)) {
    if (Status s = ConfirmBlob(t, d); !s.ok()) {
      Report(t, "blob", Outcome::kError);
      return s;
    }
    if (store_->LinkStoredBlob(t.local_repo, d).ok()) {
      Report(t, "blob", Outcome::kHit);
      return Status::OK();
    }
  }

  // Below the disk reserve nothing new is cached (PullThroughOptions::disk_space).
  if (options_.disk_space && !options_.disk_space->CheckReserve().ok()) return PassBlob(t, d, fill);
  Result<UploadState> session = store_->StartUpload(t.local_repo);
  if (!session.ok()) return session.status();
  auto cancel = [&] {
    if (Status s = store_->CancelUpload(t.local_repo, session->uuid); !s.ok() && s.code() != Code::kNotFound) {
      ReportInternalError("proxy", "cancelling the fill of " + d.str(), s);
    }
  };
  uint64_t committed = 0;
  Status last;
  client::ClientError last_error;
  // A cut after real progress is retried however many times it happens (a
  // link that drops every few MB still delivers a big layer); attempts that
  // moved less than kGoodProgress are counted and bounded.
  constexpr uint64_t kGoodProgress = 1 << 20;
  for (int weak = 0; weak < options_.max_attempts;) {
    const uint64_t before = committed;
    Result<std::unique_ptr<UploadWriter>> w = store_->OpenWriter(t.local_repo, session->uuid, committed);
    if (!w.ok()) {
      cancel();
      return w.status();
    }
    UploadWriter& writer = **w;
    // Clients read the file while it grows: it must stay in the page cache.
    writer.KeepBuffered();
    writer.MarkCached();
    uint64_t unflushed = 0;
    bool first = true;
    client::Call call;
    const auto asked = std::chrono::steady_clock::now();
    Result<uint64_t> got = c.GetBlob(call, t.upstream_repo, d, committed, [&](std::span<const char> data) {
      if (stopping_) return Status::Unavailable("Pier is stopping");
      if (first) {
        first = false;
        ReportLatency(t.upstream, asked);
        if (!fill.started() && call.blob_size) {
          Result<UniqueFd> reader = writer.OpenReader();
          if (!reader.ok()) return reader.status();
          fill.Start(std::move(*reader), *call.blob_size);
        }
      }
      PIER_TRY(writer.Append(data));
      fill.Grew(writer.size());
      if (observer_) observer_->OnFetchedBytes(up.name, data.size());
      unflushed += data.size();
      if (unflushed >= options_.flush_every_bytes) {
        PIER_TRY(writer.Flush());
        committed += unflushed;
        unflushed = 0;
      }
      return Status::OK();
    });
    if (got.ok()) {
      Note(t.upstream, call.error);
      Result<BlobInfo> info = writer.Commit(d);
      if (!info.ok()) {
        // A wrong blob is deleted with its session by Commit: nothing stored.
        Report(t, "blob", Outcome::kError);
        if (info.status().code() == Code::kDigestMismatch) {
          log::Warn("upstream sent a blob that does not hash to its digest; not stored",
                    {{"upstream", up.name}, {"digest", d.str()}});
        }
        return info.status();
      }
      Report(t, "blob", Outcome::kMiss);
      return Status::OK();
    }
    // Keep what was made durable; resume from there. Bytes clients may
    // already have read are never dropped: if they cannot be kept the
    // download fails (and its readers are cut) rather than shrink.
    if (Status s = writer.Flush(); s.ok()) {
      committed += unflushed;
    } else {
      writer.Abort();
      if (fill.started()) {
        cancel();
        Report(t, "blob", Outcome::kError);
        return s;
      }
    }
    last = got.status();
    last_error = call.error;
    // A cut mid-blob is retried at once from the durable offset; an attempt
    // that moved nothing (upstream down, or refusing) ends the fill.
    if (stopping_ || !call.error.Transient() || committed == before) break;
    if (committed - before < kGoodProgress) ++weak;
    log::Info("upstream fill cut; resuming with Range",
              {{"upstream", up.name}, {"digest", d.str()}, {"offset", std::to_string(committed)},
               {"error", last.message()}});
  }
  cancel();
  Note(t.upstream, last_error);
  Report(t, "blob", Outcome::kError);
  if (last.code() == Code::kNotFound || last.code() == Code::kDigestMismatch) return last;
  return UpstreamError(up, last);
}

// The bytes go to the reader through a memory file whose passed part is
// freed as it goes, so memory stays within pass_window_bytes (plus one
// upstream read); the digest is checked before the last byte is released
// (BlobFill holds it back), as for a fill. A cut resumes with Range.
Status PullThrough::PassBlob(const Target& t, const Digest& d, BlobFill& fill) {
  const Upstream& up = upstreams_[t.upstream];
  client::RegistryClient& c = *clients_[t.upstream];
  const int raw = ::memfd_create("pier-pass-through", MFD_CLOEXEC);
  if (raw < 0) return Status::IOError(std::string("memfd_create: ") + std::strerror(errno));
  UniqueFd file(raw);
  fill.MarkPassThrough();
  log::Info("below the disk reserve: passing a blob through without caching it",
            {{"upstream", up.name}, {"digest", d.str()}});
  Sha256 sha;
  uint64_t written = 0;
  Status last;
  client::ClientError last_error;
  constexpr uint64_t kGoodProgress = 1 << 20;
  for (int weak = 0; weak < options_.max_attempts;) {
    const uint64_t before = written;
    bool first = true;
    client::Call call;
    const auto asked = std::chrono::steady_clock::now();
    Result<uint64_t> got = c.GetBlob(call, t.upstream_repo, d, written, [&](std::span<const char> data) {
      if (stopping_) return Status::Unavailable("Pier is stopping");
      if (first) {
        first = false;
        ReportLatency(t.upstream, asked);
        if (!fill.started()) {
          if (!call.blob_size) return Status::Unavailable("the upstream did not say the blob's size");
          const int reader = ::fcntl(file.get(), F_DUPFD_CLOEXEC, 0);
          if (reader < 0) return Status::IOError(std::string("dup: ") + std::strerror(errno));
          fill.Start(UniqueFd(reader), *call.blob_size);
        }
      }
      PIER_TRY(fill.WaitForReader(file.get(), written, options_.pass_window_bytes, options_.pass_idle_timeout));
      PIER_TRY(WriteAt(file.get(), written, data));
      sha.Update(data);
      written += data.size();
      fill.Grew(written);
      if (observer_) observer_->OnFetchedBytes(up.name, data.size());
      return Status::OK();
    });
    if (got.ok()) {
      Note(t.upstream, call.error);
      if (sha.Finish() != d) {
        Report(t, "blob", Outcome::kError);
        log::Warn("upstream sent a blob that does not hash to its digest; not passed on",
                  {{"upstream", up.name}, {"digest", d.str()}});
        return Status::DigestMismatch("blob " + d.str() + " from upstream " + up.name + " has another digest");
      }
      Report(t, "blob", Outcome::kMiss);
      return Status::OK();
    }
    last = got.status();
    last_error = call.error;
    if (stopping_ || !call.error.Transient() || written == before) break;
    if (written - before < kGoodProgress) ++weak;
  }
  Note(t.upstream, last_error);
  Report(t, "blob", Outcome::kError);
  if (last.code() == Code::kNotFound || last.code() == Code::kDigestMismatch ||
      last.code() == Code::kUnavailable) {
    return last;
  }
  return UpstreamError(up, last);
}

}  // namespace pier::proxy
