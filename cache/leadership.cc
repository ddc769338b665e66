#include "cache/leadership.h"

#include "base/log.h"

namespace pier {

Leadership::Leadership(std::shared_ptr<Store> store, Options options)
    : store_(std::move(store)), o_(std::move(options)) {}

Leadership::~Leadership() { Stop(); }

void Leadership::Stop() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  const bool led = leader_.load();
  if (led) Lose();
  {
    std::lock_guard lock(mu_);
    duties_closing_ = true;
  }
  cv_.notify_all();
  if (duty_thread_.joinable()) duty_thread_.join();  // runs what is posted, on_lose last
  if (led && store_->shared_metadata()) (void)store_->ReleaseLease(o_.name, o_.holder);  // the next leader need not wait
}

void Leadership::Start() {
  if (!store_->shared_metadata()) {
    leader_ = true;
    ++tenures_;
    if (o_.on_gain) o_.on_gain();
    return;
  }
  duty_thread_ = std::thread([this] { Duties(); });
  thread_ = std::thread([this] { Loop(); });
}

void Leadership::Post(Duty d) {
  {
    std::lock_guard lock(mu_);
    // A tick already waiting is enough.
    if (d == Duty::kTick && !duties_.empty() && duties_.back() == Duty::kTick) return;
    duties_.push_back(d);
  }
  cv_.notify_all();
}

void Leadership::Duties() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return duties_closing_ || !duties_.empty(); });
    if (duties_.empty()) return;  // closing, all done
    const Duty d = duties_.front();
    duties_.erase(duties_.begin());
    lock.unlock();
    const auto& fn = d == Duty::kGain ? o_.on_gain : d == Duty::kTick ? o_.on_tick : o_.on_lose;
    if (fn) fn();
    lock.lock();
  }
}

void Leadership::Loop() {
  std::unique_lock lock(mu_);
  while (!closing_) {
    lock.unlock();
    Step();
    lock.lock();
    cv_.wait_for(lock, o_.tick, [&] { return closing_; });
  }
}

void Leadership::Step() {
  const auto asked = std::chrono::steady_clock::now();
  auto held = store_->HoldLease(o_.name, o_.holder, o_.ttl);
  if (!held.ok()) {
    // The database is away: lead on only while the lease surely still runs
    // (counted from when the last renewal was asked, so never too long).
    if (leader_.load() && asked >= held_until_) {
      log::Warn("cannot renew the leader lease: stepping down", {{"error", held.status().message()}});
      Lose();
    }
    return;
  }
  if (!held->has_value()) {
    if (leader_.load()) {
      log::Warn("another replica holds the leader lease: stepping down");
      Lose();
    }
    return;
  }
  // A new token is a new tenure: the lease lapsed in between (a stall), and
  // someone may have led meanwhile. Start over as a fresh leader.
  if (leader_.load() && **held != token_) Lose();
  held_until_ = asked + o_.ttl - o_.tick;
  if (!leader_.load()) {
    token_ = **held;
    leader_ = true;
    ++tenures_;
    log::Info("this replica leads: it runs replication and fires schedules", {{"holder", o_.holder}});
    Post(Duty::kGain);
    return;
  }
  Post(Duty::kTick);
}

void Leadership::Lose() {
  leader_ = false;
  if (thread_.joinable() || duty_thread_.joinable()) {
    Post(Duty::kLose);
  } else if (o_.on_lose) {
    o_.on_lose();  // a single node
  }
}

}  // namespace pier
