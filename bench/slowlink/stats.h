#pragma once
// Counters: what crossed the link since start (or the last Reset). Byte
// counts are bytes the proxy handed to the receiving socket: bytes_up went to
// the target, bytes_down to the client. Safe to read from any thread.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace pier::slowlink {

struct StatsSnapshot {
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_active = 0;  // a gauge: not zeroed by Reset
  uint64_t connections_cut = 0;
  uint64_t resets = 0;  // how many times Reset ran

  // One-line JSON object with the fields above, ending in '\n'.
  std::string ToJson() const;
};

class Counters {
 public:
  std::atomic<uint64_t> bytes_up{0};
  std::atomic<uint64_t> bytes_down{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> connections_cut{0};

  StatsSnapshot Read() const;
  // Zeroes the cumulative counters (not connections_active).
  void Reset();

 private:
  std::atomic<uint64_t> resets_{0};
};

// Writes `content` to `path` via a temporary file in the same directory and
// rename(2), so readers see the old or the new file, never a partial one.
// Returns false (errno set) on failure.
bool WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace pier::slowlink
