#include "bench/slowlink/link.h"

#include <algorithm>

namespace pier::slowlink {
namespace {
constexpr uint64_t kWindow = 256 * 1024;
constexpr uint64_t kUncappedRate = 256'000'000;
constexpr uint64_t kMaxDelayed = 64 * 1024 * 1024;

std::unique_ptr<TokenBucket> MakeBucket(uint64_t rate) {
  if (rate == 0) return nullptr;
  return std::make_unique<TokenBucket>(rate, TokenBucket::BurstFor(rate), TokenBucket::Clock::now());
}
}  // namespace

Link::Link(boost::asio::io_context& io, Config c)
    : config(std::move(c)),
      counters(std::make_shared<Counters>()),
      reporter(io, config.stats_file, counters),
      up_total(MakeBucket(config.rate)),
      down_total(MakeBucket(config.limit_down ? config.rate : 0)) {}

size_t Link::MaxQueued(bool up) const {
  uint64_t rate = kUncappedRate;
  const bool limited = up || config.limit_down;
  if (limited && config.rate > 0) rate = std::min(rate, config.rate);
  if (limited && config.rate_per_conn > 0) rate = std::min(rate, config.rate_per_conn);
  const uint64_t delayed = rate * static_cast<uint64_t>(config.latency.count()) / 1000;
  return kWindow + std::min(delayed, kMaxDelayed);
}

}  // namespace pier::slowlink
