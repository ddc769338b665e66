#pragma once
// ReplicationStore: the durable list of replication endpoints and policies,
// kept in the store's RocksDB (column families repl_registries and
// repl_policies, see cache/keys.h) through Store::OpenKeySpace.
//
// Promises:
//  - ids are allocated monotonically per kind, starting at 1, and never
//    reused (the last id is persisted with the record in one synced batch);
//  - names are unique per kind: AlreadyExists naming the name;
//  - records survive restarts; stored secrets are kept (the API layer masks
//    them with EndpointToJson), so the record encoding is internal;
//  - unknown ids: NotFound. Deleting an endpoint a policy uses:
//    FailedPrecondition naming the policy.
// Thread-safe (one mutex; these are rare admin operations).
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cache/store.h"
#include "replication/policy.h"
#include "replication/registry_endpoint.h"

namespace pier::replication {

class ReplicationStore {
 public:
  static Result<std::unique_ptr<ReplicationStore>> Open(Store& store);
  ReplicationStore(std::shared_ptr<KvSpace> endpoints, std::shared_ptr<KvSpace> policies)
      : endpoints_(std::move(endpoints)), policies_(std::move(policies)) {}

  // Assigns id, creation_time and update_time (now); returns the stored record.
  Result<Endpoint> CreateEndpoint(Endpoint e);
  Result<Endpoint> GetEndpoint(int64_t id);
  // Sorted by id.
  Result<std::vector<Endpoint>> ListEndpoints();
  // Replaces the record with e.id (creation_time kept, update_time = now).
  Result<Endpoint> UpdateEndpoint(Endpoint e);
  Status DeleteEndpoint(int64_t id);
  // Records a health check's answer ("healthy" | "unhealthy") for the
  // endpoint with `id`, but only while its URL is still `url` (the one that
  // was pinged): a check racing an edit never labels the new URL. Leaves
  // update_time alone (a health change is not an edit). NotFound when the
  // endpoint is gone; OK without writing when nothing changes.
  Status SetEndpointStatus(int64_t id, std::string_view url, std::string_view status);

  Result<Policy> CreatePolicy(Policy p);
  Result<Policy> GetPolicy(int64_t id);
  Result<std::vector<Policy>> ListPolicies();
  Result<Policy> UpdatePolicy(Policy p);
  Status DeletePolicy(int64_t id);

 private:
  std::mutex mu_;
  std::shared_ptr<KvSpace> endpoints_;
  std::shared_ptr<KvSpace> policies_;
};

// Internal record encodings (exposed for tests): unlike EndpointToJson they
// keep the secret, and they keep times to the millisecond.
std::string EncodeEndpointRecord(const Endpoint& e);
Result<Endpoint> DecodeEndpointRecord(std::string_view text);
std::string EncodePolicyRecord(const Policy& p);
Result<Policy> DecodePolicyRecord(std::string_view text);

}  // namespace pier::replication
