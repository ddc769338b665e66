#pragma once
// SeenEvents: the webhook intake's memory of the events it accepted, so an
// event Harbor sends again (it retries a post it got no 2xx for within 3 s,
// three times) starts nothing twice. Kept in the repl_events key space
// (cache/keys.h) and pruned, so it does not grow forever: an event is
// remembered for `max_age` and at most `max_entries` events are kept (the
// oldest go first). Harbor's retries come within seconds, so the defaults
// (7 days, 50,000 events) remember far longer than dedup needs.
//
// Promises: RecordIfNew is atomic per key across threads (two deliveries of
// one event at once: exactly one is new), and the event is durable before it
// returns true. Pruning runs at Open and after every `prune_every` new events;
// a failed prune is reported as an internal error ("webhook") and never fails
// the intake. Thread-safe.
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "cache/store.h"

namespace pier::replication {

struct SeenEventsOptions {
  std::chrono::seconds max_age = std::chrono::hours(24 * 7);
  size_t max_entries = 50000;
  size_t prune_every = 256;
};

class SeenEvents {
 public:
  // Adopts what an older Pier left in `space` (events without a time are
  // given the time of this Open) and prunes. `clock` must outlive this.
  static Result<std::unique_ptr<SeenEvents>> Open(std::shared_ptr<KvSpace> space, const Clock& clock,
                                                  SeenEventsOptions options = {});

  // Records the event `key` ("harbor/<event id>"; `what` is a note for a
  // human reading the database). True when it was new and is now recorded,
  // false when it was seen before (and is still remembered).
  Result<bool> RecordIfNew(std::string_view key, std::string_view what);

  // Forgets events older than max_age, then the oldest beyond max_entries.
  // Returns how many were forgotten.
  Result<size_t> Prune();

 private:
  SeenEvents(std::shared_ptr<KvSpace> space, const Clock& clock, SeenEventsOptions options);
  Result<size_t> PruneLocked();

  std::mutex mu_;
  std::shared_ptr<KvSpace> space_;
  const Clock& clock_;
  const SeenEventsOptions options_;
  size_t since_prune_ = 0;
};

}  // namespace pier::replication
