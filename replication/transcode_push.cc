#include "replication/transcode_push.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/internal_errors.h"
#include "base/manifest.h"
#include "replication/zstd_manifest.h"
#include "replication/zstd_probe.h"

namespace pier::replication {
namespace {

using transcode::Transcoded;

// What a copy streamed while the destination's zstd probe still runs may
// send before the verdict: about what a 1 MB/s link carries during the
// probe's round trips, and all a refusal costs (the upload is cancelled).
constexpr uint64_t kBeforeVerdict = 4 << 20;

class TranscodingPush final : public Direction {
 public:
  TranscodingPush(std::unique_ptr<Direction> plain, DirectionEnv env) : plain_(std::move(plain)), env_(std::move(env)) {}

  Result<std::vector<Task>> Plan(const PlanScope& scope, std::stop_token stop) override {
    return plain_->Plan(scope, stop);
  }

  Result<PlannedCopy> Prepare(const Task& task, std::stop_token stop) override {
    auto copy = plain_->Prepare(task, stop);
    if (!copy.ok()) return copy;
    if (env_.transcodes == nullptr) return Status::FailedPrecondition("zstd transcoding is not available here");
    // Which blobs are transcodable gzip layers: those of every image
    // manifest the task pushes.
    std::set<std::string> gzip;
    auto collect = [&](const ManifestToPush& m) -> Status {
      auto parsed = ParseManifest(m.media_type, m.bytes);
      if (!parsed.ok()) return parsed.status();
      for (const Descriptor& d : TranscodableLayers(*parsed)) gzip.insert(d.digest.str());
      return Status::OK();
    };
    for (const auto& m : copy->children) PIER_TRY(collect(m));
    PIER_TRY(collect(copy->top));
    if (!gzip.empty() && env_.progress != nullptr) {
      // A destination known to refuse zstd: no transcoding for it.
      auto v = env_.progress->GetZstdVerdict(env_.remote_endpoint.id);
      if (v && !v->empty()) return Status::FailedPrecondition(*v);
    }
    transcode::Transcoder& t = env_.transcodes->transcoder();
    const int level = Level();
    std::vector<const BlobJob*> to_make;
    for (BlobJob& job : copy->blobs) {
      if (!gzip.contains(job.digest.str())) continue;
      auto known = t.Lookup(job.digest);
      if (known.ok()) {
        if (Worth(*known)) Substitute(job, *known);
        continue;
      }
      if (known.status().code() != Code::kNotFound) return known.status();
      to_make.push_back(&job);
    }
    // Smallest first: the link waits only for the first copy, and the
    // bigger ones compress while it goes out.
    std::stable_sort(to_make.begin(), to_make.end(), [](const BlobJob* a, const BlobJob* b) { return a->size < b->size; });
    for (const BlobJob* job : to_make) {
      auto f = env_.transcodes->Submit(job->src_repo, job->digest, level);
      std::lock_guard lock(mu_);
      pending_.emplace(job->digest.str(), std::move(f));
    }
    const bool pending = !to_make.empty();
    // Probed while the transcodes run and the task's checks go out (the
    // probe is a few round trips on a slow link); the task's uploads wait
    // for the verdict (a stream only sends kBeforeVerdict bytes before it).
    if (!gzip.empty()) {
      PIER_TRY(StartProbe(task));
      std::lock_guard lock(mu_);
      gated_tasks_.insert(task.id);
      for (const BlobJob& job : copy->blobs) gated_.insert(job.digest.str());
    }
    if (!pending) PIER_TRY(Rewrite(task, *copy));
    return copy;
  }

  std::optional<TaskEnd> Settled(const Task& task, const PlannedCopy& copy, const TaskLogFn& log,
                                 std::stop_token stop) override {
    auto end = plain_->Settled(task, copy, log, stop);
    if (end) {
      // Its blobs never reach MoveBlob: not waiting for a worker (else the
      // link would never count as idle again in this execution).
      std::lock_guard lock(mu_);
      for (const BlobJob& b : copy.blobs) {
        settled_.insert(b.digest.str());
        handed_.erase(b.digest.str());
      }
    }
    return end;
  }

