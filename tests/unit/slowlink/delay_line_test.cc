#include "bench/slowlink/delay_line.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace pier::slowlink {
namespace {

using Clock = DelayLine::Clock;
using std::chrono::milliseconds;

std::span<const char> Bytes(std::string_view s) { return {s.data(), s.size()}; }
std::string Str(std::span<const char> s) { return {s.begin(), s.end()}; }

TEST(SlowlinkDelayLineTest, KeepsOrderAndDueTimes) {
  DelayLine q;
  const Clock::time_point t0{};
  EXPECT_TRUE(q.empty());
  q.Push(Bytes("hello"), t0 + milliseconds(40));
  q.Push(Bytes(""), t0 + milliseconds(41));  // ignored
  q.Push(Bytes("world"), t0 + milliseconds(42));
  EXPECT_EQ(q.bytes(), 10u);
  EXPECT_EQ(q.front_due(), t0 + milliseconds(40));
  EXPECT_EQ(Str(q.front()), "hello");
  q.Pop(5);
  EXPECT_EQ(q.front_due(), t0 + milliseconds(42));
  EXPECT_EQ(Str(q.front()), "world");
}

TEST(SlowlinkDelayLineTest, ChunksLeaveInPieces) {
  DelayLine q;
  q.Push(Bytes("abcdef"), Clock::time_point{});
  q.Pop(2);
  EXPECT_EQ(Str(q.front()), "cdef");
  EXPECT_EQ(q.bytes(), 4u);
  q.Pop(100);  // clamped to the chunk
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(SlowlinkDelayLineTest, CopiesInput) {
  DelayLine q;
  std::string s = "abc";
  q.Push(Bytes(s), Clock::time_point{});
  s = "xyz";
  EXPECT_EQ(Str(q.front()), "abc");
}

}  // namespace
}  // namespace pier::slowlink
