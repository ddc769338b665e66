#include "bench/slowlink/throttle.h"

#include <algorithm>
#include <limits>

namespace pier::slowlink {

void Throttle::Add(TokenBucket* bucket) {
  if (bucket != nullptr) buckets_.push_back(bucket);
}

uint64_t Throttle::Quantum(uint64_t want) const {
  uint64_t smallest_burst = std::numeric_limits<uint64_t>::max();
  for (const TokenBucket* b : buckets_) smallest_burst = std::min(smallest_burst, b->burst());
  return std::min(want, std::max<uint64_t>(smallest_burst / 4, 1));
}

uint64_t Throttle::Take(uint64_t want, Clock::time_point now) {
  if (want == 0) return 0;
  if (buckets_.empty()) return want;
  uint64_t available = want;
  for (TokenBucket* b : buckets_) available = std::min(available, b->Available(now));
  if (available < Quantum(want)) return 0;
  for (TokenBucket* b : buckets_) b->Consume(available);
  return available;
}

Throttle::Clock::duration Throttle::Delay(uint64_t want, Clock::time_point now) {
  const uint64_t need = Quantum(want);
  Clock::duration longest = Clock::duration::zero();
  for (TokenBucket* b : buckets_) longest = std::max(longest, b->TimeUntil(need, now));
  return longest;
}

}  // namespace pier::slowlink
