#pragma once
// RegistryHandler: the OCI Distribution API (v1.1) over a Store, with
// authentication and per-repository authorization on every route, plus
// /healthz and /readyz.
#include <functional>
#include <memory>
#include <string>

#include "adapter/auth/auth.h"
#include "adapter/auth/token.h"
#include "adapter/http/message.h"
#include "cache/disk_space.h"
#include "cache/store.h"

namespace pier::proxy {
class PullThrough;
}  // namespace pier::proxy

namespace pier::registry {

// A change to a repository's manifests, for event-based replication.
struct ManifestEvent {
  bool deleted = false;   // false: pushed
  std::string repository;
  std::string reference;  // the tag or digest used in the request
  std::string digest;     // the manifest's digest ("" for a tag deletion)
};

struct RegistryOptions {
  // When Pier is reached through a proxy under another host or a path
  // prefix, e.g. "https://example.com/pier": Location and Link headers are
  // then absolute URLs under it. Empty: relative "/v2/..." URLs.
  std::string public_url;
  std::string realm = "pier";  // Basic realm in WWW-Authenticate
  // Pier's token realm (auth.token.enabled): 401 challenges become
  // `Bearer realm=...,service=...,scope=...` and tokens it issued are
  // accepted next to Basic credentials. Null: Basic only.
  std::shared_ptr<const auth::TokenService> token;
  // The realm URL in Bearer challenges. Empty: public_url + "/token", or
  // without public_url, built from the request's Host.
  std::string token_realm;
  bool access_log = true;
  // Largest manifest accepted (the spec asks for at least 4 MiB).
  uint64_t manifest_limit = 4 * 1024 * 1024;
  // Called after a manifest PUT or DELETE succeeded (before the answer is
  // sent); must be quick and must not throw.
  std::function<void(const ManifestEvent&)> on_event;
  // The pull-through cache (config `proxy.upstreams`); null: none. Names it
  // resolves are served from upstreams (cache/proxy/upstream.h), read-only.
  std::shared_ptr<proxy::PullThrough> pull_through;
  // Free space of the data folder (config storage.reserve_bytes): uploads
  // are refused with 403 DENIED "no space left on device" below the
  // reserve, and /readyz says so. Null: no up-front checks (an actual ENOSPC
  // is still answered that way).
  std::shared_ptr<DiskSpace> disk_space;
};

class RegistryHandler : public http::Handler {
 public:
  RegistryHandler(std::shared_ptr<Store> store, std::shared_ptr<auth::Authorizer> authorizer,
                  RegistryOptions options);
  http::Exchange Begin(const http::Request& request) override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace pier::registry
