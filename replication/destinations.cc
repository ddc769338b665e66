#include "replication/destinations.h"

namespace pier::replication {

Result<std::shared_ptr<Destination>> Destinations::For(int64_t registry_id) {
  auto ep = repl_->GetEndpoint(registry_id);
  if (!ep.ok()) return ep.status();
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(registry_id);
    if (it != live_.end() && it->second->endpoint.update_time == ep->update_time) return it->second;
  }
  auto c = clients_->Create(*ep);
  if (!c.ok()) return c.status();
  auto d = std::make_shared<Destination>();
  d->endpoint = *ep;
  d->client = std::move(*c);
  d->bandwidth.SetRate(options_.destination_bytes_per_second);
  d->gate = std::make_unique<ImageGate>(options_.image_overlap_bytes);
  d->small_pool = std::make_unique<WorkerPool>(2);
  d->pool = std::make_unique<WorkerPool>(options_.workers_per_destination);
  std::lock_guard lock(mu_);
  auto it = live_.find(registry_id);
  if (it != live_.end()) {
    // Another thread built one meanwhile: use the newer of the two.
    if (it->second->endpoint.update_time >= d->endpoint.update_time) {
      retired_.push_back(std::move(d));
      return it->second;
    }
    retired_.push_back(std::move(it->second));
  }
  live_[registry_id] = d;
  return d;
}

void Destinations::Forget(int64_t registry_id) {
  std::lock_guard lock(mu_);
  auto it = live_.find(registry_id);
  if (it == live_.end()) return;
  retired_.push_back(std::move(it->second));
  live_.erase(it);
}

void Destinations::Clear() {
  std::map<int64_t, std::shared_ptr<Destination>> live;
  std::vector<std::shared_ptr<Destination>> retired;
  {
    std::lock_guard lock(mu_);
    live.swap(live_);
    retired.swap(retired_);
  }
  // Destroyed outside the lock: each joins its pool's threads.
}

}  // namespace pier::replication
