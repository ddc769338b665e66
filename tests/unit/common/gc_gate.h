#pragma once
// A GC pins hook that holds a run at its start until the test opens the
// gate: so a test sees a run Running, asks for a second one or stops it.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>

#include "cache/gc/gc_service.h"

namespace pier::testing {

class GcGate {
 public:
  // For GcServiceOptions::pins; the gate must outlive the run.
  gc::PinsHook Hook() {
    return [this]() -> std::function<bool(std::string_view, const Digest&)> {
      std::unique_lock lock(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
      return nullptr;
    };
  }
  // Waits until a run is held at the gate.
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

}  // namespace pier::testing
