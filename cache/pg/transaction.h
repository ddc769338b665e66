#pragma once
// Transaction: BEGIN ... COMMIT on one connection, rolled back unless
// committed. RunTransaction: a whole unit of work on a pooled connection,
// run again from the start when PostgreSQL says it may be.
//
// Promises:
//  - A Transaction that is destroyed without a successful Commit() rolls
//    back: nothing it wrote is visible to anyone, ever.
//  - RunTransaction calls fn at most 1 + max_retries times, each time in a
//    fresh transaction, and only again when the previous attempt certainly
//    changed nothing: a serialization failure or deadlock (IsRetryable), or
//    a lost connection before COMMIT was sent (then on another connection).
//    A connection lost while COMMIT was in flight leaves the outcome unknown:
//    that is returned as kUnavailable ("commit outcome unknown") and never
//    retried, since fn may not be idempotent.
//  - fn's own non-OK Status ends the transaction (rolled back) and is
//    returned as is, unless it is retryable as above.
#include <chrono>
#include <functional>

#include "base/status.h"
#include "cache/pg/connection.h"
#include "cache/pg/pool.h"

namespace pier::pg {

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  Isolation isolation = Isolation::kReadCommitted;
  bool read_only = false;
  int max_retries = 5;
  // First pause between attempts (doubled each time, jittered): lets the
  // transaction we collided with finish.
  std::chrono::milliseconds backoff{2};
};

class Transaction {
 public:
  static Result<Transaction> Begin(Connection& c, const TxOptions& options = {});
  Transaction(Transaction&& o) noexcept : conn_(o.conn_), open_(o.open_) { o.open_ = false; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();

  Connection& conn() const { return *conn_; }
  Status Commit();
  Status Rollback();

 private:
  explicit Transaction(Connection* c) : conn_(c), open_(true) {}
  Connection* conn_;
  bool open_;
};

// fn runs inside the transaction; an OK return commits it.
using TxFn = std::function<Status(Connection& c)>;
Status RunTransaction(Pool& pool, const TxFn& fn, const TxOptions& options = {});

}  // namespace pier::pg
