#include "bench/slowlink/stats.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace pier::slowlink {

std::string StatsSnapshot::ToJson() const {
  return "{\"bytes_up\":" + std::to_string(bytes_up) + ",\"bytes_down\":" + std::to_string(bytes_down) +
         ",\"connections_accepted\":" + std::to_string(connections_accepted) +
         ",\"connections_active\":" + std::to_string(connections_active) +
         ",\"connections_cut\":" + std::to_string(connections_cut) + ",\"resets\":" + std::to_string(resets) +
         "}\n";
}

StatsSnapshot Counters::Read() const {
  StatsSnapshot s;
  s.bytes_up = bytes_up.load(std::memory_order_relaxed);
  s.bytes_down = bytes_down.load(std::memory_order_relaxed);
  s.connections_accepted = connections_accepted.load(std::memory_order_relaxed);
  s.connections_active = connections_active.load(std::memory_order_relaxed);
  s.connections_cut = connections_cut.load(std::memory_order_relaxed);
  s.resets = resets_.load(std::memory_order_relaxed);
  return s;
}

void Counters::Reset() {
  bytes_up.store(0, std::memory_order_relaxed);
  bytes_down.store(0, std::memory_order_relaxed);
  connections_accepted.store(0, std::memory_order_relaxed);
  connections_cut.store(0, std::memory_order_relaxed);
  resets_.fetch_add(1, std::memory_order_relaxed);
}

bool WriteFileAtomically(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    std::remove(tmp.c_str());
    errno = saved;
    return false;
  }
  return true;
}

}  // namespace pier::slowlink
