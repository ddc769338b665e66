#pragma once
// HealthChecker: keeps each replication endpoint's health current, as Harbor
// does (it pings every registry every 5 minutes), including the endpoints
// seeded from the config, which nothing else pings.
//
// Promises:
//  - every endpoint is pinged when the checker first sees it: at start, and
//    within `failing_interval` after it is created or its URL changes (the
//    thread reads the endpoint list that often; reading it is cheap, only
//    due endpoints are pinged). Then every `interval` while it answers and
//    every `failing_interval` while it does not, so a recovered destination
//    shows up within `failing_interval`;
//  - the answer is recorded as the endpoint's `status` ("healthy" |
//    "unhealthy", what GET /api/v2.0/registries shows) only when it changed
//    and only if the URL is still the one pinged, and is reported to the
//    observer as SetDestinationUp(name, ok) on every check (metrics:
//    pier_replication_destination_up);
//  - pings run one at a time on the checker's own thread, never under a lock
//    the rest of Pier takes; a store error is reported as an internal error
//    ("health") and the check continues with the next endpoint.
// Thread-safe: Stop may be called from any thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/status.h"
#include "replication/observer.h"
#include "replication/registry_endpoint.h"
#include "replication/state_store.h"

namespace pier::replication {

struct HealthOptions {
  std::chrono::seconds interval{300};         // between checks of an endpoint that answered (Harbor: 5 min)
  std::chrono::seconds failing_interval{30};  // between checks of one that did not
};

// Pings one endpoint (GET /v2/ with its credentials): OK when it answered as
// a registry and accepted the credentials.
using PingFunction = std::function<Status(const Endpoint&)>;

class HealthChecker {
 public:
  // `repl`, `observer` and `clock` must outlive the checker.
  HealthChecker(ReplicationStore& repl, PingFunction ping, ReplicationObserver& observer, const Clock& clock,
                HealthOptions options = {});
  ~HealthChecker();  // stops the thread
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Pings every endpoint that is due at clock.Steady() and returns when the
  // next one is due (at most `interval` ahead). What the thread runs; tests
  // call it directly with a FakeClock.
  std::chrono::steady_clock::time_point CheckDue();

  // Starts the background thread (checks at once, then when due).
  void Start();
  // Stops the thread, after the ping in flight (if any) returns.
  void Stop();

 private:
  struct Due {
    std::string url;  // the URL the schedule belongs to; another URL is checked at once
    std::chrono::steady_clock::time_point at;
  };
  void Run();

  ReplicationStore& repl_;
  PingFunction ping_;
  ReplicationObserver& observer_;
  const Clock& clock_;
  const HealthOptions options_;

  std::mutex schedule_mu_;  // guards schedule_ (CheckDue runs on one thread at a time)
  std::map<int64_t, Due> schedule_;

  std::mutex mu_;  // guards stop_, thread_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pier::replication
