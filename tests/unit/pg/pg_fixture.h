#pragma once
// PgTest: each test in its own schema of the binary's server (search_path
// set in the DSN), so tests never see each other's rows even when a bare run
// of the binary runs them all against one server. Migrated to the library's
// schema unless the test says otherwise.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <memory>
#include <string>

#include "cache/pg/migrations.h"
#include "cache/pg/pool.h"
#include "tests/unit/common/postgres.h"

namespace pier::pg {

class PgTest : public ::testing::Test {
 protected:
  virtual bool migrate() const { return true; }

  void SetUp() override {
    PIER_REQUIRE_POSTGRES(server);
    server_ = &server;
    static std::atomic<int> seq{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    schema_ = "t" + std::to_string(seq++) + "_";
    for (char c : std::string(info->test_suite_name()) + "_" + info->name()) {
      schema_ += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    }
    schema_ = schema_.substr(0, 60);
    {
      auto admin = Connection::Connect({server.dsn(), server.password()});
      ASSERT_TRUE(admin.ok()) << admin.status().ToString();
      ASSERT_TRUE((*admin)->ExecScript("CREATE SCHEMA " + schema_).ok());
    }
    pool_ = MakePool();
    ASSERT_NE(pool_, nullptr);
    if (migrate()) {
      auto v = Migrate(*pool_, PierMigrations());
      ASSERT_TRUE(v.ok()) << v.status().ToString();
    }
  }

  // Connection options for this test's schema.
  Connection::Options Conn() const {
    return {server_->dsn() + " options='-csearch_path=" + schema_ + "'", server_->password()};
  }

  std::unique_ptr<Pool> MakePool(size_t max_size = 8, std::chrono::milliseconds acquire_timeout = std::chrono::seconds(20)) {
    Pool::Options o;
    o.connection = Conn();
    o.max_size = max_size;
    o.acquire_timeout = acquire_timeout;
    auto p = Pool::Open(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  ::pier::testing::PostgresServer* server_ = nullptr;
  std::string schema_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace pier::pg
