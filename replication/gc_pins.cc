#include "replication/gc_pins.h"

#include <memory>

#include "base/internal_errors.h"

namespace pier::replication {
namespace {

std::string Key(std::string_view repo, std::string_view digest) {
  std::string k(repo);
  k.push_back('\0');
  k.append(digest);
  return k;
}

}  // namespace

void ReplicationPins::Add(std::string_view repo, std::string_view digest) {
  if (!repo.empty() && !digest.empty()) keys_.insert(Key(repo, digest));
}

Result<ReplicationPins> ReplicationPins::Load(ExecutionStore& executions) {
  ReplicationPins pins;
  auto unfinished = executions.Unfinished();
  if (!unfinished.ok()) return unfinished.status();
  for (const Execution& e : *unfinished) {
    if (!e.planned) {
      // Planning reads the repository when it runs: what the event named
      // must still be there then.
      if (!e.event_deletion) pins.Add(e.event_repository, e.event_digest);
      continue;
    }
    auto tasks = executions.ListTasks(e.id);
    if (!tasks.ok()) return tasks.status();
    for (const Task& t : *tasks) {
      if (t.operation == kOperationCopy && !IsFinalStatus(t.status)) pins.Add(t.src_repo, t.digest);
    }
  }
  return pins;
}

bool ReplicationPins::Pinned(std::string_view repo, const Digest& d) const {
  return keys_.contains(Key(repo, d.str()));
}

std::function<bool(std::string_view, const Digest&)> ReplicationPins::Predicate() const {
  auto shared = std::make_shared<const ReplicationPins>(*this);
  return [shared](std::string_view repo, const Digest& d) { return shared->Pinned(repo, d); };
}

std::function<std::function<bool(std::string_view, const Digest&)>()> PinsHook(
    std::shared_ptr<ExecutionStore> executions, std::shared_ptr<transcode::Transcoder> transcoder) {
  return [executions, transcoder]() -> std::function<bool(std::string_view, const Digest&)> {
    auto pins = ReplicationPins::Load(*executions);
    if (!pins.ok()) {
      ReportInternalError("gc", "reading the replication pins failed: nothing is collected this run", pins.status());
      return [](std::string_view, const Digest&) { return true; };
    }
    auto tasks = pins->Predicate();
    if (!transcoder) return tasks;
    return [tasks, transcoder](std::string_view repo, const Digest& d) {
      return repo.empty() ? transcoder->Held(d) : tasks(repo, d);
    };
  };
}

}  // namespace pier::replication
