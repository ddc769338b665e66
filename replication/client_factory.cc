#include "replication/client_factory.h"

namespace pier::replication {

client::ClientOptions ClientOptionsFor(const Endpoint& endpoint, const ClientTuning& tuning) {
  client::ClientOptions o;
  o.url = endpoint.url;
  o.username = endpoint.credential.access_key;
  o.password = endpoint.credential.access_secret;
  o.ca_pem = endpoint.ca_certificate;
  o.insecure = endpoint.insecure;
  o.no_progress_timeout_seconds = tuning.no_progress_timeout_seconds;
  o.max_idle_connections = tuning.max_idle_connections;
  return o;
}

namespace {

class RealFactory final : public ClientFactory {
 public:
  explicit RealFactory(ClientTuning tuning) : tuning_(tuning) {}
  Result<std::unique_ptr<client::RegistryClient>> Create(const Endpoint& endpoint) override {
    auto c = client::RegistryClient::Create(ClientOptionsFor(endpoint, tuning_));
    if (!c.ok()) return Status(c.status().code(), "registry " + endpoint.name + ": " + c.status().message());
    return c;
  }

 private:
  ClientTuning tuning_;
};

}  // namespace

std::shared_ptr<ClientFactory> RegistryClientFactory(ClientTuning tuning) {
  return std::make_shared<RealFactory>(tuning);
}

}  // namespace pier::replication
