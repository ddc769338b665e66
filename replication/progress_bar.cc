#include "replication/progress_bar.h"

#include <cmath>
#include <cstdio>

namespace pier::replication {

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char b[32];
  if (u == 0) std::snprintf(b, sizeof b, "%llu B", static_cast<unsigned long long>(n));
  else std::snprintf(b, sizeof b, "%.1f %s", v, units[u]);
  return b;
}

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
  uint64_t done = v.bytes_total > v.bytes_pending ? v.bytes_total - v.bytes_pending : 0;
  double frac = v.bytes_total > 0 ? static_cast<double>(done) / static_cast<double>(v.bytes_total) : 0;
  if (v.bytes_total == 0 && v.tasks_total > 0) frac = static_cast<double>(v.tasks_done) / v.tasks_total;
  int fill = static_cast<int>(frac * width + 0.5);
  std::string bar = "[" + std::string(fill, '#') + std::string(width - fill, '-') + "]";
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f MB/s", v.rate / 1e6);
  std::string eta = v.bytes_pending == 0 ? "0s"
                    : v.rate > 0         ? HumanDuration(static_cast<double>(v.bytes_pending) / v.rate)
                                         : "--";
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100));
  return bar + " " + pct + "  " + HumanBytes(done) + "/" + HumanBytes(v.bytes_total) + "  " + rate + "  ETA " +
         eta + "  tasks " + std::to_string(v.tasks_done) + "/" + std::to_string(v.tasks_total);
}

void RateMeter::Add(double t, uint64_t bytes) {
  if (!has_) {
    has_ = true;
    last_t_ = t;
    last_bytes_ = bytes;
    return;
  }
  double dt = t - last_t_;
  if (dt <= 0) return;
  double inst = bytes >= last_bytes_ ? static_cast<double>(bytes - last_bytes_) / dt : 0;
  double a = 1 - std::exp(-dt / tau_);
  rate_ = rate_ == 0 ? inst : rate_ + a * (inst - rate_);
  last_t_ = t;
  last_bytes_ = bytes;
}

}  // namespace pier::replication
