#pragma once
// The progress line `pier replicate` draws on a terminal: bar, percent,
// bytes at the destination of the (deduplicated) total, rate and ETA, tasks
// done; and the final line, which shows the end as it is.
// Pure functions (no I/O) so they are tested directly.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "base/human_bytes.h"

namespace pier::replication {

struct ProgressView {
  uint64_t bytes_total = 0;    // distinct blob bytes of the execution
  uint64_t bytes_sent = 0;     // acknowledged by the destination during this run
  uint64_t bytes_pending = 0;  // not at the destination
  std::optional<double> rate;  // bytes/s; empty until it means something (RateMeter)
  int64_t tasks_done = 0;
  int64_t tasks_total = 0;
};

// "[##########----------]  50%  100.0 MiB/200.0 MiB  1.0 MB/s  ETA 1m40s  tasks 1/2"
// Done = total - pending (sent, or already there). Rate and ETA read "--"
// while the rate is unknown; width is the bar's inner width. The bar is full
// and the percent 100 only when nothing is pending.
std::string FormatProgress(const ProgressView& v, int width = 30);

// The last line, for an execution that ended with `status` (Succeed, Failed,
// Stopped) after `seconds`: the bar where it really stopped, what was sent,
// and the reason when there is one.
// "[######--------------]  30%  60.0 MiB/200.0 MiB  tasks 1/2  Stopped after 12s: 60.0 MiB sent"
std::string FormatFinal(const ProgressView& v, std::string_view status, std::string_view reason, double seconds,
                        int width = 30);

// "45s", "3m05s", "2h10m".
std::string HumanDuration(double seconds);

// The rate of acknowledged bytes from (time, cumulative bytes) samples.
// Acknowledgements come in steps (a chunk, up to 8 MiB, at a time), so the
// rate is measured between acknowledgements: from the first step after the
// first sample (time before it is handshakes and the first chunk in flight),
// over the steps of the last `window` seconds. It is known only once the
// steps span at least `min_span` seconds; when no step has come for more
// than twice the usual gap it falls as time passes (a stall).
class RateMeter {
 public:
  explicit RateMeter(double window_seconds = 30, double min_span_seconds = 3)
      : window_(window_seconds), min_span_(min_span_seconds) {}
  void Add(double t_seconds, uint64_t cumulative_bytes);
  std::optional<double> Rate(double now_seconds) const;

 private:
  struct Point {
    double t;
    uint64_t bytes;
  };
  double window_, min_span_;
  std::optional<Point> origin_;  // the first sample
  std::deque<Point> steps_;      // samples where the count grew
};

}  // namespace pier::replication
