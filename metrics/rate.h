#pragma once
// EwmaRate: a smoothed rate (units per second) of a growing total, such as
// the bytes a replication destination has been sent.
//
// Each Update() turns the growth since the previous one into a rate sample
// and blends it in with weight 1 - exp(-dt / tau): an exponentially weighted
// moving average with time constant `tau` that stays correct when updates
// are irregular (a ticker that runs late, a scrape in between). A steady
// rate R is reached to 63% after tau, 95% after 3 tau; after the transfer
// stops the rate decays the same way and reads exactly 0 once below
// kFloor, so an ETA can tell "stalled" from "slow".
#include <chrono>
#include <cstdint>
#include <optional>

namespace pier::metrics {

class EwmaRate {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr double kFloor = 1.0;  // units/s below which the rate reads 0

  explicit EwmaRate(std::chrono::duration<double> tau) : tau_(tau.count()) {}

  // `total` is the running total at `now` (never decreasing). The first
  // call only sets the baseline. Calls with now <= the previous are ignored.
  void Update(uint64_t total, Clock::time_point now);
  double rate() const { return rate_ < kFloor ? 0.0 : rate_; }

  // Starts the average at `rate` (instead of climbing from 0, which reads
  // several times too slow for the first time constants) with `total` at
  // `now` as the baseline.
  void Seed(double rate, uint64_t total, Clock::time_point now);
  // Keeps the rate and takes `total` at `now` as the new baseline: the time
  // since the previous update (idle, nothing in flight) is not a sample.
  void Rebase(uint64_t total, Clock::time_point now);
  // Back to the initial state (rate 0, not seeded).
  void Reset();
  bool seeded() const { return seeded_; }

 private:
  double tau_;
  double rate_ = 0;
  bool seeded_ = false;
  std::optional<Clock::time_point> last_time_;
  uint64_t last_total_ = 0;
};

// Seconds to send `pending` units at `rate` units/s: 0 when nothing is
// pending, +Inf when something is but the rate is 0 (stalled or not started).
double EtaSeconds(uint64_t pending, double rate);

}  // namespace pier::metrics
