#include "replication/announce.h"

#include <map>

namespace pier::replication {

Status AnnouncePolicies(ReplicationStore& repl, ReplicationObserver& observer) {
  auto endpoints = repl.ListEndpoints();
  PIER_TRY(endpoints);
  std::map<int64_t, std::string> names;
  for (const auto& e : *endpoints) names[e.id] = e.name;
  auto policies = repl.ListPolicies();
  PIER_TRY(policies);
  for (const auto& p : *policies) {
    if (!p.enabled) continue;
    auto it = names.find(p.PushMode() ? p.dest_registry_id : p.src_registry_id);
    if (it != names.end()) observer.OnPolicyKnown(it->second, p.name);
  }
  return Status::OK();
}

Status AnnouncePolicy(ReplicationStore& repl, ReplicationObserver& observer, const Policy& p) {
  if (!p.enabled) return Status::OK();
  auto e = repl.GetEndpoint(p.PushMode() ? p.dest_registry_id : p.src_registry_id);
  if (!e.ok()) return e.status().code() == Code::kNotFound ? Status::OK() : e.status();
  observer.OnPolicyKnown(e->name, p.name);
  return Status::OK();
}

}  // namespace pier::replication
