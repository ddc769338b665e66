#pragma once
// Tests that drive real peer programs (docker-registry, openssl) need them
// installed; scripts/deps.sh installs them. Under ctest (tests/CMakeLists.txt
// sets PIER_REQUIRE_PEERS=1) a missing peer FAILS the test, so CI never
// passes on tests that did not run; only a bare run of the binary may skip.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace pier::testing {

inline bool PeersRequired() {
  const char* v = std::getenv("PIER_REQUIRE_PEERS");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace pier::testing

// Ends the test because a peer program is missing (`why` says which).
#define PIER_MISSING_PEER(why)                                                          \
  do {                                                                                  \
    if (::pier::testing::PeersRequired()) FAIL() << (why) << " (PIER_REQUIRE_PEERS=1)"; \
    GTEST_SKIP() << (why);                                                              \
  } while (0)