  std::vector<BlobCheck> CheckBlobs(const SendEnv& env, std::vector<BlobJob>& jobs, bool open_sessions,
                                    const std::function<void(size_t)>& checked) override {
    std::vector<BlobCheck> out(jobs.size(), BlobCheck::kMissing);
    std::vector<BlobJob> known;
    std::vector<size_t> where;
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (Pending(jobs[i].digest)) continue;
      known.push_back(jobs[i]);
      where.push_back(i);
    }
    std::vector<char> handed(known.size(), 0);
    std::function<void(size_t)> inner;
    if (checked) {
      inner = [&](size_t j) {
        jobs[where[j]] = known[j];  // final now: the caller may send it
        handed[j] = 1;
        Handed(known[j].digest);
        checked(where[j]);
      };
    }
    if (!known.empty()) {
      std::vector<BlobCheck> r = plain_->CheckBlobs(env, known, open_sessions, inner);
      for (size_t j = 0; j < known.size(); ++j) {
        if (!handed[j]) jobs[where[j]] = known[j];
        out[where[j]] = j < r.size() ? r[j] : BlobCheck::kUnknown;
      }
    }
    // Waiting for a transcode: missing. With the link free, each goes to
    // the workers when its copy is made (smallest first), so no worker sits
    // on a layer still compressing while a finished one waits for a worker.
    if (checked) HandOverAsMade(jobs, checked, env.stop);
    return out;
  }

  void HandOverAsMade(const std::vector<BlobJob>& jobs, const std::function<void(size_t)>& checked,
                      std::stop_token stop) {
    std::vector<std::pair<size_t, TranscodeQueue::Future>> waiting;
    {
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < jobs.size(); ++i) {
        if (auto it = pending_.find(jobs[i].digest.str()); it != pending_.end()) waiting.emplace_back(i, it->second);
      }
    }
    while (!waiting.empty()) {
      if (stop.stop_requested()) {
        for (auto& [i, f] : waiting) checked(i);  // MoveBlob answers "stopped"
        return;
      }
      for (auto it = waiting.begin(); it != waiting.end();) {
        if (it->second.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
          Handed(jobs[it->first].digest);
          checked(it->first);
          it = waiting.erase(it);
        } else {
          ++it;
        }
      }
      // Nothing to send and a copy being made: it goes now, streamed while
      // it grows (MoveBlob), rather than the link waiting for its end.
      if (auto it = StreamNext(jobs, waiting); it != waiting.end()) {
        checked(it->first);
        waiting.erase(it);
      }
      // A future cannot wake on any of several: look every 20 ms, short
      // against a transcode (and against what a layer takes on the link).
      if (!waiting.empty()) waiting.front().second.wait_for(std::chrono::milliseconds(20));
    }
  }

  Result<BlobOutcome> MoveBlob(const SendEnv& env, const BlobJob& job) override {
    std::optional<TranscodeQueue::Future> waiting;
    bool early = false;
    {
      std::lock_guard lock(mu_);
      handed_.erase(job.digest.str());
      early = early_.erase(job.digest.str()) > 0;
      if (auto it = pending_.find(job.digest.str()); it != pending_.end()) waiting = it->second;
    }
    const bool gated = Gated(job.digest);
    BlobJob z = job;
    if (waiting) {
      // While the copy is made: streamed when the link would idle
      // otherwise, else waited for.
      while (waiting->wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        if (env.stop.stop_requested()) return Status::Unavailable("stopped");
        if (auto g = Streamable(job.digest, early)) return Stream(env, job, std::move(g), gated);
        waiting->wait_for(std::chrono::milliseconds(20));  // as HandOverAsMade: short against a transcode
      }
      auto t = waiting->get();
      if (!t.ok()) return t.status();
      if (!Worth(*t)) {
        if (env.log) env.log("layer " + job.digest.str() + ": its zstd copy is not smaller, sent as gzip");
        if (gated) PIER_TRY(AfterVerdict(env, job));
        Sending busy(*this);
        return plain_->MoveBlob(env, job);
      }
      Substitute(z, *t);
      z.checked_missing = false;
      z.session.reset();
      if (env.log) {
        env.log("layer " + job.digest.str() + " transcoded to zstd " + t->digest.str() + " at level " +
                std::to_string(t->level) + " (" + std::to_string(t->source_size) + " → " + std::to_string(t->size) +
                " bytes)");
      }
    }
    if (gated) PIER_TRY(AfterVerdict(env, job));
    Sending busy(*this);
    if (!z.derived) return plain_->MoveBlob(env, z);
    auto lease = env_.transcodes->transcoder().Hold(z.digest);
    auto source = SourceOf(z.digest);
    if (!source) return Status::Internal("no source recorded for " + z.digest.str());
    if (!env.store->BlobStored(z.digest)) {
      // Collected since it was made: make it again (same bytes, same digest).
      auto again = env_.transcodes->transcoder().Ensure(z.src_repo, source->source, Level(), env.stop);
      if (!again.ok()) return again.status();
      if (again->digest != z.digest) {
        return Status::Internal("transcoding " + source->source.str() + " again gave another digest");
      }
    }
    auto r = plain_->MoveBlob(env, z);
    if (r.ok() && *r == BlobOutcome::kUploaded && env.observer != nullptr) {
      env.observer->OnTranscodeSaved(env.dest_name, source->source_size - source->size);
    }
    return r;
  }

