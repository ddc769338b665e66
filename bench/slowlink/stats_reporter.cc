#include "bench/slowlink/stats_reporter.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pier::slowlink {

StatsReporter::StatsReporter(boost::asio::io_context& io, std::string path,
                             std::shared_ptr<Counters> counters, std::chrono::milliseconds interval)
    : path_(std::move(path)), counters_(std::move(counters)), interval_(interval), timer_(io) {}

void StatsReporter::Changed() {
  if (path_.empty() || closed_ || scheduled_) return;
  scheduled_ = true;
  timer_.expires_at(std::max(std::chrono::steady_clock::now(), last_write_ + interval_));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled by Flush or shutdown
    scheduled_ = false;
    Write();
  });
}

void StatsReporter::Flush() {
  if (path_.empty() || closed_) return;
  if (scheduled_) {
    timer_.cancel();
    scheduled_ = false;
  }
  Write();
}

void StatsReporter::Close() {
  Flush();
  closed_ = true;
}

void StatsReporter::Write() {
  last_write_ = std::chrono::steady_clock::now();
  if (!WriteFileAtomically(path_, counters_->Read().ToJson()) && !warned_) {
    warned_ = true;  // say it once, keep proxying
    std::fprintf(stderr, "slowlink: cannot write stats file %s: %s\n", path_.c_str(), std::strerror(errno));
  }
}

}  // namespace pier::slowlink
