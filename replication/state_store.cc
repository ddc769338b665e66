#include "replication/state_store.h"

#include <algorithm>
#include <cstdio>

#include "cache/keys.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr std::string_view kNextId = "next_id";
constexpr std::string_view kIdPrefix = "id/";

std::string IdKey(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "id/%020lld", static_cast<long long>(id));
  return buf;
}

int64_t ToMs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point FromMs(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }
Clock::time_point NowMs() { return FromMs(ToMs(Clock::now())); }

Result<json> ParseJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption("replication record is not a JSON object");
  return j;
}

int64_t IntOr(const json& j, const char* key, int64_t dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : dflt;
}

// Last allocated id of a space (0 when none).
Result<int64_t> LastId(KvSpace& kv) {
  auto v = kv.Get(kNextId);
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return int64_t{0};
    return v.status();
  }
  try {
    return static_cast<int64_t>(std::stoll(*v));
  } catch (...) {
    return Status::Corruption("replication id counter is damaged");
  }
}

template <class T, class Decode>
Result<std::vector<T>> ScanAll(KvSpace& kv, Decode decode) {
  std::vector<T> out;
  Status bad;
  Status s = kv.Scan(kIdPrefix, [&](std::string_view, std::string_view value) {
    auto r = decode(value);
    if (!r.ok()) {
      bad = r.status();
      return false;
    }
    out.push_back(std::move(r).value());
    return true;
  });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

template <class T, class Decode>
Result<T> GetOne(KvSpace& kv, int64_t id, Decode decode, const char* what) {
  auto v = kv.Get(IdKey(id));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound)
      return Status::NotFound(std::string(what) + " " + std::to_string(id) + " not found");
    return v.status();
  }
  return decode(*v);
}

template <class T>
Status CheckUniqueName(const std::vector<T>& all, const T& candidate, const char* what) {
  for (const auto& x : all) {
    if (x.id != candidate.id && x.name == candidate.name) {
      return Status::AlreadyExists(std::string(what) + " name \"" + candidate.name + "\" already exists");
    }
  }
  return Status::OK();
}

}  // namespace

std::string EncodeEndpointRecord(const Endpoint& e) {
  json j = EndpointToJson(e);
  j["credential"]["access_secret"] = e.credential.access_secret;
  j["id"] = e.id;
  j["status"] = e.status;
  j["creation_ms"] = ToMs(e.creation_time);
  j["update_ms"] = ToMs(e.update_time);
  return j.dump();
}

Result<Endpoint> DecodeEndpointRecord(std::string_view text) {
  auto j = ParseJson(text);
  if (!j.ok()) return j.status();
  auto e = ParseEndpointCreate(*j);
  if (!e.ok()) return Status::Corruption("stored endpoint: " + e.status().message());
  e->id = IntOr(*j, "id", 0);
  if (auto it = j->find("status"); it != j->end() && it->is_string()) e->status = it->get<std::string>();
  e->creation_time = FromMs(IntOr(*j, "creation_ms", 0));
  e->update_time = FromMs(IntOr(*j, "update_ms", 0));
  return e;
}

std::string EncodePolicyRecord(const Policy& p) {
  json j = PolicyToJson(p);
  j["id"] = p.id;
  j["creation_ms"] = ToMs(p.creation_time);
  j["update_ms"] = ToMs(p.update_time);
  return j.dump();
}

Result<Policy> DecodePolicyRecord(std::string_view text) {
  auto j = ParseJson(text);
  if (!j.ok()) return j.status();
  auto p = ParsePolicy(*j);
  if (!p.ok()) return Status::Corruption("stored policy: " + p.status().message());
  p->id = IntOr(*j, "id", 0);
  p->creation_time = FromMs(IntOr(*j, "creation_ms", 0));
  p->update_time = FromMs(IntOr(*j, "update_ms", 0));
  return p;
}

Result<std::unique_ptr<ReplicationStore>> ReplicationStore::Open(Store& store) {
  auto e = store.OpenKeySpace(keys::kReplRegistries);
  if (!e.ok()) return e.status();
  auto p = store.OpenKeySpace(keys::kReplPolicies);
  if (!p.ok()) return p.status();
  return std::make_unique<ReplicationStore>(std::move(*e), std::move(*p));
}

// --- endpoints ---

Result<Endpoint> ReplicationStore::CreateEndpoint(Endpoint e) {
  std::lock_guard<std::mutex> lock(mu_);
  auto all = ScanAll<Endpoint>(*endpoints_, DecodeEndpointRecord);
  if (!all.ok()) return all.status();
  e.id = 0;
  if (Status s = CheckUniqueName(*all, e, "registry"); !s.ok()) return s;
  auto across = endpoints_->Lock(kNextId);  // the counter, across replicas
  if (!across.ok()) return across.status();
  auto last = LastId(*endpoints_);
  if (!last.ok()) return last.status();
  e.id = *last + 1;
  e.creation_time = e.update_time = NowMs();
  Status s = endpoints_->Write(
      {{std::string(kNextId), std::to_string(e.id)}, {IdKey(e.id), EncodeEndpointRecord(e)}});
  if (!s.ok()) return s;
  return e;
}

