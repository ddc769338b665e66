#pragma once
// Waiting in tests: for another thread, a server or a child process to reach
// a state, never for a fixed time. A fixed sleep is too short on a loaded
// machine (ctest -j under ASan) and too long everywhere else.
#include <chrono>
#include <thread>

namespace pier::testing {

// Polls `cond` until it holds or `limit` has passed; returns its last value,
// so a caller ASSERTs on it. The limit is a deadline for a hang, not a
// performance bar: keep it generous.
template <class Cond>
bool WaitUntil(Cond&& cond, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= end) return cond();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace pier::testing
