#include "replication/blob_sender.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "base/internal_errors.h"

namespace pier::replication {
namespace {

using client::ErrorKind;

constexpr uint64_t kMinChunk = 256 << 10;
constexpr uint64_t kMinLearnedCut = 1 << 20;  // below this a cut is noise, not a link limit

// What a connection may carry on a link that cut one after `cut` bytes (as
// acknowledged): the peer's buffers (its receive buffer, a proxy's queue)
// acknowledge up to megabytes past the real cut point, so half of it. A
// second cut on the link costs a whole connection's bytes, a smaller chunk
// only a request head and a round trip.
uint64_t ConnectionBudget(uint64_t cut) { return cut / 2; }

std::string Human(uint64_t n) {
  char b[32];
  if (n >= (1u << 20)) std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  else std::snprintf(b, sizeof b, "%llu B", static_cast<unsigned long long>(n));
  return b;
}

class Sender {
 public:
  Sender(const SendEnv& env, const BlobJob& job) : env_(env), job_(job), digest_(job.digest.str()), key_(digest_) {}
  // A growing blob: its digest and size are unknown until it ended.
  Sender(const SendEnv& env, const GrowingJob& g, GrowingBlob& blob)
      : env_(env), digest_(g.name), key_(g.progress_key), growing_(&blob), gjob_(&g) {
    job_.dst_repo = g.dst_repo;
    job_.size = UINT64_MAX;
  }

  Result<BlobOutcome> Run() {
    if (!growing_ && env_.progress->IsKnown(env_.dest_id, digest_, job_.dst_repo)) {
      CancelCheckedSession();
      return BlobOutcome::kSkipped;
    }
    headed_ = job_.checked_missing;
    Backoff backoff(env_.retry);
    for (;;) {
      if (env_.stop.stop_requested()) return Status::Internal("stopped");
      bool progressed = false;
      session_lost_ = false;
      client::ClientError error;
      auto r = growing_ ? AttemptGrowing(&progressed, &error) : Attempt(&progressed, &error);
      if (r.ok() || given_up_) return r;
      if (progressed) backoff.Progress();
      if (env_.stop.stop_requested() || error.kind == ErrorKind::kCancelled) return r.status();
      env_.observer->OnFailure(env_.dest_name, env_.policy_name, ReasonOf(error.kind));
      if (!backoff.ShouldRetry(error, session_lost_)) return r.status();
      Log("blob " + digest_ + ": " + r.status().message() + "; retrying");
      if (!backoff.Wait(error, env_.stop)) return Status::Internal("stopped");
    }
  }

 private:
  void Log(const std::string& line) const {
    if (env_.log) env_.log(line);
  }

  // A Call wired to the stop token, the limiter, the byte counters and the
  // link's connection budget.
  struct TrackedCall {
    client::Call call;
    uint64_t sent = 0;
  };
  void Prepare(TrackedCall& t) {
    t.call.stop = env_.stop;
    t.call.limiter = env_.limiter;
    uint64_t cut = env_.link->cut_after_bytes.load();
    if (cut > 0) t.call.connection_byte_budget = ConnectionBudget(cut);
    // Socket writes only feed Learn(); "sent" is counted on acknowledgement (Ack).
    t.call.progress = [this, &t](uint64_t total) {
      t.sent = total;
      if (total > 0) wrote_ = true;
    };
  }

  // A body request starting at blob offset `offset`: what the destination's
  // TCP stack acknowledges of it after the first sample (client::Call::
  // body_acked leaves out what buffers on the way took in at once) counts as
  // it comes, not only when the answer does (one 8 MiB chunk lasts seconds
  // on a slow link).
  void WatchBody(TrackedCall& t, uint64_t offset) {
    t.call.body_acked = [this, offset](uint64_t n) { Ack(offset + n); };
  }

  // The destination acknowledged the blob up to `offset`: report the advance
  // over the highest offset acknowledged so far.
  void Ack(uint64_t offset) {
    offset = std::min(offset, job_.size);
    if (offset <= acked_) return;
    uint64_t d = offset - acked_;
    acked_ = offset;
    env_.observer->OnBytesSent(env_.dest_name, env_.policy_name, d);
    if (env_.on_bytes) env_.on_bytes(d);
  }

