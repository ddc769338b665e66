// Config-seeded replication, see seed.h.
#include "replication/seed.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/json_fields.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;

// Prefixes a parser's message (which starts with the field path as Harbor's
// API names it) with the entry's config path.
Status Prefixed(const std::string& where, const Status& s) {
  if (s.ok()) return s;
  return Status(s.code(), where + "." + s.message());
}

// Store errors carry no field path of their own.
Status Located(const std::string& where, const Status& s) {
  if (s.ok()) return s;
  return Status(s.code(), where + ": " + s.message());
}

// Reads a mounted secret file. One trailing newline (what `echo` and most
// editors add) is dropped from secrets; certificates are kept as they are.
Result<std::string> ReadFile(const json& obj, const char* key, const std::string& path, bool trim) {
  if (!obj[key].is_string() || obj[key].get<std::string>().empty())
    return FieldError(path, "must be a file path");
  std::string file = obj[key].get<std::string>();
  std::ifstream in(file, std::ios::binary);
  if (!in) return FieldError(path, "cannot read " + file + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (trim) {
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
  }
  return text;
}

Result<Endpoint> ParseRegistry(const json& entry, const std::string& where) {
  if (Status s = CheckKeys(entry, where,
                           {"name", "description", "url", "type", "credential", "insecure", "ca_certificate",
                            "ca_certificate_file"});
      !s.ok()) {
    return s;
  }
  json body = entry;
  if (entry.contains("credential") && entry["credential"].is_object()) {
    const json& c = entry["credential"];
    std::string cw = FieldPath(where, "credential");
    if (Status s = CheckKeys(c, cw, {"type", "access_key", "access_secret", "access_secret_file"}); !s.ok()) {
      return s;
    }
    if (c.contains("access_secret_file")) {
      if (c.contains("access_secret")) {
        return FieldError(FieldPath(cw, "access_secret_file"),
                          "give access_secret or access_secret_file, not both");
      }
      auto secret = ReadFile(c, "access_secret_file", FieldPath(cw, "access_secret_file"), true);
      if (!secret.ok()) return secret.status();
      body["credential"].erase("access_secret_file");
      body["credential"]["access_secret"] = *secret;
    }
  }
  if (entry.contains("ca_certificate_file")) {
    if (entry.contains("ca_certificate")) {
      return FieldError(FieldPath(where, "ca_certificate_file"),
                        "give ca_certificate or ca_certificate_file, not both");
    }
    auto pem = ReadFile(entry, "ca_certificate_file", FieldPath(where, "ca_certificate_file"), false);
    if (!pem.ok()) return pem.status();
    body.erase("ca_certificate_file");
    body["ca_certificate"] = *pem;
  }
  auto e = ParseEndpointCreate(body);
  if (!e.ok()) return Prefixed(where, e.status());
  return e;
}

// src_registry / dest_registry of a config policy: null/absent or {"name": N}
// with N a registry of this config. Returns the name ("" = this instance).
Result<std::string> ReadRef(const json& entry, const char* side, const std::string& where,
                            const std::map<std::string, size_t>& names) {
  auto it = entry.find(side);
  if (it == entry.end() || it->is_null()) return std::string();
  std::string path = FieldPath(where, side);
  if (!it->is_object()) return FieldError(path, "must be {\"name\": \"<registry>\"} or null (this instance)");
  if (Status s = CheckKeys(*it, path, {"name"}); !s.ok()) return s;
  std::string name;
  if (Status s = ReadString(*it, path, "name", &name); !s.ok()) return s;
  if (name.empty()) {
    return FieldError(FieldPath(path, "name"), "required: the name of a registry in replication.registries");
  }
  if (!names.count(name))
    return FieldError(FieldPath(path, "name"), "no registry named \"" + name + "\" in the config");
  return name;
}

Result<SeedPolicy> ParseSeedPolicy(const json& entry, const std::string& where,
                                   const std::map<std::string, size_t>& names,
                                   const std::vector<Endpoint>& registries) {
  if (Status s =
          CheckKeys(entry, where,
                    {"name", "description", "src_registry", "dest_registry", "dest_namespace",
                     "dest_namespace_replace_count", "trigger", "filters", "deletion", "replicate_deletion",
                     "override", "enabled", "speed", "copy_by_chunk", "single_active_replication",
                     "compression"});
      !s.ok()) {
    return s;
  }
  if (entry.contains("trigger") && entry["trigger"].is_object()) {
    const json& t = entry["trigger"];
    std::string tw = FieldPath(where, "trigger");
    if (Status s = CheckKeys(t, tw, {"type", "trigger_settings"}); !s.ok()) return s;
    if (t.contains("trigger_settings") && t["trigger_settings"].is_object()) {
      if (Status s = CheckKeys(t["trigger_settings"], FieldPath(tw, "trigger_settings"), {"cron"}); !s.ok())
        return s;
    }
  }
  if (entry.contains("filters") && entry["filters"].is_array()) {
    for (size_t i = 0; i < entry["filters"].size(); ++i) {
      const json& f = entry["filters"][i];
      if (!f.is_object()) continue;  // ParsePolicy names it
      if (Status s = CheckKeys(f, IndexPath(FieldPath(where, "filters"), i), {"type", "value", "decoration"});
          !s.ok()) {
        return s;
      }
    }
  }
  SeedPolicy out;
  auto src = ReadRef(entry, "src_registry", where, names);
  if (!src.ok()) return src.status();
  auto dest = ReadRef(entry, "dest_registry", where, names);
  if (!dest.ok()) return dest.status();
  out.src_name = *src;
  out.dest_name = *dest;
  if (out.src_name.empty() == out.dest_name.empty()) {
    return FieldError(
        FieldPath(where, "src_registry"),
        "exactly one of src_registry / dest_registry must be this instance (null) and the other "
        "{\"name\": \"<registry>\"}");
  }
  // ParsePolicy wants ids; any non-zero one stands for the named registry
  // until ApplySeed knows the real ids.
  json body = entry;
  const char* remote = out.src_name.empty() ? "dest_registry" : "src_registry";
  const char* local = out.src_name.empty() ? "src_registry" : "dest_registry";
  body[remote] = {{"id", 1}};
  body[local] = nullptr;
  auto p = ParsePolicy(body);
  if (!p.ok()) return Prefixed(where, p.status());
  out.policy = std::move(*p);
  // The rule-only part of the ACR check fails here, before any file is read
  // by a later entry; ApplySeed repeats it with the stored repositories.
  if (out.policy.PushMode()) {
    if (Status s = CheckPolicyForDestination(out.policy, registries[names.at(out.dest_name)], {}); !s.ok()) {
      return Prefixed(where, s);
    }
  }
  out.policy.src_registry_id = 0;
  out.policy.dest_registry_id = 0;
  return out;
}

bool SameEndpoint(const Endpoint& a, const Endpoint& b) {
  return a.name == b.name && a.description == b.description && a.url == b.url && a.type == b.type &&
         a.credential.type == b.credential.type && a.credential.access_key == b.credential.access_key &&
         a.credential.access_secret == b.credential.access_secret && a.insecure == b.insecure &&
         a.ca_certificate == b.ca_certificate;
}

bool SamePolicy(Policy a, const Policy& b) {
  a.id = b.id;
  a.creation_time = b.creation_time;
  a.update_time = b.update_time;
  return EncodePolicyRecord(a) == EncodePolicyRecord(b);
}

}  // namespace

