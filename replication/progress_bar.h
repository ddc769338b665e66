#pragma once
// The progress line `pier replicate` draws on a terminal: bar, percent,
// bytes done of total, current rate and ETA, tasks done.
// Pure functions (no I/O) so they are tested directly.
#include <cstdint>
#include <string>

namespace pier::replication {

struct ProgressView {
  uint64_t bytes_total = 0;    // blob bytes to bring over (before skips)
  uint64_t bytes_pending = 0;  // still missing at the destination
  double rate = 0;             // bytes/s, smoothed; 0 = unknown
  int64_t tasks_done = 0;
  int64_t tasks_total = 0;
};

// "[##########----------]  50%  100.0 MiB/200.0 MiB  1.0 MB/s  ETA 1m40s  tasks 1/2"
// ETA is "--" when nothing moves; width is the bar's inner width.
std::string FormatProgress(const ProgressView& v, int width = 30);

// "1.5 KiB", "12.0 MiB", "3.2 GiB".
std::string HumanBytes(uint64_t n);
// "45s", "3m05s", "2h10m".
std::string HumanDuration(double seconds);

// Exponentially weighted rate: feed it (time, cumulative bytes) samples.
class RateMeter {
 public:
  explicit RateMeter(double time_constant_seconds = 10) : tau_(time_constant_seconds) {}
  void Add(double t_seconds, uint64_t cumulative_bytes);
  double rate() const { return rate_; }

 private:
  double tau_;
  bool has_ = false;
  double last_t_ = 0;
  uint64_t last_bytes_ = 0;
  double rate_ = 0;
};

}  // namespace pier::replication
