#include "cache/pg/pool.h"

#include <utility>

namespace pier::pg {

Pool::Handle::Handle(Handle&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), conn_(std::move(o.conn_)) {}

Pool::Handle& Pool::Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    Return();
    pool_ = std::exchange(o.pool_, nullptr);
    conn_ = std::move(o.conn_);
  }
  return *this;
}

Pool::Handle::~Handle() { Return(); }

void Pool::Handle::Return() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_));
  pool_ = nullptr;
  conn_.reset();
}

void Pool::Handle::Discard() {
  if (pool_ == nullptr || conn_ == nullptr) return;
  conn_.reset();  // close outside the lock
  {
    std::lock_guard<std::mutex> lock(pool_->mu_);
    --pool_->open_;
    ++pool_->dropped_;
  }
  pool_->cv_.notify_one();
  pool_ = nullptr;
}

Result<std::unique_ptr<Pool>> Pool::Open(const Options& options) {
  if (options.max_size == 0) return Status::InvalidArgument("postgres pool: max_size must be at least 1");
  auto pool = std::make_unique<Pool>(options);
  {
    auto h = pool->Acquire();  // back to the pool at the end of the block
    if (!h.ok()) return h.status();
  }
  return pool;
}

Pool::~Pool() {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.clear();
}

Result<Pool::Handle> Pool::Acquire() { return Acquire(std::chrono::steady_clock::now() + options_.acquire_timeout); }

Result<Pool::Handle> Pool::Acquire(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      if (c->LooksAlive()) return Handle(this, std::move(c));
      // The server hung up while it sat idle (restart, idle timeout):
      // drop it and look again, or open a new one below.
      --open_;
      ++dropped_;
      lock.unlock();
      c.reset();
      lock.lock();
    }
    if (open_ < options_.max_size) {
      ++open_;  // reserve the slot, connect without the lock
      lock.unlock();
      auto c = Connection::Connect(options_.connection);
      lock.lock();
      if (!c.ok()) {
        --open_;
        cv_.notify_one();
        return c.status();
      }
      ++made_;
      return Handle(this, std::move(c).value());
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= options_.max_size) {
      return Status::Unavailable("postgres pool: all " + std::to_string(options_.max_size) +
                                 " connections stayed in use until the deadline");
    }
  }
}

void Pool::Release(std::unique_ptr<Connection> c) {
  // A connection left inside a transaction (an early return past a
  // Transaction, a failed COMMIT) must not leak its state to the next user.
  if (!c->broken() && c->in_transaction()) {
    Status s = c->ExecScript("ROLLBACK");
    (void)s;  // failure shows as broken() just below
  }
  bool keep = !c->broken() && !c->in_transaction();
  if (!keep) c.reset();  // close outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (keep) {
      idle_.push_back(std::move(c));
    } else {
      --open_;
      ++dropped_;
    }
  }
  cv_.notify_one();
}

size_t Pool::open_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}
size_t Pool::idle_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}
uint64_t Pool::connections_made() const {
  std::lock_guard<std::mutex> lock(mu_);
  return made_;
}
uint64_t Pool::connections_dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace pier::pg