  // The destination answered (or not): keeps destination_up current.
  void Reachability(const client::Call& c) {
    auto k = c.error.kind;
    bool down = k == ErrorKind::kNetwork || k == ErrorKind::kTls || k == ErrorKind::kTimeout;
    if (k != ErrorKind::kCancelled) env_.observer->SetDestinationUp(env_.dest_name, !down);
  }

  // After a body upload broke (before any answer: the body was written,
  // maybe only into the socket buffer): learn the link's connection limit
  // from the bytes the connection got acknowledged. True when it changed.
  bool Learn(const TrackedCall& t) {
    auto k = t.call.error.kind;
    if (k != ErrorKind::kNetwork && k != ErrorKind::kTimeout) return false;
    if (t.sent == 0 || t.call.error.http_status != 0) return false;  // nothing sent, or it answered
    // What the peer acknowledged on that connection, read from the kernel
    // after the break: the cut point plus at most what the peer's buffers
    // took in meanwhile (what we wrote counts our send buffer too, megabytes
    // on loopback, and made the estimate so high that two more cuts
    // followed). Without that count: what we wrote. If the estimate is
    // still too high, the next cut shrinks it.
    uint64_t carried = t.call.connection_bytes > 0 ? t.call.connection_bytes : t.sent;
    if (carried < kMinLearnedCut) return false;
    uint64_t cur = env_.link->cut_after_bytes.load();
    // A cut at or past the estimate. Only a request sent under the budget
    // of that estimate proves it high (then shrink it); one that went out
    // before it was learnt (parallel workers are cut together the first
    // time) teaches nothing new.
    if (cur != 0 && carried >= cur) {
      uint64_t budget = t.call.connection_byte_budget;
      if (budget == 0 || budget > ConnectionBudget(cur)) return false;
      carried = ConnectionBudget(cur);
    }
    while ((cur == 0 || carried < cur) && !env_.link->cut_after_bytes.compare_exchange_weak(cur, carried)) {
    }
    if (cur == 0 || carried < cur) {
      Log("the link cut a connection after " + Human(carried) + ": from now on each connection carries at most " +
          Human(ConnectionBudget(carried)));
      return true;
    }
    return false;
  }

  // A session CheckBlobs opened that is no longer needed (another image's
  // transfer of the same digest finished meanwhile).
  void CancelCheckedSession() {
    if (!job_.session) return;
    client::Call call;
    call.stop = env_.stop;
    (void)env_.client->CancelUpload(call, job_.dst_repo, job_.session->location);  // best effort: it expires
    job_.session.reset();
    ForgetSession();
  }

  // The destination no longer knows the session (expired, or registry:2
  // discarding it after a cut PATCH): forget it; the next attempt starts a
  // new one.
  void SessionLost() {
    ForgetSession();
    session_lost_ = true;
  }

  // The bookkeeping below only saves work later (a resume point, a known
  // blob); losing it costs bytes, not correctness, so the transfer goes on
  // and the failure is counted.
  void ForgetSession() {
    if (Status s = env_.progress->DeleteUpload(env_.dest_id, key_); !s.ok()) {
      ReportInternalError("replication", "forgetting the upload session of " + digest_, s);
    }
  }

  uint64_t ChunkSize() const {
    uint64_t chunk = std::max<uint64_t>(env_.chunk_size, kMinChunk);
    uint64_t cut = env_.link->cut_after_bytes.load();
    if (cut > 0) {
      uint64_t fit = ConnectionBudget(cut);
      fit = fit > (64u << 10) ? fit - (64u << 10) : fit;  // room for the request head
      chunk = std::max(kMinChunk, std::min(chunk, fit));
    }
    return chunk;
  }

  template <class T>
  Result<T> Done(TrackedCall& t, Result<T> r, client::ClientError* error) {
    Reachability(t.call);
    if (!r.ok()) *error = t.call.error;
    return r;
  }

