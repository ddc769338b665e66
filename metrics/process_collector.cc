#include "metrics/process_collector.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "metrics/exposition.h"

namespace pier::metrics {
namespace {

std::optional<std::string> ReadSmallFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ParseU64(std::string_view s, uint64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// Space-separated fields of `text`.
std::vector<std::string_view> Fields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<double> OpenFds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return std::nullopt;
  double n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  return n - 1;  // the descriptor of the directory being listed
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  // "pid (comm) state ppid ...": comm may contain ") ", so cut at the last ')'.
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  const auto f = Fields(text.substr(close + 1));
  // f[0] is field 3 (state) of proc(5); utime is field 14, rss field 24.
  if (f.size() < 22) return std::nullopt;
  ProcStat s;
  if (!ParseU64(f[11], &s.utime_ticks) || !ParseU64(f[12], &s.stime_ticks) ||
      !ParseU64(f[19], &s.start_ticks) || !ParseU64(f[20], &s.vsize_bytes) ||
      !ParseU64(f[21], &s.rss_pages)) {
    return std::nullopt;
  }
  return s;
}

std::optional<uint64_t> ParseBootTime(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.rfind("btime ", 0) == 0) {
      uint64_t v = 0;
      if (ParseU64(line.substr(6), &v)) return v;
      return std::nullopt;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto gauge = [&](const char* name, const char* help, double v) {
    out.push_back(GaugeFamily(name, help));
    Sample(&out.back(), v);
  };
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  std::optional<ProcStat> st;
  if (auto text = ReadSmallFile("/proc/self/stat")) st = ParseProcStat(*text);
  if (st && ticks > 0 && page > 0) {
    out.push_back(
        CounterFamily("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."));
    Sample(&out.back(), static_cast<double>(st->utime_ticks + st->stime_ticks) / static_cast<double>(ticks));
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
          static_cast<double>(st->rss_pages) * static_cast<double>(page));
    gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
          static_cast<double>(st->vsize_bytes));
    std::optional<uint64_t> boot;
    if (auto text = ReadSmallFile("/proc/stat")) boot = ParseBootTime(*text);
    if (boot) {
      gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            static_cast<double>(*boot) + static_cast<double>(st->start_ticks) / static_cast<double>(ticks));
    }
  }
  if (auto fds = OpenFds()) gauge("process_open_fds", "Number of open file descriptors.", *fds);
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(lim.rlim_cur));
  }
  return out;
}

}  // namespace pier::metrics
