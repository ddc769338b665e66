#include "cache/pg/transaction.h"

#include <random>
#include <thread>

namespace pier::pg {
namespace {

const char* BeginSql(const TxOptions& o) {
  switch (o.isolation) {
    case Isolation::kSerializable:
      return o.read_only ? "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY" : "BEGIN ISOLATION LEVEL SERIALIZABLE";
    case Isolation::kRepeatableRead:
      return o.read_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case Isolation::kReadCommitted:
      break;
  }
  return o.read_only ? "BEGIN READ ONLY" : "BEGIN";
}

void Backoff(std::chrono::milliseconds base, int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  auto ms = base.count() << std::min(attempt, 8);
  std::uniform_int_distribution<long> d(ms / 2, ms + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(d(rng)));
}

}  // namespace

Result<Transaction> Transaction::Begin(Connection& c, const TxOptions& options) {
  PIER_TRY(c.ExecScript(BeginSql(options)));
  return Transaction(&c);
}

Transaction::~Transaction() {
  if (open_) {
    Status s = Rollback();
    (void)s;  // a dead connection rolls back on the server by itself
  }
}

Status Transaction::Commit() {
  if (!open_) return Status::FailedPrecondition("postgres transaction: already ended");
  open_ = false;
  if (!conn_->broken() && !conn_->in_transaction()) {
    return Status::Internal("postgres transaction: not in a transaction at COMMIT");
  }
  if (conn_->in_failed_transaction()) {
    // A statement failed and the caller went on: COMMIT would quietly roll
    // back. Say so instead of pretending it committed.
    Status r = conn_->ExecScript("ROLLBACK");
    (void)r;
    return Status::FailedPrecondition("postgres transaction: a statement failed, rolled back instead of COMMIT");
  }
  Status s = conn_->ExecScript("COMMIT");
  if (!s.ok() && s.code() == Code::kUnavailable) {
    return Status::Unavailable("postgres: commit outcome unknown: " + s.message());
  }
  return s;
}

Status Transaction::Rollback() {
  if (!open_) return Status::OK();
  open_ = false;
  if (conn_->broken()) return Status::OK();
  return conn_->ExecScript("ROLLBACK");
}

Status RunTransaction(Pool& pool, const TxFn& fn, const TxOptions& options) {
  Status last;
  for (int attempt = 0; attempt <= options.max_retries; ++attempt) {
    if (attempt > 0) Backoff(options.backoff, attempt - 1);
    auto h = pool.Acquire();
    if (!h.ok()) return h.status();
    Connection& c = **h;
    auto tx = Transaction::Begin(c, options);
    if (!tx.ok()) {
      last = tx.status();
      if (c.broken()) continue;  // a dead idle connection: nothing began
      return last;
    }
    Status s = fn(c);
    if (!s.ok()) {
      last = s;
      Status r = tx->Rollback();
      (void)r;
      // Retry when the server threw the work away for us: a conflict, or
      // the link died before COMMIT (the server rolls back on disconnect).
      if (IsRetryable(s) || c.broken()) continue;
      return s;
    }
    s = tx->Commit();
    if (s.ok()) return s;
    last = s;
    if (IsRetryable(s)) continue;  // SERIALIZABLE fails some commits: nothing was written
    return s;                      // includes "commit outcome unknown"
  }
  return last;
}

}  // namespace pier::pg
