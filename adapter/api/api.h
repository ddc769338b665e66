#pragma once
// The Harbor-compatible management API under /api/v2.0 (reference/harbor.md,
// Management API): replication endpoints (/registries...), the adapter list,
// replication policies and executions, the pull-through cache's
// upstreams with their health (/proxy/upstreams, read-only), garbage
// collection (/system/gc: history, logs, stop, schedule; gc.cc), project
// storage quotas (/quotas, quotas.cc) and tag retention (/retentions,
// retentions.cc), and Pier's layer advisor (/report, report.cc). Answers
// are Harbor's JSON objects; errors are
// Harbor's shape {"errors":[{"code","message"}]}.
//
// Auth decision: with auth on (htpasswd configured) every route needs an
// authenticated user named in `admins` (401 with a Basic challenge when
// anonymous or wrong credentials, 403 for other users; an empty list means
// nobody may use the API) — except /report, which anyone who may pull the
// named repository may read (the ACL's answer, anonymous included). With
// auth off the API is open, like the registry itself (LAN mode).
// Secrets are never returned ("*****") nor logged.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapter/auth/auth.h"
#include "adapter/http/message.h"
#include "cache/store.h"
#include "replication/observer.h"
#include "replication/registry_endpoint.h"
#include "replication/state_store.h"

namespace pier::proxy {
class PullThrough;
}  // namespace pier::proxy

namespace pier::gc {
class GcService;
}  // namespace pier::gc
namespace pier::advisor {
class Advisor;
}
namespace pier::retention {
class Service;
}  // namespace pier::retention

namespace pier::replication {
class Engine;
class ExecutionStore;
}  // namespace pier::replication

namespace pier::api {

inline constexpr std::string_view kApiPrefix = "/api/v2.0";

// Checks an endpoint is reachable and accepts its credentials (Harbor's
// health check). The default uses client::RegistryClient::Ping.
using Pinger = std::function<Status(const replication::Endpoint&)>;
Status PingEndpoint(const replication::Endpoint& e);

struct ApiOptions {
  std::vector<std::string> admins;
  std::string realm = "pier";
  bool access_log = true;
  Pinger pinger = PingEndpoint;
  // Executions (/replication/executions...): absent → those routes answer
  // 400 "not available". The engine is also told when an endpoint changes.
  std::shared_ptr<replication::Engine> engine;
  std::shared_ptr<replication::ExecutionStore> executions;
  // Told about policies created or changed here, so their metric series
  // exist at once (replication/announce.h); null: nobody listens.
  std::shared_ptr<replication::ReplicationObserver> observer;
  // The pull-through cache (/proxy/upstreams lists its upstreams and their
  // health); null: no upstreams configured, the list is empty.
  std::shared_ptr<const proxy::PullThrough> pull_through;
  // Garbage collection (/system/gc...): absent → those routes answer 400
  // "not available".
  std::shared_ptr<gc::GcService> gc;
  // Tag retention (/retentions..., retentions.cc); null: those routes
  // answer 400 "not available" (metadatas still answers).
  std::shared_ptr<retention::Service> retention;
  // The layer advisor (GET /report, report.cc); null: that route answers
  // 400 "not available".
  std::shared_ptr<advisor::Advisor> advisor;
};

class ApiHandler : public http::Handler {
 public:
  // `store` supplies the local repository names for the ali-acr policy check.
  ApiHandler(std::shared_ptr<replication::ReplicationStore> repl, std::shared_ptr<Store> store,
             std::shared_ptr<auth::Authorizer> authorizer, ApiOptions options);
  http::Exchange Begin(const http::Request& request) override;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Sends /api/v2.0 and everything under it to `api`, the rest to `fallback`
// (the registry).
class PrefixRouter : public http::Handler {
 public:
  PrefixRouter(std::shared_ptr<http::Handler> api, std::shared_ptr<http::Handler> fallback)
      : api_(std::move(api)), fallback_(std::move(fallback)) {}
  http::Exchange Begin(const http::Request& request) override;
  static bool IsApiPath(std::string_view path);

 private:
  std::shared_ptr<http::Handler> api_;
  std::shared_ptr<http::Handler> fallback_;
};

}  // namespace pier::api
