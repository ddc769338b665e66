// DiskSpace: the cached free-space reading and the reserve check, with a
// probe and a clock the test moves.
#include "cache/disk_space.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/unit/common/temp_dir.h"

namespace pier {
namespace {

// A disk with `free` bytes (as the probe reports them) and a clock that
// moves only when the test says.
class DiskSpaceTest : public ::testing::Test {
 protected:
  struct FakeDisk {
    std::optional<uint64_t> free = 5000;
    int reads = 0;  // probe calls (made under DiskSpace's lock)
  };
  DiskSpace Make(uint64_t reserve, std::optional<uint64_t> free) {
    disk.free = free;
    return DiskSpace("/data", reserve, clock, [this](const std::filesystem::path&) {
      ++disk.reads;
      return disk.free;
    });
  }
  FakeClock clock;
  FakeDisk disk;
};

TEST_F(DiskSpaceTest, ReadsAtMostOncePerMaxAge) {
  DiskSpace space = Make(1000, 5000);
  EXPECT_EQ(space.FreeBytes(), 5000u);
  disk.free = 10;
  EXPECT_EQ(space.FreeBytes(), 5000u);  // cached
  EXPECT_TRUE(space.CheckReserve().ok());
  EXPECT_EQ(disk.reads, 1);
  clock.Advance(DiskSpace::kMaxAge);
  EXPECT_EQ(space.FreeBytes(), 10u);
  EXPECT_EQ(disk.reads, 2);
  disk.free = 7000;
  space.Refresh();  // after an ENOSPC or a delete: read at once
  EXPECT_EQ(space.FreeBytes(), 7000u);
  EXPECT_EQ(disk.reads, 3);
}

TEST_F(DiskSpaceTest, ReserveAndNeed) {
  DiskSpace space = Make(1000, 5000);
  EXPECT_TRUE(space.CheckReserve().ok());
  EXPECT_TRUE(space.CheckReserve(4000).ok());  // exactly the reserve left after it
  Status s = space.CheckReserve(4001);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.message(), "no space left on device: 5000 bytes free, reserve 1000 bytes, upload needs 4001");
  EXPECT_FALSE(space.Low());

  disk.free = 999;
  space.Refresh();
  EXPECT_TRUE(space.Low());
  EXPECT_EQ(space.CheckReserve().message(), "no space left on device: 999 bytes free, reserve 1000 bytes");
  disk.free = 1000;
  space.Refresh();
  EXPECT_FALSE(space.Low());
}

TEST_F(DiskSpaceTest, ZeroReserveRefusesOnlyAFullDisk) {
  DiskSpace space = Make(0, 1);
  EXPECT_FALSE(space.Low());
  EXPECT_FALSE(space.CheckReserve(2).ok());
  disk.free = 0;
  space.Refresh();
  EXPECT_TRUE(space.Low());
}

TEST_F(DiskSpaceTest, UnknownFreeSpaceNeverRefuses) {
  DiskSpace space = Make(1000, std::nullopt);
  EXPECT_FALSE(space.FreeBytes().has_value());
  EXPECT_TRUE(space.CheckReserve(1 << 30).ok());
  EXPECT_FALSE(space.Low());
}

TEST_F(DiskSpaceTest, CountsRefusalsAcrossThreads) {
  DiskSpace space = Make(1000, 5000);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) {
        space.CountRefusal();
        (void)space.CheckReserve();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(space.refusals(), 4000u);
  EXPECT_EQ(disk.reads, 1);  // the clock did not move
}

TEST(DiskSpace, StatvfsOfARealFolder) {
  testing::TempDir dir;
  std::optional<uint64_t> free = DiskSpace::StatvfsFree(dir.path());
  ASSERT_TRUE(free.has_value());
  EXPECT_GT(*free, 0u);
  EXPECT_FALSE(DiskSpace::StatvfsFree(dir.path() / "missing").has_value());
  DiskSpace space(dir.path(), 0);
  EXPECT_TRUE(space.CheckReserve().ok());
}

TEST(DiskSpace, MessageWhenUnknown) {
  EXPECT_EQ(NoSpaceMessage(std::nullopt, 5), "no space left on device: free space unknown, reserve 5 bytes");
}

}  // namespace
}  // namespace pier
