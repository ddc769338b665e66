#pragma once
// Config-seeded replication: the registries and policies declared under
// "replication" in Pier's config file (so a Helm chart's values can carry
// them), upserted into the ReplicationStore at startup.
//
//   "replication": {
//     "registries": [{"name": "acr", "type": "ali-acr", "url": "https://...",
//                     "credential": {"type": "basic", "access_key": "u",
//                                    "access_secret_file": "/etc/pier/secrets/acr"},
//                     "insecure": false, "ca_certificate_file": "/etc/pier/ca.pem"}],
//     "policies": [{"name": "to-acr", "src_registry": null, "dest_registry": {"name": "acr"},
//                   "dest_namespace": "team", "trigger": {"type": "event_based"}, ...}]
//   }
//
// A registry entry is the body of Harbor's POST /registries
// (ParseEndpointCreate) plus credential.access_secret_file and
// ca_certificate_file, read at parse time so secrets need not sit in the
// config. A policy entry is Harbor's policy JSON (ParsePolicy) except that
// src_registry / dest_registry name a registry of this config:
// {"name": "acr"}; null or absent means this instance.
//
// Promises:
//  - ParseSeed is strict: unknown keys, wrong types, invalid values, unknown
//    or duplicate names and unreadable files are InvalidArgument whose
//    message starts with the full key path as written in the config
//    ("replication.policies[0].filters[1].decoration: ...").
//  - ApplySeed upserts by name: absent records are created, present ones
//    are replaced by the config's version (the config wins) keeping their
//    id and creation time; records equal to the config are not rewritten;
//    nothing is ever deleted. Registries are not pinged (a destination that
//    is down must not stop Pier from starting); their status stays
//    "unknown" until the API or the engine talks to them.
//  - Every policy passes CheckPolicyForDestination against the repositories
//    the store holds before anything is written.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cache/store.h"
#include "replication/policy.h"
#include "replication/registry_endpoint.h"
#include "replication/state_store.h"

namespace pier::replication {

struct SeedPolicy {
  Policy policy;          // src/dest registry ids are 0 here; the names say which
  std::string src_name;   // "" = this instance
  std::string dest_name;  // "" = this instance
};

struct Seed {
  std::vector<Endpoint> registries;
  std::vector<SeedPolicy> policies;
  bool empty() const { return registries.empty() && policies.empty(); }
};

// Parses the "replication" object; `where` prefixes every error path.
Result<Seed> ParseSeed(const nlohmann::json& j, std::string_view where = "replication");

struct SeedReport {
  int created = 0;    // registries + policies
  int updated = 0;
  int unchanged = 0;
};

// Upserts `seed` into `repl` (see Promises). `store` (may be null) gives the
// known repositories for the ACR name check. Errors name the config path.
Result<SeedReport> ApplySeed(const Seed& seed, ReplicationStore& repl, Store* store,
                             std::string_view where = "replication");

}  // namespace pier::replication
