// Push mode: this instance's store is the source, a remote registry the
// destination.
#include <map>

#include "base/internal_errors.h"
#include "replication/direction.h"
#include "replication/transcode_push.h"

namespace pier::replication {
namespace {

class Push final : public Direction {
 public:
  explicit Push(DirectionEnv env) : env_(std::move(env)) {}

  Result<std::vector<Task>> Plan(const PlanScope& scope, std::stop_token) override {
    return PlanPush(*env_.store, env_.policy, env_.remote_endpoint, scope);
  }

  Result<PlannedCopy> Prepare(const Task& task, std::stop_token) override {
    return PrepareCopy(*env_.store, env_.policy, task);
  }

  // Manifest HEAD at the destination first: nothing to do when it is there.
  std::optional<TaskEnd> Settled(const Task& t, const PlannedCopy& copy, const TaskLogFn& log,
                                 std::stop_token stop) override {
    client::Call call;
    call.stop = stop;
    auto head = env_.remote->HeadManifest(call, t.dst_repo, FirstReference(t, copy));
    if (head.ok()) {
      if (head->digest.str() == copy.top.digest && AllTagsThere(t, copy.top.digest, stop)) {
        log("the destination already has " + t.dst_resource + " (" + copy.top.digest + ")");
        Acknowledged(t, copy);
        return TaskEnd{std::string(kStatusSucceed), "already at the destination"};
      }
      if (head->digest.str() != copy.top.digest && !env_.policy.override) {
        log("skipped: " + t.dst_resource + " exists with another digest and override is off");
        return TaskEnd{std::string(kStatusSucceed), "skipped: exists at the destination and override is off"};
      }
    } else if (head.status().code() != Code::kNotFound) {
      if (call.error.kind == client::ErrorKind::kCancelled) return TaskEnd{std::string(kStatusStopped), "stopped"};
      Failed(call.error);
      // Not fatal: the blob steps will retry and tell.
      log("manifest HEAD failed: " + head.status().message());
    }
    return std::nullopt;
  }

  Result<BlobOutcome> MoveBlob(const SendEnv& env, const BlobJob& job) override { return SendBlob(env, job); }
  std::vector<BlobCheck> CheckBlobs(const SendEnv& env, std::vector<BlobJob>& jobs, bool open_sessions,
                                    const std::function<void(size_t)>& checked) override {
    return replication::CheckBlobs(env, jobs, open_sessions, checked);
  }

  Status PutManifests(const Task& t, const PlannedCopy& copy, const TaskLogFn& log, std::stop_token stop) override {
    auto put = [&](const std::string& ref, const ManifestToPush& m) {
      return WithRetry(env_.retry, stop, OnFailure(), [&](client::Call& call) {
        return env_.remote->PutManifest(call, t.dst_repo, ref, m.media_type, m.bytes).status();
      });
    };
    for (const auto& m : copy.children) PIER_TRY(put(m.reference, m));
    std::vector<std::string> refs = t.tags;
    if (refs.empty()) refs.push_back(copy.top.reference);
    for (const auto& ref : refs) PIER_TRY(put(ref, copy.top));
    log("manifest " + copy.top.digest + " pushed as " + t.dst_resource);
    Acknowledged(t, copy);
    return Status::OK();
  }

  Status Delete(const Task& t, const TaskLogFn& log, std::stop_token stop) override {
    std::vector<std::string> refs = t.tags;
    if (refs.empty()) refs.push_back(t.digest);
    std::map<std::string, Digest> digests;
    for (const auto& ref : refs) {
      client::Call call;
      call.stop = stop;
      auto h = env_.remote->HeadManifest(call, t.dst_repo, ref);
      if (h.ok()) digests.emplace(h->digest.str(), h->digest);
      else if (h.status().code() != Code::kNotFound) return h.status();
    }
    for (const auto& entry : digests) {
      // Named, not a structured binding: clang 14 cannot capture those in a lambda.
      const std::string& d = entry.first;
      const auto& digest = entry.second;
      PIER_TRY(WithRetry(env_.retry, stop, OnFailure(), [&](client::Call& call) {
        Status r = env_.remote->DeleteManifest(call, t.dst_repo, digest);
        return r.code() == Code::kNotFound ? Status::OK() : r;
      }));
      log("deleted " + t.dst_repo + "@" + d + " at the destination");
    }
    if (digests.empty()) log("nothing to delete: " + t.dst_resource + " is not at the destination");
    return Status::OK();
  }

 private:
  // The destination holds the artifact: eviction may count on it. A failed
  // record only keeps the artifact from being evicted.
  void Acknowledged(const Task& t, const PlannedCopy& copy) {
    if (env_.progress == nullptr) return;
    for (const auto& m : copy.children) (void)env_.progress->AddKnownManifest(env_.remote_endpoint.id, m.digest, t.dst_repo);
    Status s = env_.progress->AddKnownManifest(env_.remote_endpoint.id, copy.top.digest, t.dst_repo);
    if (!s.ok()) ReportInternalError("replication", "recording a manifest the destination holds failed", s);
  }

  bool AllTagsThere(const Task& t, const std::string& digest, std::stop_token stop) {
    for (size_t i = 1; i < t.tags.size(); ++i) {
      client::Call call;
      call.stop = stop;
      auto h = env_.remote->HeadManifest(call, t.dst_repo, t.tags[i]);
      if (!h.ok() || h->digest.str() != digest) return false;
    }
    return true;
  }

  void Failed(const client::ClientError& e) {
    env_.observer->OnFailure(env_.remote_endpoint.name, env_.policy.name, ReasonOf(e.kind));
  }
  std::function<void(const client::ClientError&)> OnFailure() {
    return [this](const client::ClientError& e) { Failed(e); };
  }

  DirectionEnv env_;
};

}  // namespace

std::unique_ptr<Direction> MakePushDirection(DirectionEnv env) { return std::make_unique<Push>(std::move(env)); }

std::unique_ptr<Direction> MakeDirection(DirectionEnv env) {
  if (!env.policy.PushMode()) return MakePullDirection(std::move(env));
  if (env.policy.compression.format == kCompressionZstd) {
    auto plain = MakePushDirection(env);
    return MakeTranscodingPush(std::move(plain), std::move(env));
  }
  return MakePushDirection(std::move(env));
}

}  // namespace pier::replication