  Status PutManifests(const Task& task, const PlannedCopy& copy, const TaskLogFn& log, std::stop_token stop) override {
    PlannedCopy out = copy;
    bool done, gated;
    {
      std::lock_guard lock(mu_);
      done = rewritten_.contains(task.id);  // in Prepare: `copy` is rewritten
      gated = gated_tasks_.contains(task.id);
    }
    if (gated) PIER_TRY(Verdict(stop));
    if (!done) PIER_TRY(Rewrite(task, out));
    PIER_TRY(plain_->PutManifests(task, out, log, stop));
    const std::vector<std::string> originals = Originals(task.id);
    if (!originals.empty()) log("sent with zstd layers: the destination holds " + out.top.digest);
    // The destination holds the image (in zstd): what capacity eviction asks.
    if (env_.progress != nullptr) {
      for (const auto& m : originals) {
        Status s = env_.progress->AddKnownManifest(env_.remote_endpoint.id, m, task.dst_repo);
        if (!s.ok()) ReportInternalError("replication", "recording a manifest the destination holds failed", s);
      }
    }
    return Status::OK();
  }

  Status Delete(const Task& task, const TaskLogFn& log, std::stop_token stop) override {
    return plain_->Delete(task, log, stop);
  }

 private:
  static bool IsIndex(const ParsedManifest& m) {
    return m.media_type == media::kOciIndex || m.media_type == media::kDockerList;
  }

  // Once per destination, before the first transcoded upload: the
  // remembered verdict, else a probe (zstd_probe.h) whose refusal is
  // remembered too (ProgressStore; forgotten when the endpoint changes).
  // The probe runs on a thread of its own (Verdict, VerdictNow tell its
  // answer); a refusal already known fails the task at once. A probe that
  // could not tell (the destination unreachable) is tried again by the
  // next task.
  Status StartProbe(const Task& task) {
    std::lock_guard lock(probe_mu_);
    if (accepted_) return Status::OK();
    const int64_t dest = env_.remote_endpoint.id;
    if (env_.progress != nullptr) {
      if (auto v = env_.progress->GetZstdVerdict(dest)) {
        if (!v->empty()) return Status::FailedPrecondition(*v);
        accepted_ = true;
        return Status::OK();
      }
    }
    if (probe_ && probe_->wait_for(std::chrono::seconds(0)) != std::future_status::ready) return Status::OK();
    if (probe_) {
      Status s = probe_->get();
      if (s.ok() || s.code() == Code::kFailedPrecondition) return s;
    }
    auto promise = std::make_shared<std::promise<Status>>();
    probe_ = promise->get_future().share();
    if (probe_thread_.joinable()) probe_thread_.join();  // the last probe, ended
    probe_thread_ = std::jthread([this, promise, repo = task.dst_repo](std::stop_token stop) {
      promise->set_value(Probe(repo, stop));
    });
    return Status::OK();
  }

