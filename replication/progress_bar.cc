#include "replication/progress_bar.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pier::replication {
namespace {

// Fraction at the destination; by tasks when there are no bytes to count.
double Fraction(const ProgressView& v) {
  if (v.bytes_total == 0) {
    if (v.tasks_total > 0) return static_cast<double>(v.tasks_done) / static_cast<double>(v.tasks_total);
    return 0;
  }
  uint64_t done = v.bytes_total - std::min(v.bytes_pending, v.bytes_total);
  return static_cast<double>(done) / static_cast<double>(v.bytes_total);
}

// Bar, percent and bytes. Rounded down: full and 100% only when done.
std::string Head(const ProgressView& v, int width) {
  double frac = std::clamp(Fraction(v), 0.0, 1.0);
  int fill = static_cast<int>(frac * width);
  std::string bar = "[" + std::string(fill, '#') + std::string(width - fill, '-') + "]";
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100));
  uint64_t done = v.bytes_total - std::min(v.bytes_pending, v.bytes_total);
  return bar + " " + pct + "  " + HumanBytes(done) + "/" + HumanBytes(v.bytes_total);
}

}  // namespace

std::string HumanDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  auto t = static_cast<uint64_t>(s + 0.5);
  char b[32];
  if (t < 60) std::snprintf(b, sizeof b, "%llus", static_cast<unsigned long long>(t));
  else if (t < 3600) std::snprintf(b, sizeof b, "%llum%02llus", static_cast<unsigned long long>(t / 60),
                                   static_cast<unsigned long long>(t % 60));
  else std::snprintf(b, sizeof b, "%lluh%02llum", static_cast<unsigned long long>(t / 3600),
                     static_cast<unsigned long long>((t % 3600) / 60));
  return b;
}

std::string FormatProgress(const ProgressView& v, int width) {
  std::string rate = "-- MB/s";
  std::string eta = "--";
  if (v.bytes_pending == 0 && v.bytes_total > 0) eta = "0s";
  if (v.rate) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f MB/s", *v.rate / 1e6);
    rate = b;
    if (v.bytes_pending > 0 && *v.rate > 0) eta = HumanDuration(static_cast<double>(v.bytes_pending) / *v.rate);
  }
  return Head(v, width) + "  " + rate + "  ETA " + eta + "  tasks " + std::to_string(v.tasks_done) + "/" +
         std::to_string(v.tasks_total);
}

std::string FormatFinal(const ProgressView& v, std::string_view status, std::string_view reason, double seconds,
                        int width) {
  std::string out = Head(v, width) + "  tasks " + std::to_string(v.tasks_done) + "/" + std::to_string(v.tasks_total) +
                    "  " + std::string(status) + (status == "Succeed" ? " in " : " after ") + HumanDuration(seconds) +
                    ": " + HumanBytes(v.bytes_sent) + " sent";
  uint64_t there = v.bytes_total - std::min(v.bytes_total, v.bytes_pending + v.bytes_sent);
  if (there > 0) out += ", " + HumanBytes(there) + " already there";
  if (!reason.empty()) out += "; " + std::string(reason);
  return out;
}

void RateMeter::Add(double t, uint64_t bytes) {
  if (!origin_) {
    origin_ = Point{t, bytes};
    return;
  }
  uint64_t last = steps_.empty() ? origin_->bytes : steps_.back().bytes;
  if (bytes <= last || (!steps_.empty() && t <= steps_.back().t)) return;
  steps_.push_back(Point{t, bytes});
  // Old steps leave the window; two always stay (a rate needs a span).
  while (steps_.size() > 2 && steps_[1].t <= t - window_) steps_.pop_front();
}

std::optional<double> RateMeter::Rate(double now) const {
  if (steps_.size() < 2) return std::nullopt;
  const Point& first = steps_.front();
  const Point& last = steps_.back();
  double span = last.t - first.t;
  if (span < min_span_) return std::nullopt;
  // No step for more than twice the usual gap: count the silence too.
  double gap = span / static_cast<double>(steps_.size() - 1);
  double end = now - last.t > 2 * gap ? now : last.t;
  return static_cast<double>(last.bytes - first.bytes) / (end - first.t);
}

}  // namespace pier::replication
