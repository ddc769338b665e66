#pragma once
// Throttle: the token buckets one sender must satisfy together, e.g. the
// link's total rate and this connection's own rate. A send takes its bytes
// from every bucket, so the slowest bucket decides. To avoid floods of tiny
// writes, Take() grants nothing until at least a quantum (a quarter of the
// smallest burst, or the whole request if smaller) is available in all
// buckets. A throttle with no buckets grants everything at once.
#include <cstdint>
#include <vector>

#include "bench/slowlink/token_bucket.h"

namespace pier::slowlink {

class Throttle {
 public:
  using Clock = TokenBucket::Clock;

  // The bucket must outlive the throttle. Null is ignored.
  void Add(TokenBucket* bucket);
  bool unlimited() const { return buckets_.empty(); }

  // Bytes granted (and spent from every bucket) for a send of up to `want`
  // bytes at `now`: 0 when less than the quantum is available.
  uint64_t Take(uint64_t want, Clock::time_point now);
  // How long from `now` until Take(want) would grant something.
  Clock::duration Delay(uint64_t want, Clock::time_point now);

 private:
  uint64_t Quantum(uint64_t want) const;

  std::vector<TokenBucket*> buckets_;
};

}  // namespace pier::slowlink
