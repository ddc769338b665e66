#pragma once
// Triggers: what starts executions besides the API's manual Start.
//  - Events on this instance: a push starts the enabled event-based push
//    policies that select the repository, for the digest that was pushed
//    (not what the tag points to later); a delete starts those of them that
//    replicate deletions.
//  - Harbor webhooks: start the enabled event-based pull policies whose
//    source is a `harbor` endpoint on the event's host, for the event's
//    digest when it has one (resources[].digest).
//  - Cron: CronTrigger starts scheduled policies when their time comes, by
//    the Clock it is given (tests move a FakeClock).
// A policy that cannot start is logged and the others still start; a
// policy list that cannot be read is an internal error (counted).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "replication/execution.h"
#include "replication/policy.h"
#include "replication/state_store.h"

namespace pier::replication {

// The artifact an event names (empty for manual and scheduled starts).
struct EventScope {
  std::string repository;
  std::string reference;  // the tag, or the digest when pushed by digest
  std::string digest;     // what was pushed ("" when unknown)
  bool deletion = false;
};

using StartFn = std::function<Result<Execution>(int64_t policy_id, std::string_view trigger, const EventScope& scope)>;

// The enabled policies of `trigger_type` that pass `keep` (every one when
// null). The one loop over policies every trigger uses. A list that cannot
// be read is reported (ReportInternalError) and returned.
Result<std::vector<Policy>> EnabledPolicies(ReplicationStore& repl, std::string_view trigger_type,
                                    const std::function<bool(const Policy&)>& keep);
// The enabled policies of `trigger_type` whose filters select `repo` and
// that pass `keep`.
Result<std::vector<Policy>> PoliciesSelecting(ReplicationStore& repl, std::string_view trigger_type, std::string_view repo,
                                      const std::function<bool(const Policy&)>& keep);

class EventTriggers {
 public:
  EventTriggers(std::shared_ptr<ReplicationStore> repl, StartFn start)
      : repl_(std::move(repl)), start_(std::move(start)) {}

  void OnPush(std::string_view repo, std::string_view reference, std::string_view digest);
  void OnDelete(std::string_view repo, std::string_view reference, std::string_view digest);
  void OnHarborEvent(std::string_view repo, std::string_view reference, std::string_view digest, bool deletion,
                     std::string_view source_host);

 private:
  void StartAll(const Result<std::vector<Policy>>& policies, const EventScope& scope, std::string_view what);

  std::shared_ptr<ReplicationStore> repl_;
  StartFn start_;
};

// Not thread-safe: one scheduler thread calls Tick.
class CronTrigger {
 public:
  CronTrigger(std::shared_ptr<ReplicationStore> repl, const Clock& clock, StartFn start)
      : repl_(std::move(repl)), clock_(clock), start_(std::move(start)) {}

  // Starts every scheduled policy whose fire time has come by the clock; a
  // policy seen for the first time is scheduled from now (a start does not
  // catch up with missed times). fire=false only moves the schedule on: a
  // replica that does not run the cluster's schedules keeps its times
  // current, so it neither fires twice nor catches up when it takes over.
  void Tick(bool fire = true);

 private:
  std::shared_ptr<ReplicationStore> repl_;
  const Clock& clock_;
  StartFn start_;
  std::map<int64_t, std::chrono::system_clock::time_point> next_;  // policy id → next fire time
};

}  // namespace pier::replication
