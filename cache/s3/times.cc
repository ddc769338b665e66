#include "cache/s3/times.h"

#include <cstdio>
#include <ctime>

namespace pier::s3 {
namespace {

// Digits at [pos, pos+n) as a number, or -1.
int Num(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

std::optional<int64_t> ToUnix(int y, int mo, int d, int h, int mi, int sec) {
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::string FormatAmzDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::optional<int64_t> ParseIso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
    return std::nullopt;
  }
  std::string_view frac = s.substr(19, s.size() - 20);
  if (!frac.empty() && (frac[0] != '.' || frac.size() < 2 || frac.size() > 10 || Num(frac, 1, frac.size() - 1) < 0)) {
    return std::nullopt;  // '.' and 1 to 9 digits
  }
  int y = Num(s, 0, 4), mo = Num(s, 5, 2), d = Num(s, 8, 2), h = Num(s, 11, 2), mi = Num(s, 14, 2),
      sec = Num(s, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return std::nullopt;
  return ToUnix(y, mo, d, h, mi, sec);
}

std::optional<int64_t> ParseHttpDate(std::string_view s) {
  // IMF-fixdate: "Wed, 12 Oct 2009 17:50:00 GMT"
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  size_t m = kMonths.find(s.substr(8, 3));
  if (m == std::string_view::npos || m % 3 != 0) return std::nullopt;
  int d = Num(s, 5, 2), y = Num(s, 12, 4), h = Num(s, 17, 2), mi = Num(s, 20, 2), sec = Num(s, 23, 2);
  if (y < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return std::nullopt;
  return ToUnix(y, static_cast<int>(m / 3) + 1, d, h, mi, sec);
}

}  // namespace pier::s3