  Status Probe(const std::string& repo, std::stop_token stop) {
    const int64_t dest = env_.remote_endpoint.id;
    Status s = ProbeZstd(*env_.remote, repo, stop);
    if (s.code() == Code::kFailedPrecondition) {
      s = Status::FailedPrecondition(s.message() + " (turn \"compression\" off for this policy)");
    }
    if ((s.ok() || s.code() == Code::kFailedPrecondition) && env_.progress != nullptr) {
      if (Status w = env_.progress->PutZstdVerdict(dest, s.ok() ? "" : s.message()); !w.ok())
        ReportInternalError("replication", "recording the zstd probe's verdict failed", w);
    }
    if (s.ok()) {
      std::lock_guard lock(probe_mu_);
      accepted_ = true;
    }
    return s;
  }

  // The probe's answer: OK when none is needed or it accepted, nullopt
  // while it runs.
  std::optional<Status> VerdictNow() {
    std::lock_guard lock(probe_mu_);
    if (accepted_ || !probe_) return Status::OK();
    if (probe_->wait_for(std::chrono::seconds(0)) != std::future_status::ready) return std::nullopt;
    return probe_->get();
  }

  // Waits for the probe's answer (a stop ends the wait).
  Status Verdict(std::stop_token stop) {
    std::optional<std::shared_future<Status>> f;
    {
      std::lock_guard lock(probe_mu_);
      if (accepted_ || !probe_) return Status::OK();
      f = probe_;
    }
    while (f->wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
      if (stop.stop_requested()) return Status::Unavailable("stopped");
    }
    return f->get();
  }

  // MoveBlob's wait for the verdict: a refusal drops the upload session
  // CheckBlobs may have opened for the job (best effort: it expires).
  Status AfterVerdict(const SendEnv& env, const BlobJob& job) {
    Status v = Verdict(env.stop);
    if (v.ok() || !job.session) return v;
    client::Call call;
    call.stop = env.stop;
    (void)env.client->CancelUpload(call, job.dst_repo, job.session->location);
    if (Status s = env.progress->DeleteUpload(env.dest_id, job.digest.str()); !s.ok()) {
      ReportInternalError("replication", "forgetting the upload session of " + job.digest.str(), s);
    }
    return v;
  }

  // Whether moving the blob waits for the probe (a task with gzip layers).
  bool Gated(const Digest& d) {
    std::lock_guard lock(mu_);
    return gated_.contains(d.str());
  }

  // Bytes on their way to this destination (a MoveBlob sending, not
  // waiting for a transcode): while any are, the link is not idle.
  class Sending {
   public:
    explicit Sending(TranscodingPush& p) : p_(p) {
      std::lock_guard lock(p_.mu_);
      ++p_.sending_;
    }
    ~Sending() {
      std::lock_guard lock(p_.mu_);
      --p_.sending_;
    }
    Sending(const Sending&) = delete;
    Sending& operator=(const Sending&) = delete;

   private:
    TranscodingPush& p_;
  };

  // A blob handed to the workers, not yet taken by one (MoveBlob).
  void Handed(const Digest& d) {
    std::lock_guard lock(mu_);
    if (!settled_.contains(d.str())) handed_.insert(d.str());
  }

  // The link would idle: nothing of this direction is being sent, and no
  // blob (a finished copy among them) waits for a worker.
  bool LinkIdleLocked() const { return sending_ == 0 && handed_.empty(); }

  // HandOverAsMade: with the link idle, the first waiting job whose copy is
  // being made now (transcodes run one at a time, smallest first) goes to
  // the workers early, marked to be streamed; waiting.end() when none.
  using Waiting = std::vector<std::pair<size_t, TranscodeQueue::Future>>;
  Waiting::iterator StreamNext(const std::vector<BlobJob>& jobs, Waiting& waiting) {
    std::lock_guard lock(mu_);
    if (!LinkIdleLocked()) return waiting.end();
    for (auto it = waiting.begin(); it != waiting.end(); ++it) {
      const Digest& d = jobs[it->first].digest;
      if (settled_.contains(d.str()) || !env_.transcodes->transcoder().Follow(d).ok()) continue;
      early_.insert(d.str());
      handed_.insert(d.str());
      return it;
    }
    return waiting.end();
  }