Result<Seed> ParseSeed(const json& j, std::string_view where_view) {
  const std::string where(where_view);
  if (Status s = CheckKeys(j, where, {"registries", "policies"}); !s.ok()) return s;
  Seed seed;
  std::map<std::string, size_t> names;
  if (j.contains("registries") && !j["registries"].is_null()) {
    const json& arr = j["registries"];
    if (!arr.is_array()) return FieldError(FieldPath(where, "registries"), "must be an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      std::string at = IndexPath(FieldPath(where, "registries"), i);
      auto e = ParseRegistry(arr[i], at);
      if (!e.ok()) return e.status();
      if (names.count(e->name))
        return FieldError(FieldPath(at, "name"), "duplicate registry name \"" + e->name + "\"");
      names[e->name] = seed.registries.size();
      seed.registries.push_back(std::move(*e));
    }
  }
  if (j.contains("policies") && !j["policies"].is_null()) {
    const json& arr = j["policies"];
    if (!arr.is_array()) return FieldError(FieldPath(where, "policies"), "must be an array");
    std::set<std::string> policy_names;
    for (size_t i = 0; i < arr.size(); ++i) {
      std::string at = IndexPath(FieldPath(where, "policies"), i);
      auto p = ParseSeedPolicy(arr[i], at, names, seed.registries);
      if (!p.ok()) return p.status();
      if (!policy_names.insert(p->policy.name).second) {
        return FieldError(FieldPath(at, "name"), "duplicate policy name \"" + p->policy.name + "\"");
      }
      seed.policies.push_back(std::move(*p));
    }
  }
  return seed;
}

