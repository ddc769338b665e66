// Connection against a real PostgreSQL: login, bytea, error mapping.
#include "cache/pg/connection.h"

#include <gtest/gtest.h>

#include "tests/unit/pg/pg_fixture.h"

namespace pier::pg {
namespace {

class PgConnectionTest : public PgTest {
 protected:
  bool migrate() const override { return false; }
};

TEST_F(PgConnectionTest, GoodPasswordConnectsAndPings) {
  auto c = Connection::Connect(Conn());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE((*c)->Ping().ok());
  auto r = (*c)->Exec("SELECT current_user, current_schema()");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Value(0, 0), "pier");
  EXPECT_EQ(r->Value(0, 1), schema_);
}

TEST_F(PgConnectionTest, BadPasswordIsAClearErrorWithoutThePassword) {
  const std::string wrong = "not-the-password-7f3a9c";
  auto c = Connection::Connect({server_->dsn(), wrong});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable);
  const std::string m = c.status().ToString();
  EXPECT_NE(m.find("password authentication failed"), std::string::npos) << m;
  EXPECT_EQ(m.find(wrong), std::string::npos) << m;
  EXPECT_EQ(m.find(server_->password()), std::string::npos) << m;

  // No password at all: refused as well, and the right one never shows.
  auto none = Connection::Connect({server_->dsn(), ""});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message().find(server_->password()), std::string::npos);
}

TEST_F(PgConnectionTest, UnreachableServerIsUnavailable) {
  // Port 1 on loopback: nobody listens (connection refused at once).
  auto c = Connection::Connect({"host=127.0.0.1 port=1 dbname=pier user=pier", "secret-xyz"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable);
  EXPECT_EQ(c.status().message().find("secret-xyz"), std::string::npos);
}

TEST_F(PgConnectionTest, ByteaRoundTripsAllByteValues) {
  auto c = Connection::Connect(Conn());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string twice = all + all;  // 0x00 and 0xff next to everything
  ASSERT_TRUE((*c)->ExecScript("CREATE TABLE b (id int PRIMARY KEY, v bytea NOT NULL)").ok());
  ASSERT_TRUE((*c)->Exec("INSERT INTO b VALUES (1, $1)", {Param::Bytes(twice)}).ok());
  for (int i = 0; i < 256; ++i) {
    std::string one(1, static_cast<char>(i));
    ASSERT_TRUE((*c)->Exec("INSERT INTO b VALUES ($1::int4, $2)", {Param::Text(std::to_string(100 + i)), Param::Bytes(one)}).ok());
  }
  auto r = (*c)->Exec("SELECT v, length(v) FROM b WHERE id = 1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Bytes(0, 0), twice);
  EXPECT_EQ(r->Int(0, 1), 512);
  // The server saw the bytes themselves (not an escaped text form).
  auto hex = (*c)->Exec("SELECT encode(v, 'hex') FROM b WHERE id = 1");
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(hex->Value(0, 0).substr(0, 8), "00010203");
  auto singles = (*c)->Exec("SELECT id, v FROM b WHERE id >= 100 ORDER BY v");
  ASSERT_TRUE(singles.ok());
  ASSERT_EQ(singles->rows(), 256);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(singles->Int(i, 0), 100 + i);  // bytea orders as unsigned bytes
    EXPECT_EQ(singles->Bytes(i, 1), std::string(1, static_cast<char>(i)));
  }
  // An empty bytea is not NULL.
  auto empty = (*c)->Exec("SELECT $1::bytea, $1::bytea IS NULL", {Param::Bytes("")});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->IsNull(0, 0));
  EXPECT_EQ(empty->Int(0, 1), 0);
  auto unbacked = (*c)->Exec("SELECT $1::bytea IS NULL, $2::text IS NULL",
                             {Param::Bytes(std::string_view()), Param::Text(std::string_view())});
  ASSERT_TRUE(unbacked.ok());
  EXPECT_EQ(unbacked->Int(0, 0), 0);
  EXPECT_EQ(unbacked->Int(0, 1), 0);
}

TEST_F(PgConnectionTest, ErrorsCarrySqlStateAndCode) {
  auto c = Connection::Connect(Conn());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->ExecScript("CREATE TABLE u (k int PRIMARY KEY)").ok());
  ASSERT_TRUE((*c)->ExecScript("INSERT INTO u VALUES (1)").ok());
  Status dup = (*c)->ExecScript("INSERT INTO u VALUES (1)");
  EXPECT_EQ(dup.code(), Code::kAlreadyExists) << dup.ToString();
  EXPECT_EQ(SqlState(dup), "23505");
  EXPECT_FALSE(IsRetryable(dup));

  for (const char* state : {"40001", "40P01"}) {
    auto r = (*c)->Exec(std::string("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '") + state + "'; END $$");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
    EXPECT_EQ(SqlState(r.status()), state);
    EXPECT_TRUE(IsRetryable(r.status()));
  }
  auto syntax = (*c)->Exec("SELEC 1");
  EXPECT_EQ(syntax.status().code(), Code::kInternal);
  EXPECT_EQ(SqlState(syntax.status()), "42601");
  EXPECT_FALSE((*c)->broken());
  EXPECT_TRUE((*c)->Ping().ok());
}

TEST_F(PgConnectionTest, TerminatedBackendIsUnavailableAndBroken) {
  auto victim = Connection::Connect(Conn());
  auto killer = Connection::Connect(Conn());
  ASSERT_TRUE(victim.ok() && killer.ok());
  auto pid = (*victim)->Exec("SELECT pg_backend_pid()::int8");
  ASSERT_TRUE(pid.ok());
  std::string p = std::to_string(pid->Int(0, 0));
  auto k = (*killer)->Exec("SELECT pg_terminate_backend($1::int4)", {Param::Text(p)});
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  Status s = (*victim)->Ping();
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_TRUE((*victim)->broken());
  EXPECT_EQ((*victim)->Ping().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace pier::pg
