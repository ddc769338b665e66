#pragma once
// StatsReporter: keeps the stats file in step with the Counters. After
// Changed() the file is rewritten within `interval` (never more often than
// once per interval); Flush() rewrites it at once. Without a path it does
// nothing. Runs on one io_context; call it only from that context's thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "bench/slowlink/stats.h"

namespace pier::slowlink {

class StatsReporter {
 public:
  StatsReporter(boost::asio::io_context& io, std::string path, std::shared_ptr<Counters> counters,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  StatsReporter(const StatsReporter&) = delete;
  StatsReporter& operator=(const StatsReporter&) = delete;

  void Changed();
  void Flush();
  // Writes the file one last time; later calls do nothing (so objects torn
  // down with the io_context do not start new timers).
  void Close();

 private:
  void Write();

  std::string path_;
  std::shared_ptr<Counters> counters_;
  std::chrono::milliseconds interval_;
  boost::asio::steady_timer timer_;
  bool scheduled_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_write_{};
  bool warned_ = false;
};

}  // namespace pier::slowlink
