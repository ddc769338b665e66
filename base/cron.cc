// Six-field cron, see cron.h.
#include "base/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace pier {
namespace {

using Clock = std::chrono::system_clock;

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names;  // optional names for min..min+n-1
  int names_count;
  int star_max;  // end of '*' and "a/n": day of week accepts 7 but '*' means 0-6
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr std::array<FieldSpec, 6> kFields = {{
    {"seconds", 0, 59, nullptr, 0, 59},
    {"minutes", 0, 59, nullptr, 0, 59},
    {"hours", 0, 23, nullptr, 0, 23},
    {"day of month", 1, 31, nullptr, 0, 31},
    {"month", 1, 12, kMonthNames, 12, 12},
    {"day of week", 0, 7, kDayNames, 7, 6},
}};

std::vector<std::string_view> SplitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

bool ParseNumber(const FieldSpec& f, std::string_view s, int* out) {
  if (s.empty()) return false;
  bool digits = true;
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    if (s.size() > 4) return false;
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    if (v < f.min || v > f.max) return false;
    *out = v;
    return true;
  }
  if (s.size() != 3) return false;
  for (int i = 0; i < f.names_count; ++i) {
    bool eq = true;
    for (int k = 0; k < 3; ++k) {
      eq = eq && std::toupper(static_cast<unsigned char>(s[k])) == f.names[i][k];
    }
    if (eq) {
      *out = f.min + i;
      return true;
    }
  }
  return false;
}

// Sets bits [min..max] of the field; returns false on bad syntax. `star`
// is set when the field is unrestricted ('*' or '?').
bool ParseField(const FieldSpec& f, bool allow_question, std::string_view text, std::vector<bool>* bits,
                bool* star) {
  bits->assign(static_cast<size_t>(f.max + 1), false);
  *star = false;
  for (std::string_view part : SplitOn(text, ',')) {
    std::string_view range = part;
    int step = 1;
    size_t slash = part.find('/');
    if (slash != std::string_view::npos) {
      range = part.substr(0, slash);
      std::string_view st = part.substr(slash + 1);
      if (st.empty() || st.size() > 4) return false;
      step = 0;
      for (char c : st) {
        if (c < '0' || c > '9') return false;
        step = step * 10 + (c - '0');
      }
      if (step == 0) return false;
    }
    int lo = 0;
    int hi = 0;
    if (range == "*" || (allow_question && range == "?")) {
      lo = f.min;
      hi = f.star_max;
      if (step == 1) *star = true;  // robfig: "*/2" is a restriction, "*/1" is not
    } else {
      size_t dash = range.find('-');
      if (dash == std::string_view::npos) {
        if (!ParseNumber(f, range, &lo)) return false;
        hi = (slash == std::string_view::npos) ? lo : std::max(lo, f.star_max);  // "a/n" runs to the max
      } else {
        if (!ParseNumber(f, range.substr(0, dash), &lo)) return false;
        if (!ParseNumber(f, range.substr(dash + 1), &hi)) return false;
        if (hi < lo) return false;
      }
    }
    for (int v = lo; v <= hi; v += step) (*bits)[static_cast<size_t>(v)] = true;
  }
  return true;
}

}  // namespace

std::vector<std::string_view> CronFields(std::string_view spec) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < spec.size()) {
    while (i < spec.size() && std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
    size_t start = i;
    while (i < spec.size() && !std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
    if (i > start) fields.push_back(spec.substr(start, i - start));
  }
  return fields;
}

Result<CronSchedule> CronSchedule::Parse(std::string_view spec) {
  std::vector<std::string_view> fields = CronFields(spec);
  if (fields.size() != 6) {
    return Status::InvalidArgument("cron \"" + std::string(spec) + "\" has " + std::to_string(fields.size()) +
                                   " fields; want 6: seconds minutes hours day-of-month month day-of-week");
  }
  CronSchedule c;
  c.spec_ = std::string(spec);
  for (size_t f = 0; f < 6; ++f) {
    std::vector<bool> bits;
    bool star = false;
    if (!ParseField(kFields[f], f >= 3 && f != 4, fields[f], &bits, &star)) {
      return Status::InvalidArgument("cron \"" + std::string(spec) + "\": bad " + kFields[f].name +
                                     " field \"" + std::string(fields[f]) + "\" (allowed " +
                                     std::to_string(kFields[f].min) + "-" + std::to_string(kFields[f].max) +
                                     ")");
    }
    for (size_t v = 0; v < bits.size(); ++v) {
      if (!bits[v]) continue;
      switch (f) {
        case 0:
          c.seconds_.set(v);
          break;
        case 1:
          c.minutes_.set(v);
          break;
        case 2:
          c.hours_.set(v);
          break;
        case 3:
          c.dom_.set(v);
          break;
        case 4:
          c.months_.set(v);
          break;
        case 5:
          c.dow_.set(v % 7);
          break;
      }
    }
    if (f == 3) c.dom_star_ = star;
    if (f == 5) c.dow_star_ = star;
  }
  return c;
}

Clock::time_point CronSchedule::Next(Clock::time_point after) const {
  using namespace std::chrono;
  auto t = floor<seconds>(after) + seconds(1);
  const auto start_year = year_month_day{floor<days>(t)}.year();
  for (;;) {
    auto day = floor<days>(t);
    year_month_day ymd{day};
    if (ymd.year() > start_year + years(5)) return Clock::time_point::max();
    auto month = static_cast<unsigned>(ymd.month());
    if (!months_.test(month)) {
      t = sys_days{(ymd.year() / ymd.month() / 1) + months(1)};
      continue;
    }
    bool dom_ok = dom_.test(static_cast<unsigned>(ymd.day()));
    bool dow_ok = dow_.test(weekday{day}.c_encoding());
    bool day_ok = (dom_star_ || dow_star_) ? (dom_ok && dow_ok) : (dom_ok || dow_ok);
    if (!day_ok) {
      t = day + days(1);
      continue;
    }
    hh_mm_ss<seconds> hms{t - day};
    if (!hours_.test(static_cast<size_t>(hms.hours().count()))) {
      t = day + hms.hours() + hours(1);
      continue;
    }
    if (!minutes_.test(static_cast<size_t>(hms.minutes().count()))) {
      t = day + hms.hours() + hms.minutes() + minutes(1);
      continue;
    }
    if (!seconds_.test(static_cast<size_t>(hms.seconds().count()))) {
      t += seconds(1);
      continue;
    }
    return time_point_cast<Clock::duration>(t);
  }
}

}  // namespace pier
