#include "replication/triggers.h"

#include "base/internal_errors.h"
#include "base/log.h"
#include "base/cron.h"
#include "replication/filter.h"
#include "replication/harbor_webhook.h"

namespace pier::replication {

Result<std::vector<Policy>> EnabledPolicies(ReplicationStore& repl, std::string_view trigger_type,
                                            const std::function<bool(const Policy&)>& keep) {
  auto policies = repl.ListPolicies();
  if (!policies.ok()) {
    ReportInternalError("replication", "listing the replication policies", policies.status());
    return policies.status();
  }
  std::vector<Policy> out;
  for (Policy& p : *policies) {
    if (!p.enabled || p.trigger.type != trigger_type) continue;
    if (keep && !keep(p)) continue;
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<Policy>> PoliciesSelecting(ReplicationStore& repl, std::string_view trigger_type,
                                              std::string_view repo, const std::function<bool(const Policy&)>& keep) {
  return EnabledPolicies(repl, trigger_type, [&](const Policy& p) {
    return MatchRepository(p.filters, repo) && (!keep || keep(p));
  });
}

void EventTriggers::StartAll(const Result<std::vector<Policy>>& policies, const EventScope& scope,
                             std::string_view what) {
  if (!policies.ok()) return;  // reported by EnabledPolicies
  for (const Policy& p : *policies) {
    auto s = start_(p.id, kTriggerEventBased, scope);
    if (!s.ok()) log::Warn(std::string(what) + " did not start", {{"policy", p.name}, {"error", s.status().message()}});
  }
}

void EventTriggers::OnPush(std::string_view repo, std::string_view reference, std::string_view digest) {
  auto policies = PoliciesSelecting(*repl_, kTriggerEventBased, repo, [](const Policy& p) { return p.PushMode(); });
  StartAll(policies, EventScope{std::string(repo), std::string(reference), std::string(digest), false},
           "event replication");
}

void EventTriggers::OnDelete(std::string_view repo, std::string_view reference, std::string_view digest) {
  auto policies = PoliciesSelecting(*repl_, kTriggerEventBased, repo,
                                    [](const Policy& p) { return p.PushMode() && p.replicate_deletion; });
  std::string ref(reference.empty() ? digest : reference);
  StartAll(policies, EventScope{std::string(repo), ref, "", true}, "event replication");
}

void EventTriggers::OnHarborEvent(std::string_view repo, std::string_view reference, std::string_view digest,
                                  bool deletion, std::string_view source_host) {
  auto policies = PoliciesSelecting(*repl_, kTriggerEventBased, repo, [&](const Policy& p) {
    if (!p.PullMode() || (deletion && !p.replicate_deletion)) return false;
    auto src = repl_->GetEndpoint(p.src_registry_id);
    if (!src.ok() || src->type != kTypeHarbor) return false;
    return source_host.empty() || SameRegistryHost(src->url, source_host);
  });
  // A deletion names what is gone by its reference; the digest only pins a copy.
  std::string pinned = deletion ? "" : std::string(digest);
  StartAll(policies, EventScope{std::string(repo), std::string(reference), pinned, deletion}, "webhook replication");
}

void CronTrigger::Tick(bool fire) {
  auto now = clock_.Now();
  auto policies = EnabledPolicies(*repl_, kTriggerScheduled, nullptr);
  if (!policies.ok()) return;  // reported; the schedule stands until the list reads again
  std::map<int64_t, std::chrono::system_clock::time_point> seen;
  for (const Policy& p : *policies) {
    auto cron = CronSchedule::Parse(p.trigger.cron);
    if (!cron.ok()) continue;  // refused when the policy was saved; an old record is not ours to fix here
    auto it = next_.find(p.id);
    auto at = it != next_.end() ? it->second : cron->Next(now);
    if (at <= now) {
      auto started = fire ? start_(p.id, kTriggerScheduled, EventScope{}) : Result<Execution>(Execution{});
      if (!started.ok()) {
        log::Warn("scheduled replication did not start", {{"policy", p.name}, {"error", started.status().message()}});
      }
      at = cron->Next(now);
    }
    seen[p.id] = at;
  }
  next_ = std::move(seen);
}

}  // namespace pier::replication
