#pragma once
// Six-field cron schedules (seconds first), as Harbor's scheduled trigger
// uses them: "sec min hour day-of-month month day-of-week". Replication's
// scheduled policies and the GC schedule share it, so it lives in base/.
//
// Promises: Parse accepts standard 6-field cron — '*', '?' (day fields),
// values, lists "a,b", ranges "a-b", steps "*/n", "a-b/n", "a/n" (a to the
// field's max), month names JAN..DEC and day names SUN..SAT (any case), day
// of week 0-7 (0 and 7 are Sunday) — and refuses anything else with
// InvalidArgument naming the field. Harbor's extra rules (seconds must be
// "0", minutes not "*") are applied by ParsePolicy, not here.
// When both day-of-month and day-of-week are restricted, a day matching
// either fires (classic cron and robfig/cron, which Harbor uses).
// Times are UTC.
#include <bitset>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier {

// The whitespace-separated fields of a cron spec (any isspace character
// separates, as Parse reads them).
std::vector<std::string_view> CronFields(std::string_view spec);

class CronSchedule {
 public:
  static Result<CronSchedule> Parse(std::string_view spec);

  // The first time strictly after `after`, on a whole second, that the
  // schedule fires. time_point::max() when it never fires within the next
  // five years (e.g. "0 0 0 30 2 *").
  std::chrono::system_clock::time_point Next(std::chrono::system_clock::time_point after) const;

  const std::string& spec() const { return spec_; }

 private:
  std::string spec_;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> dom_;     // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> dow_;      // 0..6, Sunday = 0
  bool dom_star_ = false;
  bool dow_star_ = false;
};

}  // namespace pier