  Status OpenSource() {
    if (source_) return Status::OK();
    BlobInfo info;
    // A derived blob (a zstd transcode) is linked by no repository.
    auto r = job_.derived ? env_.store->OpenStoredBlobReader(job_.digest, &info)
                          : env_.store->OpenBlobReader(job_.src_repo, job_.digest, &info);
    if (!r.ok()) return Status(r.status().code(), "source blob " + digest_ + ": " + r.status().message());
    if (info.size != job_.size) job_.size = info.size;
    source_ = std::move(*r);
    return Status::OK();
  }

  // Bytes [off, off + n) of the source: pread from its file, or read
  // through the storage (a blob in S3: ranged GETs ahead of the sender).
  client::FileSlice Slice(uint64_t off, uint64_t n) {
    if (growing_) return client::FileSlice{growing_->fd(), off, n};
    client::FileSlice s{source_->fd(), off, n};
    if (s.fd < 0) {
      s.read_at = [r = source_.get()](uint64_t at, std::span<char> out) { return r->ReadAt(at, out); };
    }
    return s;
  }

  void Persist(const client::UploadState& st) {
    Status s = env_.progress->PutUpload(env_.dest_id, key_, UploadProgress{job_.dst_repo, st.location, st.offset});
    if (!s.ok()) ReportInternalError("replication", "saving the upload offset of " + digest_, s);
  }

  Result<BlobOutcome> Finished(BlobOutcome o) {
    const std::string d = job_.digest.str();
    Status s = env_.progress->AddKnown(env_.dest_id, d, job_.dst_repo, /*upload_done=*/true);
    if (!s.ok()) ReportInternalError("replication", "recording " + d + " as at the destination", s);
    if (key_ != d) ForgetSession();  // a growing blob's progress was kept under its own key
    return o;
  }

