// Harbor time formatting, see harbor_time.h.
#include "base/harbor_time.h"

#include <cstdio>

namespace pier {

std::string FormatTime(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  if (t == system_clock::time_point{}) return "0001-01-01T00:00:00.000Z";
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{ms - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace pier