  // The copy of `source` being made now, when MoveBlob should stream it:
  // handed early for that (StreamNext), or the link idle.
  std::shared_ptr<transcode::GrowingCopy> Streamable(const Digest& source, bool early) {
    auto g = env_.transcodes->transcoder().Follow(source);
    if (!g.ok()) return nullptr;
    std::lock_guard lock(mu_);
    if (!early && !LinkIdleLocked()) return nullptr;
    return std::move(*g);
  }

  // Where a streamed upload's session and offset are kept: by source and
  // level (the copy's bytes depend on both and nothing else).
  static std::string StreamKey(const Digest& source, int level) {
    return source.str() + "/zstd-" + std::to_string(level);
  }

  // A GrowingCopy as blob_sender sees it. Gated (the destination's probe
  // may still run): until the verdict, at most kBeforeVerdict bytes are
  // readable and the copy never ends; a refusal ends it with the refusal.
  class GrowingSource final : public GrowingBlob {
   public:
    GrowingSource(TranscodingPush& p, std::shared_ptr<transcode::GrowingCopy> g, bool gated)
        : p_(p), g_(std::move(g)), gated_(gated) {}
    Result<Seen> Wait(uint64_t offset, std::stop_token stop) override {
      for (;;) {
        std::optional<Status> v = gated_ ? p_.VerdictNow() : std::optional<Status>(Status::OK());
        if (v && !v->ok()) {
          refused_ = *v;
          return Seen{0, true};
        }
        if (v) {
          auto s = g_->Wait(offset, stop);
          if (!s.ok()) return s.status();
          return Seen{s->readable, s->ended};
        }
        // The probe runs: look again every 20 ms (short against it).
        auto s = g_->WaitUntil(offset, stop, std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
        if (!s.ok()) return s.status();
        const uint64_t readable = std::min(s->readable, kBeforeVerdict);
        if (readable > offset) return Seen{readable, false};
      }
    }
    int fd() override { return g_->fd(); }
    Result<std::pair<Digest, uint64_t>> Final() override {
      if (!refused_.ok()) return refused_;
      auto t = g_->result();
      if (!t.ok()) return t.status();
      return std::make_pair(t->digest, t->size);
    }

   private:
    TranscodingPush& p_;
    std::shared_ptr<transcode::GrowingCopy> g_;
    const bool gated_;
    Status refused_ = Status::OK();
  };

  // Sends the copy of `job` (a gzip layer) while it is made (StreamBlob);
  // a copy that turns out not to be worth it is dropped at the destination
  // and the gzip layer sent instead.
  Result<BlobOutcome> Stream(const SendEnv& env, const BlobJob& job, std::shared_ptr<transcode::GrowingCopy> g,
                             bool gated) {
    auto reported = std::make_shared<std::atomic<uint64_t>>(0);
    SendEnv senv = env;
    senv.on_bytes = [reported, inner = env.on_bytes](uint64_t n) {
      *reported += n;
      if (inner) inner(n);
    };
    bool small = false;
    GrowingJob gj;
    gj.dst_repo = job.dst_repo;
    gj.progress_key = StreamKey(job.digest, g->level());
    gj.name = "zstd copy of " + job.digest.str();
    gj.accept = [&](const Digest&, uint64_t) -> Status {
      auto t = g->result();
      if (!t.ok()) return t.status();
      if (Worth(*t)) return Status::OK();
      small = true;
      return Status::FailedPrecondition("the zstd copy of " + job.digest.str() + " is not smaller");
    };
    if (env.log) {
      env.log("layer " + job.digest.str() + ": sending its zstd copy (level " + std::to_string(g->level()) +
              ") while it is made");
    }
    GrowingSource blob(*this, g, gated);
    Result<BlobOutcome> r = [&] {
      Sending busy(*this);
      return StreamBlob(senv, gj, blob);
    }();
    if (small) {
      if (env.log) {
        env.log("layer " + job.digest.str() + ": its zstd copy is not smaller; its upload (" +
                std::to_string(reported->load()) + " bytes acknowledged) was cancelled, sent as gzip");
      }
      // The progress already counted the streamed bytes for this layer:
      // the gzip upload only adds what goes past them.
      if (gated) PIER_TRY(AfterVerdict(env, job));
      SendEnv genv = env;
      auto skip = std::make_shared<std::atomic<uint64_t>>(reported->load());
      genv.on_bytes = [skip, inner = env.on_bytes](uint64_t n) {
        uint64_t s = skip->load();
        uint64_t take = std::min(s, n);
        skip->store(s - take);
        if (n > take && inner) inner(n - take);
      };
      Sending busy(*this);
      return plain_->MoveBlob(genv, job);
    }
    if (!r.ok()) return r.status();
    auto t = g->result();
    if (!t.ok()) return t.status();  // cannot be: the upload ended with it
    {
      std::lock_guard lock(mu_);
      sources_[t->digest.str()] = *t;
    }
    if (env.log) {
      env.log("layer " + job.digest.str() + " transcoded to zstd " + t->digest.str() + " at level " +
              std::to_string(t->level) + " (" + std::to_string(t->source_size) + " → " + std::to_string(t->size) +
              " bytes), streamed");
    }
    if (*r == BlobOutcome::kUploaded && env.observer != nullptr) {
      env.observer->OnTranscodeSaved(env.dest_name, t->source_size - t->size);
    }
    return r;
  }