  // Continues the upload recorded under key_ when the destination still
  // has it: the session at the offset it reports (nullopt when there is
  // none to continue).
  Result<std::optional<client::UploadState>> Resume(bool* progressed, client::ClientError* error) {
    auto p = env_.progress->GetUpload(env_.dest_id, key_);
    if (!p || p->repo != job_.dst_repo) return std::optional<client::UploadState>();
    TrackedCall t;
    Prepare(t);
    auto st = Done(t, env_.client->GetUploadStatus(t.call, job_.dst_repo, p->location), error);
    // A session an earlier run (or a replica that died) wrote to may still be
    // receiving that writer's last bytes: a killed process's kernel sends
    // what was in its socket buffer, and at a slow link's pace that takes
    // seconds. A PATCH from an offset that then moves is refused (distribution:
    // "upload resumed at wrong offset") and the whole blob starts again, so
    // wait until the destination's offset holds still for a second (bounded).
    if (st.ok() && !wrote_ && acked_ == 0 && st->offset > 0) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      for (;;) {
        for (int i = 0; i < 10 && !env_.stop.stop_requested(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (env_.stop.stop_requested()) return Status::Internal("stopped");
        TrackedCall again;
        Prepare(again);
        auto now = Done(again, env_.client->GetUploadStatus(again.call, job_.dst_repo, p->location), error);
        if (!now.ok() || now->offset == st->offset) break;
        st = std::move(now);
        if (std::chrono::steady_clock::now() >= give_up) break;
      }
    }
    if (st.ok()) {
      // Bytes there before this send wrote any came from an earlier run.
      if (!wrote_ && acked_ == 0 && st->offset > 0) {
        acked_ = std::min(st->offset, job_.size);
        if (env_.on_present) env_.on_present(acked_);
      }
      Ack(st->offset);
      if (st->offset > 0) {
        if (st->offset > resumed_from_) *progressed = true;
        resumed_from_ = st->offset;
        env_.observer->OnResume(env_.dest_name, st->offset);
        Log("blob " + digest_ + ": resuming the upload at " + std::to_string(st->offset) +
            (growing_ ? std::string(" bytes") : " of " + std::to_string(job_.size) + " bytes"));
      }
      return std::optional<client::UploadState>(*st);
    }
    if (st.status().code() != Code::kNotFound) return st.status();
    ForgetSession();
    if (p->offset > 0) {
      Log("blob " + digest_ + ": the destination dropped the upload session (" + std::to_string(p->offset) +
          " bytes acknowledged); starting it again");
    }
    return std::optional<client::UploadState>();
  }

  // Drops an upload that must not complete: the destination's session
  // (best effort: it expires anyway) and its progress record.
  void Abandon(const client::UploadState& session) {
    client::Call call;
    call.stop = env_.stop;
    (void)env_.client->CancelUpload(call, job_.dst_repo, session.location);
    ForgetSession();
  }

  // One PATCH of [off, off + n) of the source; the session moves on.
  Status Patch(client::UploadState& session, uint64_t off, uint64_t n, bool* progressed, client::ClientError* error) {
    client::FileSlice slice = Slice(off, n);
    TrackedCall t;
    Prepare(t);
    WatchBody(t, off);
    auto st = Done(t, env_.client->UploadChunk(t.call, job_.dst_repo, session.location, slice), error);
    if (!st.ok()) {
      if (Learn(t)) *progressed = true;
      if (st.status().code() == Code::kNotFound) SessionLost();
      return st.status();
    }
    if (st->offset > off) *progressed = true;
    Ack(st->offset);
    session = *st;
    Persist(session);
    return Status::OK();
  }

  // The final PUT ?digest= with the rest of the blob (`rest` may be empty).
  Result<BlobOutcome> FinishWith(const client::UploadState& session, const client::FileSlice& rest, bool* progressed,
                                 client::ClientError* error) {
    TrackedCall t;
    Prepare(t);
    WatchBody(t, rest.offset);
    auto r = Done(t, env_.client->FinishUpload(t.call, job_.dst_repo, session.location, job_.digest,
                                               rest.length > 0 ? &rest : nullptr),
                  error);
    if (!r.ok()) {
      if (Learn(t)) *progressed = true;
      if (r.status().code() == Code::kDigestMismatch) ForgetSession();
      if (r.status().code() == Code::kNotFound) SessionLost();
      return r.status();
    }
    Ack(job_.size);
    return Finished(BlobOutcome::kUploaded);
  }


  // StreamBlob: the chunked upload of a blob that is still being made.
  Result<BlobOutcome> AttemptGrowing(bool* progressed, client::ClientError* error) {
    auto resumed = Resume(progressed, error);
    if (!resumed.ok()) return resumed.status();
    std::optional<client::UploadState> session = std::move(*resumed);
    if (!session) {
      TrackedCall t;
      Prepare(t);
      auto st = Done(t, env_.client->StartUpload(t.call, job_.dst_repo), error);
      if (!st.ok()) return st.status();
      session = *st;
      Persist(*session);
    }
    for (;;) {
      const uint64_t off = session->offset;
      // Enough for a PATCH worth its round trip, or the end.
      auto seen = growing_->Wait(off + kMinChunk - 1, env_.stop);
      if (!seen.ok()) {
        error->kind = ErrorKind::kCancelled;
        return seen.status();
      }
      if (!seen->ended) {
        PIER_TRY(Patch(*session, off, std::min(ChunkSize(), seen->readable - off), progressed, error));
        continue;
      }
      auto fin = growing_->Final();
      if (!fin.ok()) {
        Abandon(*session);
        given_up_ = true;
        return fin.status();
      }
      job_.digest = fin->first;
      job_.size = fin->second;
      if (off > job_.size) {
        // The destination holds more than the whole blob: not its bytes.
        Abandon(*session);
        session_lost_ = true;
        error->kind = ErrorKind::kLocal;
        return Status::Internal("blob " + digest_ + ": the upload session holds " + std::to_string(off) +
                                " bytes, more than the blob's " + std::to_string(job_.size));
      }
      if (!accepted_) {
        if (Status a = gjob_->accept ? gjob_->accept(job_.digest, job_.size) : Status::OK(); !a.ok()) {
          Abandon(*session);
          given_up_ = true;
          return a;
        }
        accepted_ = true;
      }
      const uint64_t left = job_.size - off;
      if (left > ChunkSize()) {
        PIER_TRY(Patch(*session, off, ChunkSize(), progressed, error));
        continue;
      }
      return FinishWith(*session, Slice(off, left), progressed, error);
    }
  }

  Result<BlobOutcome> Attempt(bool* progressed, client::ClientError* error) {
    // 2. HEAD (once: later attempts know it is missing).
    if (!headed_) {
      TrackedCall t;
      Prepare(t);
      auto r = Done(t, env_.client->HeadBlob(t.call, job_.dst_repo, job_.digest), error);
      if (r.ok()) {
        CancelCheckedSession();
        return Finished(BlobOutcome::kSkipped);
      }
      if (r.status().code() != Code::kNotFound) return r.status();
      headed_ = true;
    }
    if (Status s = OpenSource(); !s.ok()) {
      error->kind = ErrorKind::kLocal;
      return s;
    }
    // 3. Continue an upload under way (or the one CheckBlobs opened, once).
    std::optional<client::UploadState> session;
    if (job_.session) {  // persisted by CheckBlobs
      session = std::move(job_.session);
      job_.session.reset();
    } else {
      auto resumed = Resume(progressed, error);
      if (!resumed.ok()) return resumed.status();
      session = std::move(*resumed);
    }
    // 4. Mount from a repository known to hold it.
    if (!session && !mount_tried_) {
      mount_tried_ = true;
      for (const std::string& from : env_.progress->KnownRepos(env_.dest_id, digest_)) {
        if (from == job_.dst_repo) continue;
        TrackedCall t;
        Prepare(t);
        auto m = Done(t, env_.client->MountBlob(t.call, job_.dst_repo, job_.digest, from), error);
        if (!m.ok()) return m.status();
        if (m->mounted) return Finished(BlobOutcome::kMounted);
        session = m->upload;
        Persist(*session);
        break;
      }
    }
    // 5. Upload. Small blobs: one request.
    if (!session && job_.size <= ChunkSize()) {
      TrackedCall t;
      Prepare(t);
      client::FileSlice whole = Slice(0, job_.size);
      WatchBody(t, 0);
      auto r = Done(t, env_.client->UploadBlob(t.call, job_.dst_repo, job_.digest, whole), error);
      if (!r.ok()) {
        if (Learn(t)) *progressed = true;
        return r.status();
      }
      Ack(job_.size);
      return Finished(BlobOutcome::kUploaded);
    }
    if (!session) {
      TrackedCall t;
      Prepare(t);
      auto st = Done(t, env_.client->StartUpload(t.call, job_.dst_repo), error);
      if (!st.ok()) return st.status();
      session = *st;
      Persist(*session);
    }
    for (;;) {
      uint64_t off = std::min(session->offset, job_.size);
      uint64_t n = std::min(ChunkSize(), job_.size - off);
      bool last = off + n == job_.size;
      client::FileSlice slice = Slice(off, n);
      if (last) return FinishWith(*session, slice, progressed, error);
      TrackedCall t;
      Prepare(t);
      WatchBody(t, off);
      auto st = Done(t, env_.client->UploadChunk(t.call, job_.dst_repo, session->location, slice), error);
      if (!st.ok()) {
        if (Learn(t)) *progressed = true;
        if (st.status().code() == Code::kNotFound) SessionLost();
        return st.status();
      }
      if (st->offset > off) *progressed = true;
      Ack(st->offset);
      session = *st;
      Persist(*session);
    }
  }

  const SendEnv& env_;
  BlobJob job_;
  std::string digest_;  // in the log (a growing blob: its name)
  std::string key_;     // its progress record (ProgressStore)
  GrowingBlob* growing_ = nullptr;
  const GrowingJob* gjob_ = nullptr;
  bool accepted_ = false;  // a growing blob ended and was accepted: job_ has its digest and size
  bool given_up_ = false;  // a failure no retry mends (the blob could not be made, or was refused)
  std::unique_ptr<BlobReader> source_;  // set by OpenSource (not for a growing blob)
  bool headed_ = false;
  bool mount_tried_ = false;
  bool session_lost_ = false;
  uint64_t resumed_from_ = 0;
  uint64_t acked_ = 0;   // highest offset the destination acknowledged (or held at the start)
  bool wrote_ = false;   // some body bytes were written by this send
};

}  // namespace

std::vector<BlobCheck> CheckBlobs(const SendEnv& env, std::vector<BlobJob>& jobs, bool open_sessions,
                                  const std::function<void(size_t)>& checked) {
  std::vector<BlobCheck> out(jobs.size(), BlobCheck::kUnknown);
  // One item per request: a HEAD per blob not known, and with open_sessions
  // a POST beside it for blobs with nothing to resume or mount from. The
  // largest blobs first, each POST before its HEAD (the POST takes the
  // registry longer): requests leave one after another, and the first to
  // leave are those whose answers the longest bodies wait for.
  struct Item {
    size_t blob;
    bool head;
  };
  std::vector<size_t> order;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const BlobJob& j = jobs[i];
    if (env.progress->IsKnown(env.dest_id, j.digest.str(), j.dst_repo)) {
      out[i] = BlobCheck::kPresent;
      continue;
    }
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return jobs[a].size > jobs[b].size; });
  std::vector<Item> items;
  // Requests still out per blob: the last one to end settles the blob.
  auto left = std::make_unique<std::atomic<int>[]>(jobs.size());
  for (size_t i : order) {
    std::string d = jobs[i].digest.str();
    bool resumable = env.progress->GetUpload(env.dest_id, d).has_value();
    if (open_sessions && !resumable && env.progress->KnownRepos(env.dest_id, d).empty()) {
      items.push_back({i, false});
      ++left[i];
    }
    items.push_back({i, true});
    ++left[i];
  }
  std::vector<int> head(jobs.size(), 0);  // 1 present, -1 missing, 0 no answer
  std::vector<std::optional<client::UploadState>> opened(jobs.size());
  // Called by the thread that ended blob i's last request: the job gets what
  // was found, a present blob is recorded (its session cancelled).
  auto settle = [&](size_t i) {
    BlobJob& j = jobs[i];
    if (head[i] == 1) {
      out[i] = BlobCheck::kPresent;
      // As SendBlob's HEAD: also forgets an upload record of it (a session opened just now included).
      Status s = env.progress->AddKnown(env.dest_id, j.digest.str(), j.dst_repo, /*upload_done=*/true);
      if (!s.ok()) ReportInternalError("replication", "recording " + j.digest.str() + " as at the destination", s);
      if (opened[i]) {
        client::Call call;
        call.stop = env.stop;
        (void)env.client->CancelUpload(call, j.dst_repo, opened[i]->location);  // best effort: it expires
      }
      return;
    }
    if (head[i] == -1) {
      out[i] = BlobCheck::kMissing;
      j.checked_missing = true;
    }
    // Without an answer to the HEAD SendBlob asks again, then uses the session.
    if (opened[i]) j.session = std::move(opened[i]);
    if (checked) checked(i);
  };
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k; (k = next.fetch_add(1)) < items.size();) {
      const Item& it = items[k];
      const BlobJob& j = jobs[it.blob];
      client::Call call;
      call.stop = env.stop;
      if (it.head) {
        auto r = env.client->HeadBlob(call, j.dst_repo, j.digest);
        if (r.ok()) head[it.blob] = 1;
        else if (r.status().code() == Code::kNotFound) head[it.blob] = -1;
      } else if (auto r = env.client->StartUpload(call, j.dst_repo); r.ok()) {
        opened[it.blob] = *r;
        // Persisted here, beside the other checks, not on the way to the first body byte.
        Status s = env.progress->PutUpload(env.dest_id, j.digest.str(), UploadProgress{j.dst_repo, r->location, r->offset});
        if (!s.ok()) ReportInternalError("replication", "saving the upload session of " + j.digest.str(), s);
      }
      // The counter orders this blob's writes above before the settling thread reads them.
      if (left[it.blob].fetch_sub(1, std::memory_order_acq_rel) == 1) settle(it.blob);
    }
  };
  // Small requests: enough threads that none waits for another's round trip.
  constexpr size_t kMaxThreads = 16;
  {
    std::vector<std::jthread> threads;
    for (size_t n = std::min(kMaxThreads, items.size()); n > 1; --n) threads.emplace_back(work);
    work();
  }
  return out;
}

Result<BlobOutcome> SendBlob(const SendEnv& env, const BlobJob& job) { return Sender(env, job).Run(); }

Result<BlobOutcome> StreamBlob(const SendEnv& env, const GrowingJob& job, GrowingBlob& blob) {
  return Sender(env, job, blob).Run();
}

}  // namespace pier::replication
