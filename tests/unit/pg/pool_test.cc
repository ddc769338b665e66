// Pool and transactions: bounds, deadlines, dead connections replaced,
// rollback, retry on conflicts, a server restart under a live pool.
#include "cache/pg/pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cache/pg/kv.h"
#include "cache/pg/transaction.h"
#include "tests/unit/common/wait.h"
#include "tests/unit/pg/pg_fixture.h"

namespace pier::pg {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class PgPoolTest : public PgTest {};

TEST_F(PgPoolTest, BoundedAndAcquireWaitsUntilItsDeadline) {
  auto pool = MakePool(2, milliseconds(300));
  auto a = pool->Acquire();
  auto b = pool->Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(pool->open_connections(), 2u);
  auto t0 = steady_clock::now();
  auto c = pool->Acquire();
  auto waited = steady_clock::now() - t0;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable);
  EXPECT_GE(waited, milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(10));
  // One comes back while another thread waits: that thread gets it.
  std::thread t([&] {
    auto got = pool->Acquire(steady_clock::now() + std::chrono::seconds(20));
    EXPECT_TRUE(got.ok());
  });
  std::this_thread::yield();
  a = Result<Pool::Handle>(Status::Internal("returned"));  // gives the connection back
  t.join();
  EXPECT_EQ(pool->open_connections(), 2u);
  EXPECT_EQ(pool->connections_made(), 2u);
}

TEST_F(PgPoolTest, WrongPasswordFailsAtOpen) {
  Pool::Options o;
  o.connection = Conn();
  o.connection.password = "wrong-one";
  auto p = Pool::Open(o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kUnavailable);
  EXPECT_EQ(p.status().message().find(server_->password()), std::string::npos);
}

TEST_F(PgPoolTest, TerminatedConnectionsAreReplaced) {
  auto pool = MakePool(3);
  {
    // Open three, then give them back idle.
    auto a = pool->Acquire();
    auto b = pool->Acquire();
    auto c = pool->Acquire();
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  }
  ASSERT_EQ(pool->idle_connections(), 3u);
  {
    auto killer = Connection::Connect(Conn());
    ASSERT_TRUE(killer.ok());
    auto k = (*killer)->Exec(
        "SELECT count(pg_terminate_backend(pid))::int8 FROM pg_stat_activity"
        " WHERE usename = 'pier' AND pid <> pg_backend_pid() AND datname = current_database()"
        " AND query NOT LIKE '%pg_terminate_backend%'");
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_GE(k->Int(0, 0), 3);
  }
  // The server's goodbye reaches the idle sockets: every Acquire gets a
  // working connection, and the dead ones are counted as dropped.
  for (int i = 0; i < 5; ++i) {
    auto h = pool->Acquire();
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    Status s = (*h)->Ping();
    if (!s.ok()) {
      // The goodbye had not arrived when Acquire looked: the failed query
      // marks it broken and it is dropped on return; never twice in a row.
      EXPECT_EQ(s.code(), Code::kUnavailable);
      EXPECT_TRUE((*h)->broken());
    }
  }
  EXPECT_GE(pool->connections_dropped(), 3u);
  EXPECT_LE(pool->open_connections(), 3u);
  auto h = pool->Acquire();
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE((*h)->Ping().ok());
}