  // An upload of the copy streamed before it was finished (cut, or the
  // process restarted) is continued by SendBlob under the copy's digest.
  void AdoptStreamed(const Transcoded& t) {
    if (env_.progress == nullptr) return;
    const int64_t dest = env_.remote_endpoint.id;
    const std::string key = StreamKey(t.source, t.level);
    auto p = env_.progress->GetUpload(dest, key);
    if (!p) return;
    if (!env_.progress->GetUpload(dest, t.digest.str())) {
      if (Status s = env_.progress->PutUpload(dest, t.digest.str(), *p); !s.ok()) {
        ReportInternalError("replication", "moving a streamed upload's progress to " + t.digest.str(), s);
        return;
      }
    }
    if (Status s = env_.progress->DeleteUpload(dest, key); !s.ok()) {
      ReportInternalError("replication", "forgetting a streamed upload's progress", s);
    }
  }

  // The policy's level, else one the link allows (zstd_level.h), chosen once
  // per execution.
  int Level() {
    if (env_.policy.compression.level > 0) return env_.policy.compression.level;
    std::lock_guard lock(mu_);
    if (level_ == 0) {
      std::optional<double> link;
      if (env_.progress != nullptr) link = env_.progress->LinkRate(env_.remote_endpoint.id);
      if (!link && env_.policy.BytesPerSecond() > 0) link = static_cast<double>(env_.policy.BytesPerSecond());
      transcode::Transcoder& t = env_.transcodes->transcoder();
      level_ = ChooseZstdLevel(link, [&t](int l) { return t.OutputRate(l); });
    }
    return level_;
  }

  // Only a copy at least 1 % smaller replaces its layer: already-compressed
  // content (jars, media) saves next to nothing, and a new digest costs the
  // layer's sharing with gzip copies of it at the destination.
  static bool Worth(const Transcoded& t) { return t.size + t.source_size / 100 <= t.source_size; }

  bool Pending(const Digest& d) {
    std::lock_guard lock(mu_);
    return pending_.contains(d.str());
  }

  void Substitute(BlobJob& job, const Transcoded& t) {
    {
      std::lock_guard lock(mu_);
      sources_[t.digest.str()] = t;
    }
    AdoptStreamed(t);
    job.digest = t.digest;
    job.size = t.size;
    job.derived = true;
  }

