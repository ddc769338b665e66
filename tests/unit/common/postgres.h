#pragma once
// One private PostgreSQL 15 server per test binary, started on first use by
// tests/integration/lib/postgres.sh in a temp folder and stopped (by PID)
// when the binary exits. Tests that need it begin with
// PIER_REQUIRE_POSTGRES(server): without Debian's postgresql package the
// test is a missing peer (peers.h: fails under ctest, skips in a bare run);
// a server that is installed but does not start is a failure.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "tests/unit/common/peers.h"
#include "tests/unit/common/temp_dir.h"

namespace pier::testing {

class PostgresServer {
 public:
  // The binary's server; started by the first call (later calls return the
  // same one, started or not).
  static PostgresServer& Get() {
    static std::mutex mu;
    static std::unique_ptr<PostgresServer> server;
    std::lock_guard<std::mutex> lock(mu);
    if (!server) server.reset(new PostgresServer());
    return *server;
  }

  ~PostgresServer() {
    if (started_) Run("stop");
  }

  // Empty when the server runs; otherwise why not.
  const std::string& missing() const { return missing_; }  // not installed
  const std::string& error() const { return error_; }      // installed, did not start
  bool ok() const { return missing_.empty() && error_.empty(); }

  // "host=127.0.0.1 port=N dbname=pier user=pier" (no password in it).
  const std::string& dsn() const { return dsn_; }
  const std::string& password() const { return password_; }
  int pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

  // Stops the server (fast shutdown: every connection is cut) and starts it
  // again on the same port and data. False, with error(), on failure.
  bool Restart() {
    if (!Run("stop")) return false;
    started_ = false;
    if (!Run("start")) return false;
    started_ = true;
    return ReadEnv();
  }

 private:
  PostgresServer() : dir_("pier-pg") {
    const char* bin = std::getenv("PG_BIN");
    std::filesystem::path pg_bin = bin != nullptr ? bin : "/usr/lib/postgresql/15/bin";
    if (!std::filesystem::exists(pg_bin / "initdb") || !std::filesystem::exists(pg_bin / "pg_ctl")) {
      missing_ = "PostgreSQL 15 is not installed (no initdb/pg_ctl in " + pg_bin.string() +
                 "; scripts/deps.sh installs postgresql)";
      return;
    }
    if (!Run("start")) return;
    started_ = true;
    ReadEnv();
  }

  static std::filesystem::path Script() {
    if (const char* s = std::getenv("PIER_PG_HARNESS")) return s;
    // This header lives in tests/unit/common; the script in tests/integration/lib.
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "integration" / "lib" /
           "postgres.sh";
  }

  bool Run(const std::string& cmd) {
    std::filesystem::path log = dir_.path() / ("harness-" + cmd + ".log");
    std::string line = "bash '" + Script().string() + "' " + cmd + " '" + dir_.path().string() + "' >'" +
                       log.string() + "' 2>&1";
    int rc = std::system(line.c_str());
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0) return true;
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 3) {
      missing_ = ReadFile(log);
    } else {
      error_ = "postgres.sh " + cmd + " failed: " + ReadFile(log);
    }
    return false;
  }

  bool ReadEnv() {
    std::map<std::string, std::string> env;
    std::ifstream in(dir_.path() / "env");
    for (std::string line; std::getline(in, line);) {
      auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string v = line.substr(eq + 1);
      if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
      env[line.substr(0, eq)] = v;
    }
    dsn_ = env["PG_DSN"];
    password_ = env["PG_PASSWORD"];
    pid_ = std::atoi(env["PG_PID"].c_str());
    if (dsn_.empty() || password_.empty() || pid_ <= 0) {
      error_ = "postgres.sh wrote no usable env in " + dir_.path().string();
      return false;
    }
    return true;
  }

  TempDir dir_;  // removed after the destructor's stop
  bool started_ = false;
  std::string missing_, error_, dsn_, password_;
  int pid_ = 0;
};

}  // namespace pier::testing

// Ends the test unless the binary's PostgreSQL runs: a missing install is a
// missing peer, a failed start a failure. Binds `server` to it.
#define PIER_REQUIRE_POSTGRES(server)                                        \
  ::pier::testing::PostgresServer& server = ::pier::testing::PostgresServer::Get(); \
  if (!server.missing().empty()) PIER_MISSING_PEER(server.missing());        \
  ASSERT_TRUE(server.ok()) << server.error()
