// Periodic endpoint health checks, see health_checker.h.
#include "replication/health_checker.h"

#include <algorithm>
#include <set>
#include <vector>

#include "base/internal_errors.h"
#include "base/log.h"

namespace pier::replication {

inline constexpr std::string_view kHealthy = "healthy";
inline constexpr std::string_view kUnhealthy = "unhealthy";

HealthChecker::HealthChecker(ReplicationStore& repl, PingFunction ping, ReplicationObserver& observer,
                             const Clock& clock, HealthOptions options)
    : repl_(repl), ping_(std::move(ping)), observer_(observer), clock_(clock), options_(options) {}

HealthChecker::~HealthChecker() { Stop(); }

std::chrono::steady_clock::time_point HealthChecker::CheckDue() {
  std::lock_guard<std::mutex> run(schedule_mu_);
  auto now = clock_.Steady();
  auto next = now + options_.interval;
  auto endpoints = repl_.ListEndpoints();
  if (!endpoints.ok()) {
    ReportInternalError("health", "listing endpoints", endpoints.status());
    return now + options_.failing_interval;
  }
  std::set<int64_t> present;
  for (const Endpoint& e : *endpoints) {
    present.insert(e.id);
    auto it = schedule_.find(e.id);
    if (it != schedule_.end() && it->second.url == e.url && it->second.at > now) {
      next = std::min(next, it->second.at);
      continue;
    }
    Status ping = ping_(e);
    const bool ok = ping.ok();
    observer_.SetDestinationUp(e.name, ok);
    if (ok != (e.status == kHealthy)) {
      if (ok) {
        log::Info("registry healthy", {{"registry", e.name}, {"url", e.url}});
      } else {
        log::Warn("registry unhealthy", {{"registry", e.name}, {"url", e.url}, {"error", ping.message()}});
      }
    }
    Status s = repl_.SetEndpointStatus(e.id, e.url, ok ? kHealthy : kUnhealthy);
    if (!s.ok() && s.code() != Code::kNotFound) ReportInternalError("health", "recording registry status", s);
    // Scheduled from the end of the ping, so a slow answer does not shorten the next wait.
    auto at = clock_.Steady() + (ok ? options_.interval : options_.failing_interval);
    schedule_[e.id] = Due{e.url, at};
    next = std::min(next, at);
  }
  std::erase_if(schedule_, [&](const auto& kv) { return !present.count(kv.first); });
  return next;
}

void HealthChecker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void HealthChecker::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void HealthChecker::Run() {
  while (true) {
    auto next = CheckDue();
    std::unique_lock<std::mutex> lock(mu_);
    // Until the next ping is due, but at most failing_interval, so new and
    // moved endpoints are seen soon. At least 100 ms: a fake clock in a test
    // that never moves cannot make this thread spin.
    using Duration = std::chrono::steady_clock::duration;
    auto wait = std::clamp(next - clock_.Steady(), Duration(std::chrono::milliseconds(100)),
                           Duration(options_.failing_interval));
    if (cv_.wait_for(lock, wait, [this] { return stop_; })) return;
  }
}

}  // namespace pier::replication