  std::optional<Transcoded> SourceOf(const Digest& zstd) {
    std::lock_guard lock(mu_);
    auto it = sources_.find(zstd.str());
    if (it == sources_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<std::string> Originals(int64_t task_id) {
    std::lock_guard lock(mu_);
    auto it = rewritten_.find(task_id);
    return it == rewritten_.end() ? std::vector<std::string>{} : it->second;
  }

  // Rewrites the task's manifests over the recorded copies (every layer the
  // copy names must have one by now), in place; remembers the originals.
  Status Rewrite(const Task& task, PlannedCopy& copy) {
    transcode::Transcoder& t = env_.transcodes->transcoder();
    Status missing = Status::OK();
    LayerMap map = [&](const Descriptor& layer) -> std::optional<ZstdLayer> {
      auto known = t.Lookup(layer.digest);
      if (!known.ok()) {
        if (missing.ok()) missing = Status::Internal("layer " + layer.digest.str() + " has no zstd copy: " + known.status().message());
        return std::nullopt;
      }
      if (!Worth(*known)) return std::nullopt;
      return ZstdLayer{known->digest, known->size};
    };
    std::vector<std::string> originals;
    std::map<std::string, RewrittenManifest> children;  // by source digest
    for (auto& m : copy.children) {
      auto parsed = ParseManifest(m.media_type, m.bytes);
      if (!parsed.ok()) return parsed.status();
      if (IsIndex(*parsed)) continue;  // a nested index: as is
      auto r = RewriteImageManifest(m.media_type, m.bytes, map);
      if (!r.ok()) return r.status();
      PIER_TRY(missing);
      children.emplace(m.digest, *r);
      if (!r->changed) continue;
      originals.push_back(m.digest);
      m.reference = r->digest.str();
      m.digest = r->digest.str();
      m.media_type = r->media_type;
      m.bytes = r->bytes;
    }
    auto parsed = ParseManifest(copy.top.media_type, copy.top.bytes);
    if (!parsed.ok()) return parsed.status();
    auto child = [&](const Descriptor& d) -> Result<RewrittenManifest> {
      auto it = children.find(d.digest.str());
      if (it != children.end()) return it->second;
      RewrittenManifest same;  // not rewritten (a nested index): as is
      same.digest = d.digest;
      return same;
    };
    auto top = IsIndex(*parsed) ? RewriteIndex(copy.top.media_type, copy.top.bytes, child)
                                : RewriteImageManifest(copy.top.media_type, copy.top.bytes, map);
    if (!top.ok()) return top.status();
    PIER_TRY(missing);
    if (top->changed) {
      originals.push_back(copy.top.digest);
      if (copy.top.reference == copy.top.digest) copy.top.reference = top->digest.str();
      copy.top.digest = top->digest.str();
      copy.top.media_type = top->media_type;
      copy.top.bytes = top->bytes;
    }
    std::lock_guard lock(mu_);
    rewritten_[task.id] = std::move(originals);
    return Status::OK();
  }

  std::unique_ptr<Direction> plain_;
  DirectionEnv env_;
  std::mutex probe_mu_;
  bool accepted_ = false;                              // the destination takes zstd (probe_mu_)
  std::optional<std::shared_future<Status>> probe_;    // the probe running or last run (probe_mu_)
  int level_ = 0;  // chosen by Level() (mu_)
  std::mutex mu_;
  std::map<std::string, TranscodeQueue::Future> pending_;  // gzip digest → its transcode
  std::map<std::string, Transcoded> sources_;              // zstd digest → its transcode
  std::map<int64_t, std::vector<std::string>> rewritten_;  // task → source digests rewritten
  int sending_ = 0;                  // MoveBlobs sending bytes (Sending)
  std::set<std::string> handed_;     // blobs handed to the workers, not taken yet
  std::set<std::string> early_;      // gzip digests handed before their copy was made: to stream
  std::set<std::string> settled_;    // blobs of tasks Settled ended (they are never moved)
  std::set<std::string> gated_;      // blobs of tasks with gzip layers: moved after the probe's verdict
  std::set<int64_t> gated_tasks_;    // those tasks: manifests put after it
  std::jthread probe_thread_;        // last: stopped and joined before the members it uses go
};

}  // namespace

std::unique_ptr<Direction> MakeTranscodingPush(std::unique_ptr<Direction> plain, DirectionEnv env) {
  return std::make_unique<TranscodingPush>(std::move(plain), std::move(env));
}

}  // namespace pier::replication
