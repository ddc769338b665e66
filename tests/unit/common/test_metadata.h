#pragma once
// Where the store tests keep their records: RocksDB in the test's folder
// (the default), or, when PIER_TEST_METADATA=postgres (the `cache_pg.all`
// ctest entry), a database of its own per test on the binary's PostgreSQL
// (postgres.h), so the same store suite runs on both Db implementations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "cache/db.h"
#include "cache/pg/connection.h"
#include "cache/pg/db.h"
#include "tests/unit/common/postgres.h"

namespace pier::testing {

inline bool MetadataOnPostgres() {
  const char* v = std::getenv("PIER_TEST_METADATA");
  return v != nullptr && std::string(v) == "postgres";
}

// An opener of a new, empty database on the binary's PostgreSQL (every call
// of the opener opens that same database). Empty, with *why set, when the
// server or the CREATE DATABASE failed.
inline DbOpener FreshPostgresMetadata(std::string* why) {
  PostgresServer& server = PostgresServer::Get();
  if (!server.ok()) {
    *why = server.missing().empty() ? server.error() : server.missing();
    return {};
  }
  static std::atomic<int> next{0};
  const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(next++);
  pg::Connection::Options admin{server.dsn(), server.password()};
  auto c = pg::Connection::Connect(admin);
  if (!c.ok()) {
    *why = c.status().ToString();
    return {};
  }
  if (Status s = (*c)->ExecScript("CREATE DATABASE " + name); !s.ok()) {
    *why = s.ToString();
    return {};
  }
  pg::PgDbOptions o;
  o.connection.dsn = server.dsn() + " dbname=" + name;  // a later keyword wins in libpq
  o.connection.password = server.password();
  o.pool_size = 8;
  return [o]() { return pg::OpenPgDb(o); };
}

// The opener the store tests use: empty (RocksDB) unless on PostgreSQL.
// Ends the test (missing peer or failure) when PostgreSQL is wanted and
// cannot be had.
#define PIER_TEST_METADATA(opener)                                      \
  do {                                                                  \
    if (::pier::testing::MetadataOnPostgres()) {                        \
      std::string why_;                                                 \
      opener = ::pier::testing::FreshPostgresMetadata(&why_);           \
      if (!opener && !::pier::testing::PostgresServer::Get().missing().empty()) \
        PIER_MISSING_PEER(why_);                                        \
      ASSERT_TRUE(static_cast<bool>(opener)) << why_;                   \
    }                                                                   \
  } while (false)

}  // namespace pier::testing
