// Pull mode: a remote registry is the source, this instance's store the
// destination.
#include <optional>

#include "base/manifest.h"
#include "replication/blob_fetcher.h"
#include "replication/direction.h"

namespace pier::replication {
namespace {

class Pull final : public Direction {
 public:
  explicit Pull(DirectionEnv env) : env_(std::move(env)) {}

  Result<std::vector<Task>> Plan(const PlanScope& scope, std::stop_token stop) override {
    return PlanPull(*env_.remote, env_.policy, scope, stop);
  }

  Result<PlannedCopy> Prepare(const Task& task, std::stop_token stop) override {
    return PreparePull(*env_.remote, env_.policy, task, stop);
  }

  std::optional<TaskEnd> Settled(const Task& t, const PlannedCopy& copy, const TaskLogFn&, std::stop_token) override {
    auto have = env_.store->GetManifest(t.dst_repo, FirstReference(t, copy));
    if (have.ok() && have->digest.str() == copy.top.digest) return TaskEnd{std::string(kStatusSucceed), "already here"};
    if (have.ok() && !env_.policy.override) {
      return TaskEnd{std::string(kStatusSucceed), "skipped: exists here and override is off"};
    }
    return std::nullopt;
  }

  Result<BlobOutcome> MoveBlob(const SendEnv& env, const BlobJob& job) override { return FetchBlob(env, job); }

  // The manifests go into this instance's store, children first; then the
  // push events fire, so push policies chain (Harbor → Pier → ACR).
  Status PutManifests(const Task& t, const PlannedCopy& copy, const TaskLogFn& log, std::stop_token) override {
    auto put = [&](const ManifestToPush& m, std::optional<std::string_view> tag) -> Status {
      auto parsed = ParseManifest(m.media_type, m.bytes);
      if (!parsed.ok()) return parsed.status();
      return env_.store->PutManifest(t.dst_repo, tag, parsed->media_type, m.bytes, *parsed).status();
    };
    for (const auto& m : copy.children) PIER_TRY(put(m, std::nullopt));
    if (t.tags.empty()) {
      PIER_TRY(put(copy.top, std::nullopt));
      Stored(t.dst_repo, copy.top.digest, copy.top.digest);
    }
    for (const auto& tag : t.tags) {
      PIER_TRY(put(copy.top, tag));
      Stored(t.dst_repo, tag, copy.top.digest);
    }
    log("manifest " + copy.top.digest + " stored as " + t.dst_resource);
    return Status::OK();
  }

  Status Delete(const Task& t, const TaskLogFn& log, std::stop_token) override {
    std::vector<std::string> refs = t.tags;
    if (refs.empty()) refs.push_back(t.digest);
    for (const auto& ref : refs) {
      auto m = env_.store->GetManifest(t.dst_repo, ref);
      if (!m.ok()) continue;  // already gone
      Status s = env_.store->DeleteManifest(t.dst_repo, m->digest);
      if (!s.ok() && s.code() != Code::kNotFound) return s;
      log("deleted " + t.dst_repo + "@" + m->digest.str());
    }
    return Status::OK();
  }

 private:
  void Stored(std::string_view repo, std::string_view ref, std::string_view digest) {
    if (env_.on_stored) env_.on_stored(repo, ref, digest);
  }

  DirectionEnv env_;
};

}  // namespace

std::unique_ptr<Direction> MakePullDirection(DirectionEnv env) { return std::make_unique<Pull>(std::move(env)); }

}  // namespace pier::replication
