#pragma once
// Where a build goes and what it costs there: the enabled push policies
// whose filters take the repository and tag, one entry per destination
// repository, each with the blobs its known-blob index lacks and the rate
// to price them at (advisor.h says which facts count).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "replication/policy.h"
#include "replication/progress_store.h"
#include "replication/state_store.h"

namespace pier::advisor {

struct Destination {
  int64_t endpoint_id = 0;
  std::string name;        // the endpoint's name
  std::string url;
  std::string repository;  // the repository at the destination
  std::vector<std::string> policies;
  replication::Compression compression;  // of the first policy (they normally agree)
  std::optional<double> rate;            // bytes/s
  std::string rate_source;               // history | policy speed | bandwidth cap | none
};

// The destinations `repository:tag` replicates to (tag "" = untagged/digest).
Result<std::vector<Destination>> DestinationsOf(replication::ReplicationStore& repl,
                                                replication::ProgressStore& progress, std::string_view repository,
                                                std::string_view tag, uint64_t engine_bytes_per_second);

// Seconds `bytes` take at `rate` (bytes/s) to a tenth, JSON null when the
// rate is unknown.
nlohmann::json SecondsAt(const std::optional<double>& rate, uint64_t bytes);

// Whether the destination holds `d` (in its repository, or in another one
// there: a mount, no bytes).
bool HeldAt(replication::ProgressStore& progress, const Destination& dest, const Digest& d);

}  // namespace pier::advisor
