#pragma once
// ClientFactory: where the engine gets the registry client for an endpoint.
// The engine is handed one (production: RegistryClientFactory, real network
// clients; tests: an in-memory fake), so nothing in the engine builds a
// client itself.
//
// ClientOptionsFor is the one mapping from a stored endpoint (URL,
// credential, CA, insecure) to client options: the engine and the API's
// "ping this registry" both use it, so they can never disagree about how an
// endpoint is reached.
#include <cstddef>
#include <memory>

#include "adapter/client/registry_client.h"
#include "base/status.h"
#include "replication/registry_endpoint.h"

namespace pier::replication {

// How hard a client tries; the endpoint says where and as whom.
struct ClientTuning {
  int no_progress_timeout_seconds = 60;
  size_t max_idle_connections = 4;
};

client::ClientOptions ClientOptionsFor(const Endpoint& endpoint, const ClientTuning& tuning);

class ClientFactory {
 public:
  virtual ~ClientFactory() = default;
  // A client for `endpoint`, sending nothing yet. InvalidArgument naming the
  // registry when its URL or CA certificate is unusable.
  virtual Result<std::unique_ptr<client::RegistryClient>> Create(const Endpoint& endpoint) = 0;
};

// Real clients (adapter/client) built with ClientOptionsFor(endpoint, tuning).
std::shared_ptr<ClientFactory> RegistryClientFactory(ClientTuning tuning);

}  // namespace pier::replication
