#pragma once
// A real S3 for tests: one Ceph radosgw per test process, started on first
// use by tests/integration/lib/rgw.sh in a fresh folder and stopped when the
// process exits (the script's watchdog also stops it if the process dies
// without running its exit handlers).
//
// Needs root and Ceph's packages (scripts/deps.sh). When they are missing
// RgwTest uses PIER_MISSING_PEER: the test fails under ctest
// (PIER_REQUIRE_PEERS=1) and is skipped in a bare run. Any other start-up
// failure fails the test with the script's output (the daemons' log tails).
//
// The folder is under /var/tmp (PIER_RGW_PARENT overrides it): BlueStore
// opens its block file with O_DIRECT, which a tmpfs /tmp refuses.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

struct RgwInfo {
  std::string endpoint;  // "http://127.0.0.1:PORT"
  std::string access_key;
  std::string secret_key;
  std::string region;
};

namespace rgw_internal {

inline std::filesystem::path Script() {
  if (const char* s = std::getenv("PIER_RGW_SCRIPT")) return s;
  // This header sits at tests/unit/common/ of the source tree.
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "integration" / "lib" /
         "rgw.sh";
}

inline bool OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(p.substr(start, end - start)) / name, ec)) return true;
    start = end + 1;
  }
  return false;
}

struct State {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<RgwInfo> info;
  std::string why;  // why there is no RGW
  bool missing = false;
  bool started = false;

  ~State() {
    if (!started) return;
    const std::string cmd = "bash '" + Script().string() + "' stop '" + (dir->path() / "cluster").string() + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "rgw.sh stop failed for %s\n", dir->path().c_str());
  }

  void Start() {
    for (const char* b : {"ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "monmaptool", "uuidgen"}) {
      if (!OnPath(b)) {
        missing = true;
        why = std::string(b) + " is not installed (scripts/deps.sh installs Ceph)";
        return;
      }
    }
    if (::geteuid() != 0) {
      missing = true;
      why = "starting a Ceph radosgw needs root";
      return;
    }
    const char* parent = std::getenv("PIER_RGW_PARENT");
    dir = std::make_unique<TempDir>("pier-rgw", parent != nullptr ? parent : "/var/tmp");
    const auto cluster = dir->path() / "cluster";
    const auto out = dir->path() / "start.out";
    const std::string cmd = "RGW_OWNER_PID=" + std::to_string(::getpid()) + " bash '" + Script().string() +
                            "' start '" + cluster.string() + "' >'" + out.string() + "' 2>&1";
    started = true;  // from here on, stop at exit whatever happened
    const int rc = std::system(cmd.c_str());
    const std::string output = ReadFile(out);
    if (rc != 0) {
      why = "rgw.sh start failed (exit " + std::to_string(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1) + "):\n" + output;
      return;
    }
    std::map<std::string, std::string> env;
    std::ifstream in(cluster / "env");
    for (std::string line; std::getline(in, line);) {
      const size_t eq = line.find('=');
      if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    info = std::make_unique<RgwInfo>(
        RgwInfo{env["RGW_ENDPOINT"], env["RGW_ACCESS_KEY"], env["RGW_SECRET_KEY"], env["RGW_REGION"]});
    if (info->endpoint.empty() || info->access_key.empty() || info->secret_key.empty()) {
      why = "rgw.sh wrote an incomplete env file:\n" + output;
      info.reset();
    }
    std::fprintf(stderr, "%s", output.c_str());
  }
};

inline State& Shared() {
  static State state;  // destroyed (and the RGW stopped) at exit
  static std::once_flag once;
  std::call_once(once, [] { state.Start(); });
  return state;
}

}  // namespace rgw_internal

// Tests that talk to the process's radosgw derive from this.
class RgwTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& s = rgw_internal::Shared();
    if (s.missing) PIER_MISSING_PEER(s.why);
    ASSERT_NE(s.info, nullptr) << s.why;
    rgw_ = s.info.get();
  }

  const RgwInfo& rgw() const { return *rgw_; }

 private:
  const RgwInfo* rgw_ = nullptr;
};

}  // namespace pier::testing
