#pragma once
// Tests of the O_DIRECT paths (DirectAppender, big uploads) need a folder
// whose file system takes O_DIRECT; tmpfs, the usual /tmp of a container,
// refuses it and the code falls back to buffered writes, so a test there
// would pass without running the path it is about.
//
// ctest (tests/CMakeLists.txt) hands those tests PIER_DIRECT_IO_DIR, a
// scratch folder under the build tree (on disk). Naming a folder says direct
// I/O is expected there (as does PIER_EXPECT_DIRECT_IO=1 for the temp
// directory): then a refusal FAILS the test. Only a bare run of the test
// binary without either (a developer's tmpfs) may skip.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace pier::testing {

// Where tests that need direct I/O make their scratch folders:
// $PIER_DIRECT_IO_DIR, else the temp directory.
inline std::filesystem::path DirectIoRoot() {
  const char* dir = std::getenv("PIER_DIRECT_IO_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return std::filesystem::temp_directory_path();
}

// True when the run says direct I/O must work: PIER_DIRECT_IO_DIR names a
// folder, or PIER_EXPECT_DIRECT_IO=1.
inline bool DirectIoExpected() {
  const char* dir = std::getenv("PIER_DIRECT_IO_DIR");
  const char* v = std::getenv("PIER_EXPECT_DIRECT_IO");
  return (dir != nullptr && *dir != '\0') || (v != nullptr && std::string(v) == "1");
}

// Whether a file in `dir` opens with O_DIRECT (the probe file is removed).
inline bool AcceptsDirectIo(const std::filesystem::path& dir) {
  const std::filesystem::path probe = dir / ".direct-io-probe";
  const int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0600);
  if (fd >= 0) ::close(fd);
  std::error_code ec;
  std::filesystem::remove(probe, ec);
  return fd >= 0;
}

}  // namespace pier::testing

// Ends the test unless `dir` takes O_DIRECT: a failure when direct I/O is
// expected (always under ctest), a skip only in a bare run that does not
// expect it.
#define PIER_REQUIRE_DIRECT_IO(dir)                                                                  \
  do {                                                                                               \
    if (!::pier::testing::AcceptsDirectIo(dir)) {                                                    \
      if (::pier::testing::DirectIoExpected()) {                                                     \
        FAIL() << "O_DIRECT refused in " << (dir) << ", where it is expected: "                       \
               << "PIER_DIRECT_IO_DIR must be on a disk-backed file system";                         \
      }                                                                                              \
      GTEST_SKIP() << "no O_DIRECT in " << (dir)                                                     \
                   << " (set PIER_DIRECT_IO_DIR to a folder on disk to run it)";                    \
    }                                                                                                \
  } while (0)
