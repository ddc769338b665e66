#include "replication/advisor/destinations.h"

#include <algorithm>
#include <cmath>

#include "replication/filter.h"
#include "replication/naming.h"

namespace pier::advisor {

Result<std::vector<Destination>> DestinationsOf(replication::ReplicationStore& repl,
                                                replication::ProgressStore& progress, std::string_view repository,
                                                std::string_view tag, uint64_t engine_bytes_per_second) {
  auto policies = repl.ListPolicies();
  if (!policies.ok()) return policies.status();
  std::vector<Destination> out;
  for (const replication::Policy& p : *policies) {
    if (!p.enabled || !p.PushMode() || p.dest_registry_id == 0) continue;
    if (!replication::MatchRepository(p.filters, repository)) continue;
    replication::Artifact a;
    if (!tag.empty()) a.tags.push_back(std::string(tag));
    a.resource_type = "image";
    if (replication::FilterArtifacts(p.filters, {a}).empty()) continue;
    auto endpoint = repl.GetEndpoint(p.dest_registry_id);
    if (!endpoint.ok()) continue;  // a policy whose endpoint is gone replicates nothing
    auto dst_repo = replication::DestinationRepository(repository, p.dest_namespace, p.dest_namespace_replace_count);
    if (!dst_repo.ok()) continue;  // the policy would fail this repository: it sends nothing
    auto same = std::find_if(out.begin(), out.end(), [&](const Destination& d) {
      return d.endpoint_id == endpoint->id && d.repository == *dst_repo;
    });
    if (same != out.end()) {
      same->policies.push_back(p.name);
      continue;
    }
    Destination d;
    d.endpoint_id = endpoint->id;
    d.name = endpoint->name;
    d.url = endpoint->url;
    d.repository = *dst_repo;
    d.policies.push_back(p.name);
    d.compression = p.compression;
    // History measures the link as replication saw it (a lower bound: it
    // includes round trips); a speed limit set since caps it.
    std::optional<double> history = progress.LinkRate(endpoint->id);
    double limit = static_cast<double>(p.BytesPerSecond());
    if (history) {
      d.rate = limit > 0 ? std::min(*history, limit) : *history;
      d.rate_source = "history";
    } else if (limit > 0) {
      d.rate = limit;
      d.rate_source = "policy speed";
    } else if (engine_bytes_per_second > 0) {
      d.rate = static_cast<double>(engine_bytes_per_second);
      d.rate_source = "bandwidth cap";
    } else {
      d.rate_source = "none";
    }
    out.push_back(std::move(d));
  }
  return out;
}

nlohmann::json SecondsAt(const std::optional<double>& rate, uint64_t bytes) {
  if (!rate || *rate <= 0) return nullptr;
  return std::round(static_cast<double>(bytes) / *rate * 10) / 10;
}

bool HeldAt(replication::ProgressStore& progress, const Destination& dest, const Digest& d) {
  return !progress.KnownRepos(dest.endpoint_id, d.str()).empty();
}

}  // namespace pier::advisor
