#pragma once
// DelayLine: the bytes in flight in one direction of the modelled link, in
// arrival order, each chunk tagged with the time it may be delivered. Bytes
// leave strictly in the order they entered; a chunk can leave in pieces.
// Pure data structure (no I/O, no clock reads).
#include <chrono>
#include <cstddef>
#include <deque>
#include <span>
#include <vector>

namespace pier::slowlink {

class DelayLine {
 public:
  using Clock = std::chrono::steady_clock;

  // Appends a copy of `bytes`, deliverable from `due` on. Empty input is
  // ignored. Due times should not decrease (a constant delay ensures that).
  void Push(std::span<const char> bytes, Clock::time_point due);

  bool empty() const { return chunks_.empty(); }
  // Bytes queued and not yet popped.
  size_t bytes() const { return bytes_; }
  // The front chunk's delivery time and its not-yet-delivered bytes.
  // Only valid when !empty().
  Clock::time_point front_due() const { return chunks_.front().due; }
  std::span<const char> front() const;
  // Removes the first n bytes of front() (n <= front().size()).
  void Pop(size_t n);

 private:
  struct Chunk {
    std::vector<char> data;
    size_t offset = 0;
    Clock::time_point due;
  };
  std::deque<Chunk> chunks_;
  size_t bytes_ = 0;
};

}  // namespace pier::slowlink
