#pragma once
// The pull-through cache's upstreams (config `proxy.upstreams[]`) and how a
// request's repository name reaches one.
//
// Two addressing styles, as clients send them (README "Use Pier as a mirror"):
//  - prefix: `/v2/<prefix>/<repo>/...` (podman/CRI-O mirrors, Harbor proxy
//    projects): the rest of the name is the upstream repository;
//  - ns: `/v2/<repo>/...?ns=<registry host>` (containerd hosts.toml mirrors):
//    the whole name is the upstream repository.
// Either way the cached copy lives in the local repository
// `<prefix>/<upstream repository>` (the upstream's name when it has no
// prefix), so both styles share one cache, ACL rules name it like any other
// repository (`hub/**`), and it never mixes with hosted repositories.
// Docker Hub's rule applies to upstreams that are Docker Hub: a one-component
// name gets `library/`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace pier::proxy {

struct Upstream {
  std::string name;    // unique; labels metrics and logs
  std::string url;     // base URL of the upstream registry
  std::string prefix;  // local repository prefix; defaults to `name`
  std::vector<std::string> ns;  // registry hosts containerd names in ?ns=
  std::string username;
  std::string password;  // read from password_file; never logged
  std::string password_file;
  bool insecure = false;
  std::string ca_file;  // extra CA certificates (PEM file)
  std::string ca_pem;   // its contents, read at load time
  // A cached tag older than this is revalidated with a HEAD upstream.
  int64_t tag_ttl_seconds = 60;
  // After a failed upstream call, requests use the cache without asking the
  // upstream for this long, so an outage does not cost each client a timeout.
  int64_t offline_period_seconds = 30;
  // Docker Hub (by URL or ns): one-component names get `library/`.
  bool docker_hub = false;
};

// Parses `proxy.upstreams` (a JSON array) at `path`; reads password and CA
// files. InvalidArgument naming the field ("proxy.upstreams[1].prefix: ...").
// Names and prefixes must be unique, prefixes valid repository-name
// components, no ns claimed twice, and no prefix inside another.
Result<std::vector<Upstream>> ParseUpstreams(const nlohmann::json& upstreams, std::string_view path);

// Unavailable naming the upstream and why it could not be used.
Status UpstreamError(const Upstream& up, const Status& cause);

struct Target {
  size_t upstream = 0;          // index into the upstream list
  std::string upstream_repo;    // the repository name at the upstream
  std::string local_repo;       // where Pier caches it
};

// The upstream a request for repository `name` (with the `ns` query value,
// if any) goes to, or nullopt when the name is a hosted repository. A prefix
// match wins over ns (a name under a prefix is the prefix's, whatever ns a
// mirror adds). `name` is assumed valid (names.h).
std::optional<Target> Resolve(const std::vector<Upstream>& upstreams, std::string_view name,
                              std::optional<std::string_view> ns);

}  // namespace pier::proxy
