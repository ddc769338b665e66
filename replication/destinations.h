#pragma once
// Destinations: the engine's remote registries, one Destination each
// (client, link budget, worker pool, image gate, single-flight map), built
// on first use from the stored endpoint through the ClientFactory and
// rebuilt when the endpoint changes.
//
// A replaced or forgotten destination is retired, not destroyed: its queued
// jobs still run to their end, and no pool thread ever joins itself. Clear()
// (at shutdown, after every execution ended) destroys them all.
// Thread-safe; mu_'s place in the lock order: run_state.h.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "replication/client_factory.h"
#include "replication/engine.h"
#include "replication/run_state.h"
#include "replication/state_store.h"

namespace pier::replication {

class Destinations {
 public:
  Destinations(std::shared_ptr<ReplicationStore> repl, std::shared_ptr<ClientFactory> clients,
               const EngineOptions& options)
      : repl_(std::move(repl)), clients_(std::move(clients)), options_(options) {}

  // The destination for a registry id: NotFound when the endpoint is gone;
  // the factory's error when no client can be built for it.
  Result<std::shared_ptr<Destination>> For(int64_t registry_id);
  void Forget(int64_t registry_id);
  void Clear();

 private:
  std::shared_ptr<ReplicationStore> repl_;
  std::shared_ptr<ClientFactory> clients_;
  const EngineOptions& options_;
  std::mutex mu_;  // guards live_, retired_
  std::map<int64_t, std::shared_ptr<Destination>> live_;
  std::vector<std::shared_ptr<Destination>> retired_;
};

}  // namespace pier::replication