Result<Endpoint> ReplicationStore::GetEndpoint(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetOne<Endpoint>(*endpoints_, id, DecodeEndpointRecord, "registry");
}

Result<std::vector<Endpoint>> ReplicationStore::ListEndpoints() {
  std::lock_guard<std::mutex> lock(mu_);
  return ScanAll<Endpoint>(*endpoints_, DecodeEndpointRecord);
}

Result<Endpoint> ReplicationStore::UpdateEndpoint(Endpoint e) {
  std::lock_guard<std::mutex> lock(mu_);
  auto old = GetOne<Endpoint>(*endpoints_, e.id, DecodeEndpointRecord, "registry");
  if (!old.ok()) return old.status();
  auto all = ScanAll<Endpoint>(*endpoints_, DecodeEndpointRecord);
  if (!all.ok()) return all.status();
  if (Status s = CheckUniqueName(*all, e, "registry"); !s.ok()) return s;
  e.creation_time = old->creation_time;
  e.update_time = NowMs();
  Status s = endpoints_->Write({{IdKey(e.id), EncodeEndpointRecord(e)}});
  if (!s.ok()) return s;
  return e;
}

Status ReplicationStore::SetEndpointStatus(int64_t id, std::string_view url, std::string_view status) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = GetOne<Endpoint>(*endpoints_, id, DecodeEndpointRecord, "registry");
  if (!e.ok()) return e.status();
  if (e->url != url || e->status == status) return Status::OK();
  e->status = std::string(status);
  return endpoints_->Write({{IdKey(id), EncodeEndpointRecord(*e)}});
}

Status ReplicationStore::DeleteEndpoint(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto old = GetOne<Endpoint>(*endpoints_, id, DecodeEndpointRecord, "registry");
  if (!old.ok()) return old.status();
  auto policies = ScanAll<Policy>(*policies_, DecodePolicyRecord);
  if (!policies.ok()) return policies.status();
  for (const auto& p : *policies) {
    if (p.src_registry_id == id || p.dest_registry_id == id) {
      return Status::FailedPrecondition("registry " + std::to_string(id) + " is used by policy \"" + p.name +
                                        "\"");
    }
  }
  return endpoints_->Write({{IdKey(id), std::nullopt}});
}

// --- policies ---

Result<Policy> ReplicationStore::CreatePolicy(Policy p) {
  std::lock_guard<std::mutex> lock(mu_);
  auto all = ScanAll<Policy>(*policies_, DecodePolicyRecord);
  if (!all.ok()) return all.status();
  p.id = 0;
  if (Status s = CheckUniqueName(*all, p, "policy"); !s.ok()) return s;
  auto across = policies_->Lock(kNextId);
  if (!across.ok()) return across.status();
  auto last = LastId(*policies_);
  if (!last.ok()) return last.status();
  p.id = *last + 1;
  p.creation_time = p.update_time = NowMs();
  Status s =
      policies_->Write({{std::string(kNextId), std::to_string(p.id)}, {IdKey(p.id), EncodePolicyRecord(p)}});
  if (!s.ok()) return s;
  return p;
}

Result<Policy> ReplicationStore::GetPolicy(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetOne<Policy>(*policies_, id, DecodePolicyRecord, "policy");
}

Result<std::vector<Policy>> ReplicationStore::ListPolicies() {
  std::lock_guard<std::mutex> lock(mu_);
  return ScanAll<Policy>(*policies_, DecodePolicyRecord);
}

Result<Policy> ReplicationStore::UpdatePolicy(Policy p) {
  std::lock_guard<std::mutex> lock(mu_);
  auto old = GetOne<Policy>(*policies_, p.id, DecodePolicyRecord, "policy");
  if (!old.ok()) return old.status();
  auto all = ScanAll<Policy>(*policies_, DecodePolicyRecord);
  if (!all.ok()) return all.status();
  if (Status s = CheckUniqueName(*all, p, "policy"); !s.ok()) return s;
  p.creation_time = old->creation_time;
  p.update_time = NowMs();
  Status s = policies_->Write({{IdKey(p.id), EncodePolicyRecord(p)}});
  if (!s.ok()) return s;
  return p;
}

Status ReplicationStore::DeletePolicy(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto old = GetOne<Policy>(*policies_, id, DecodePolicyRecord, "policy");
  if (!old.ok()) return old.status();
  return policies_->Write({{IdKey(id), std::nullopt}});
}

}  // namespace pier::replication
