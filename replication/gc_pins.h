#pragma once
// What garbage collection must leave alone for replication (cache/README.md,
// "Garbage collection", rule 5): every artifact a replication that has not
// finished still has to copy. Read from the persisted executions, so the
// same pins hold for `pier gc` offline and after a restart.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "base/digest.h"
#include "base/status.h"
#include "cache/transcode/transcoder.h"
#include "replication/execution_store.h"

namespace pier::replication {

class ReplicationPins {
 public:
  // The artifacts (source repository, manifest digest) of every copy task
  // not yet final in an unfinished execution, and the pushed digest of an
  // unfinished event-based execution not planned yet.
  static Result<ReplicationPins> Load(ExecutionStore& executions);

  bool Pinned(std::string_view repo, const Digest& d) const;
  size_t size() const { return keys_.size(); }
  // A predicate for GcOptions::pinned that owns a copy of the set.
  std::function<bool(std::string_view, const Digest&)> Predicate() const;

 private:
  void Add(std::string_view repo, std::string_view digest);
  std::unordered_set<std::string> keys_;  // repo '\0' digest
};

// GcServiceOptions::pins (cache/gc/gc_service.h): loads the pins afresh at
// the start of each run. When they cannot be read, everything is pinned for
// that run (nothing is collected rather than something a replication needs)
// and the failure is reported as an internal error. With `transcoder`, a
// derived blob (repo "") it holds for a replication sending it is pinned too.
std::function<std::function<bool(std::string_view, const Digest&)>()> PinsHook(
    std::shared_ptr<ExecutionStore> executions, std::shared_ptr<transcode::Transcoder> transcoder = nullptr);

}  // namespace pier::replication