Result<SeedReport> ApplySeed(const Seed& seed, ReplicationStore& repl, Store* store,
                             std::string_view where_view) {
  const std::string where(where_view);
  SeedReport report;
  if (seed.empty()) return report;

  // Check every policy against what the store holds before writing anything.
  std::vector<std::string> repos;
  if (store != nullptr) {
    auto page = store->ListRepositories("", 0, [](std::string_view) { return true; });
    if (!page.ok()) return page.status();
    repos = std::move(page->items);
  }
  std::map<std::string, const Endpoint*> by_name;
  for (const auto& e : seed.registries) by_name[e.name] = &e;
  for (size_t i = 0; i < seed.policies.size(); ++i) {
    const SeedPolicy& sp = seed.policies[i];
    if (sp.dest_name.empty()) continue;
    Policy probe = sp.policy;
    probe.dest_registry_id = 1;  // push mode, as the names say
    if (Status s = CheckPolicyForDestination(probe, *by_name.at(sp.dest_name), repos); !s.ok()) {
      return Prefixed(IndexPath(FieldPath(where, "policies"), i), s);
    }
  }

  auto existing = repl.ListEndpoints();
  if (!existing.ok()) return existing.status();
  std::map<std::string, int64_t> ids;
  for (size_t i = 0; i < seed.registries.size(); ++i) {
    Endpoint want = seed.registries[i];
    const Endpoint* have = nullptr;
    for (const auto& e : *existing) {
      if (e.name == want.name) have = &e;
    }
    std::string at = IndexPath(FieldPath(where, "registries"), i);
    if (have == nullptr) {
      auto stored = repl.CreateEndpoint(std::move(want));
      if (!stored.ok()) return Located(at, stored.status());
      ids[stored->name] = stored->id;
      ++report.created;
      continue;
    }
    ids[have->name] = have->id;
    if (SameEndpoint(want, *have)) {
      ++report.unchanged;
      continue;
    }
    want.id = have->id;
    // A health answer about another URL says nothing about this one.
    want.status = want.url == have->url ? have->status : "unknown";
    auto stored = repl.UpdateEndpoint(std::move(want));
    if (!stored.ok()) return Located(at, stored.status());
    ++report.updated;
  }

  auto policies = repl.ListPolicies();
  if (!policies.ok()) return policies.status();
  for (size_t i = 0; i < seed.policies.size(); ++i) {
    const SeedPolicy& sp = seed.policies[i];
    Policy want = sp.policy;
    want.src_registry_id = sp.src_name.empty() ? 0 : ids.at(sp.src_name);
    want.dest_registry_id = sp.dest_name.empty() ? 0 : ids.at(sp.dest_name);
    const Policy* have = nullptr;
    for (const auto& p : *policies) {
      if (p.name == want.name) have = &p;
    }
    std::string at = IndexPath(FieldPath(where, "policies"), i);
    if (have == nullptr) {
      auto stored = repl.CreatePolicy(std::move(want));
      if (!stored.ok()) return Located(at, stored.status());
      ++report.created;
      continue;
    }
    if (SamePolicy(want, *have)) {
      ++report.unchanged;
      continue;
    }
    want.id = have->id;
    auto stored = repl.UpdatePolicy(std::move(want));
    if (!stored.ok()) return Located(at, stored.status());
    ++report.updated;
  }
  return report;
}

}  // namespace pier::replication
