#include "bench/slowlink/delay_line.h"

#include <algorithm>

namespace pier::slowlink {

void DelayLine::Push(std::span<const char> bytes, Clock::time_point due) {
  if (bytes.empty()) return;
  chunks_.push_back(Chunk{std::vector<char>(bytes.begin(), bytes.end()), 0, due});
  bytes_ += bytes.size();
}

std::span<const char> DelayLine::front() const {
  const Chunk& c = chunks_.front();
  return std::span<const char>(c.data).subspan(c.offset);
}

void DelayLine::Pop(size_t n) {
  Chunk& c = chunks_.front();
  n = std::min(n, c.data.size() - c.offset);
  c.offset += n;
  bytes_ -= n;
  if (c.offset == c.data.size()) chunks_.pop_front();
}

}  // namespace pier::slowlink
