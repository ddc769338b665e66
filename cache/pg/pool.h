#pragma once
// Pool: a bounded set of connections shared by threads.
//
// Promises:
//  - At most max_size connections exist at once; Acquire waits for one to
//    come back until its deadline, then fails with kUnavailable (never
//    blocks forever, never opens more).
//  - A connection handed out is not known to be dead: one that broke while
//    in use is dropped when it comes back, and an idle one the server hung
//    up on (a restart) is noticed at Acquire without a round trip
//    (Connection::LooksAlive) and replaced by a fresh connection.
//  - A connection comes back outside any transaction: one returned inside a
//    transaction block is rolled back first, or dropped if that fails.
// Connections are opened lazily, on demand. Thread-safe. The pool must
// outlive every Handle it gave out.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "cache/pg/connection.h"

namespace pier::pg {

class Pool {
 public:
  struct Options {
    Connection::Options connection;
    size_t max_size = 8;
    // How long Acquire() waits for a free connection.
    std::chrono::milliseconds acquire_timeout{10000};
  };

  // A connection on loan; goes back to the pool when destroyed.
  class Handle {
   public:
    Handle() = default;
    Handle(Handle&& o) noexcept;
    Handle& operator=(Handle&& o) noexcept;
    ~Handle();
    Connection* operator->() const { return conn_.get(); }
    Connection& operator*() const { return *conn_; }
    // Closes the connection instead of returning it (the caller knows it is
    // in a state no one else should inherit).
    void Discard();

   private:
    friend class Pool;
    Handle(Pool* pool, std::unique_ptr<Connection> c) : pool_(pool), conn_(std::move(c)) {}
    void Return();
    Pool* pool_ = nullptr;
    std::unique_ptr<Connection> conn_;
  };

  // Checks the DSN and password with one connection (kept idle): a wrong
  // password fails here, not at the first query.
  static Result<std::unique_ptr<Pool>> Open(const Options& options);
  explicit Pool(const Options& options) : options_(options) {}
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  Result<Handle> Acquire();
  Result<Handle> Acquire(std::chrono::steady_clock::time_point deadline);

  // Counters for tests and metrics.
  size_t open_connections() const;  // idle + in use
  size_t idle_connections() const;
  uint64_t connections_made() const;
  uint64_t connections_dropped() const;

 private:
  void Release(std::unique_ptr<Connection> c);

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_ = 0;  // idle_ + loaned + being connected
  uint64_t made_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace pier::pg