TEST_F(PgPoolTest, ConnectionReturnedInsideATransactionIsRolledBack) {
  auto pool = MakePool(1);
  {
    auto h = pool->Acquire();
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE((*h)->ExecScript("CREATE TABLE t (n int)").ok());
    ASSERT_TRUE((*h)->ExecScript("BEGIN; INSERT INTO t VALUES (1)").ok());
    EXPECT_TRUE((*h)->in_transaction());
  }
  auto h = pool->Acquire();
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE((*h)->in_transaction());
  auto n = (*h)->Exec("SELECT count(*)::int8 FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->Int(0, 0), 0);
}

TEST_F(PgPoolTest, TransactionRollsBackUnlessCommitted) {
  auto h = pool_->Acquire();
  ASSERT_TRUE(h.ok());
  Connection& c = **h;
  ASSERT_TRUE(c.ExecScript("CREATE TABLE t (n int)").ok());
  {
    auto tx = Transaction::Begin(c);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(c.ExecScript("INSERT INTO t VALUES (1)").ok());
  }  // destroyed: rolled back
  EXPECT_FALSE(c.in_transaction());
  {
    auto tx = Transaction::Begin(c);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(c.ExecScript("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  {
    // A failed statement inside: Commit says so instead of a silent rollback.
    auto tx = Transaction::Begin(c);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(c.ExecScript("INSERT INTO t VALUES (3)").ok());
    EXPECT_FALSE(c.ExecScript("INSERT INTO t VALUES ('x')").ok());
    EXPECT_FALSE(tx->Commit().ok());
  }
  auto r = c.Exec("SELECT coalesce(sum(n), 0)::int8 FROM t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Int(0, 0), 2);
}

TEST_F(PgPoolTest, RunTransactionRetriesConflictsOnly) {
  int calls = 0;
  TxOptions o;
  o.backoff = milliseconds(1);
  // Serialization failure twice, then success: three calls, committed.
  Status s = RunTransaction(
      *pool_,
      [&](Connection& c) -> Status {
        ++calls;
        if (calls < 3) return c.ExecScript("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$");
        return c.ExecScript("CREATE TABLE done (n int)");
      },
      o);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 3);
  // Always conflicting: gives up after 1 + max_retries calls.
  calls = 0;
  o.max_retries = 3;
  s = RunTransaction(
      *pool_,
      [&](Connection& c) -> Status {
        ++calls;
        return c.ExecScript("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$");
      },
      o);
  EXPECT_TRUE(IsRetryable(s));
  EXPECT_EQ(calls, 4);
  // Other errors (and fn's own) are not retried, and roll back.
  calls = 0;
  s = RunTransaction(*pool_, [&](Connection& c) -> Status {
    ++calls;
    PIER_TRY(c.ExecScript("INSERT INTO done VALUES (1)"));
    return Status::FailedPrecondition("no");
  });
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(calls, 1);
  auto h = pool_->Acquire();
  ASSERT_TRUE(h.ok());
  auto r = (*h)->Exec("SELECT count(*)::int8 FROM done");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Int(0, 0), 0);
}

TEST_F(PgPoolTest, RealSerializationConflictIsRetried) {
  // Two SERIALIZABLE transactions each read the other's row and write their
  // own (write skew): PostgreSQL aborts one with 40001, RunTransaction runs
  // it again and both end up committed.
  {
    auto h = pool_->Acquire();
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE((*h)->ExecScript("CREATE TABLE s (k int PRIMARY KEY, v int); INSERT INTO s VALUES (1, 0), (2, 0)").ok());
  }
  std::atomic<int> calls{0};
  std::atomic<int> arrived{0};
  TxOptions o;
  o.isolation = Isolation::kSerializable;
  auto body = [&](int mine, int other) {
    return RunTransaction(
        *pool_,
        [&, mine, other](Connection& c) -> Status {
          int n = ++calls;
          auto r = c.Exec("SELECT v FROM s WHERE k = $1::int4", {Param::Text(std::to_string(other))});
          if (!r.ok()) return r.status();
          if (n <= 2) {
            // Both first attempts read before either writes.
            ++arrived;
            pier::testing::WaitUntil([&] { return arrived.load() >= 2; }, std::chrono::seconds(10));
          }
          auto w = c.Exec("UPDATE s SET v = v + 1 WHERE k = $1::int4", {Param::Text(std::to_string(mine))});
          return w.status();
        },
        o);
  };
  Status s1, s2;
  std::thread t1([&] { s1 = body(1, 2); });
  std::thread t2([&] { s2 = body(2, 1); });
  t1.join();
  t2.join();
  EXPECT_TRUE(s1.ok()) << s1.ToString();
  EXPECT_TRUE(s2.ok()) << s2.ToString();
  EXPECT_GE(calls.load(), 3);  // one of them ran again
  auto h = pool_->Acquire();
  ASSERT_TRUE(h.ok());
  auto r = (*h)->Exec("SELECT sum(v)::int8 FROM s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Int(0, 0), 2);
}

// Last: restarts the binary's server (fast shutdown cuts every connection).
TEST_F(PgPoolTest, ServerRestartUnderALivePool) {
  auto pool = MakePool(4);
  PgKv kv(pool.get());
  ASSERT_TRUE(kv.Write({{"f", "before", "1"}}).ok());
  {
    auto a = pool->Acquire();
    auto b = pool->Acquire();
    ASSERT_TRUE(a.ok() && b.ok());
  }
  const uint64_t made = pool->connections_made();
  ASSERT_TRUE(server_->Restart()) << server_->error();
  // Every call works again at once: idle connections the server closed are
  // noticed and replaced; a write lost before COMMIT is run again.
  ASSERT_TRUE(kv.Write({{"f", "after", "2"}}).ok());
  auto v = kv.Get("f", "before");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "1");
  EXPECT_EQ(*kv.Get("f", "after"), "2");
  EXPECT_GT(pool->connections_made(), made);
  EXPECT_GE(pool->connections_dropped(), 1u);
}

}  // namespace
}  // namespace pier::pg
