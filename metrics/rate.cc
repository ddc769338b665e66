#include "metrics/rate.h"

#include <cmath>
#include <limits>

namespace pier::metrics {

void EwmaRate::Update(uint64_t total, Clock::time_point now) {
  if (!last_time_) {
    last_time_ = now;
    last_total_ = total;
    return;
  }
  const double dt = std::chrono::duration<double>(now - *last_time_).count();
  if (dt <= 0) return;
  const double grown = total >= last_total_ ? static_cast<double>(total - last_total_) : 0.0;
  const double sample = grown / dt;
  const double alpha = 1.0 - std::exp(-dt / tau_);
  rate_ += alpha * (sample - rate_);
  last_time_ = now;
  last_total_ = total;
}

void EwmaRate::Seed(double rate, uint64_t total, Clock::time_point now) {
  rate_ = rate;
  seeded_ = true;
  last_time_ = now;
  last_total_ = total;
}

void EwmaRate::Rebase(uint64_t total, Clock::time_point now) {
  last_time_ = now;
  last_total_ = total;
}

void EwmaRate::Reset() {
  rate_ = 0;
  seeded_ = false;
  last_time_.reset();
  last_total_ = 0;
}

double EtaSeconds(uint64_t pending, double rate) {
  if (pending == 0) return 0.0;
  if (rate <= 0) return std::numeric_limits<double>::infinity();
  return static_cast<double>(pending) / rate;
}

}  // namespace pier::metrics
