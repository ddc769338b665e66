// Read-back of fresh blobs into the page cache (warmer.h): the budget's
// arithmetic, and that a committed blob written with O_DIRECT becomes
// resident with the read-back on and not without it (so the test can fail).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <random>

#include "base/file.h"
#include "cache/layout.h"
#include "cache/warm_budget.h"
#include "test_util.h"
#include "tests/unit/common/direct_io.h"
#include "tests/unit/common/wait.h"

namespace pier {
namespace {

TEST(WarmBudget, TakesUpToTheLimitAndGivesBack) {
  WarmBudget b(10);
  EXPECT_TRUE(b.TryTake(4));
  EXPECT_TRUE(b.TryTake(6));
  EXPECT_FALSE(b.TryTake(1));  // full
  EXPECT_EQ(b.used(), 10u);
  b.Give(6);
  EXPECT_FALSE(b.TryTake(7));  // would pass the limit: nothing taken
  EXPECT_EQ(b.used(), 4u);
  EXPECT_TRUE(b.TryTake(6));
  EXPECT_FALSE(WarmBudget(0).TryTake(1));
  EXPECT_FALSE(WarmBudget(5).TryTake(UINT64_MAX));  // no overflow
}

// Fraction of the file's pages in the page cache (mincore).
double Resident(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return -1;
  const auto size = static_cast<size_t>(std::filesystem::file_size(path));
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) return -1;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((size + page - 1) / page);
  const int rc = ::mincore(map, size, v.data());
  ::munmap(map, size);
  if (rc != 0) return -1;
  size_t in = 0;
  for (unsigned char c : v) in += c & 1;
  return static_cast<double>(in) / static_cast<double>(v.size());
}

class WarmTest : public ::testing::Test {
 protected:
  void SetUp() override { PIER_REQUIRE_DIRECT_IO(dir_.path()); }

  // Pushes a blob big enough to take the O_DIRECT path (appended in 1 MiB
  // pieces: the switch happens between appends) and returns its file.
  std::filesystem::path Push(uint64_t warm_bytes) {
    Store::Options o;
    o.root = dir_.path() / std::to_string(warm_bytes);
    o.warm_upload_bytes = warm_bytes;
    auto opened = Store::Open(o);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return {};
    store_ = std::move(opened).value();  // kept: its warmer stops with it
    auto* store = &store_;
    std::mt19937 rng(static_cast<unsigned>(warm_bytes));
    std::string content(kSize, '\0');
    for (auto& c : content) c = static_cast<char>(rng());
    auto up = (*store)->StartUpload("warm");
    EXPECT_TRUE(up.ok());
    auto w = (*store)->OpenWriter("warm", up->uuid, 0);
    EXPECT_TRUE(w.ok());
    for (size_t at = 0; at < content.size(); at += 1 << 20) {
      EXPECT_TRUE((*w)->Append(std::span<const char>(content.data() + at, 1 << 20)).ok());
    }
    auto info = (*w)->Commit(Sha256Of(content));
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return Layout(o.root).BlobPath(info->digest);
  }

  static constexpr size_t kSize = 48 << 20;
  testing::TempDir dir_{"pier-warm", testing::DirectIoRoot()};
  std::unique_ptr<Store> store_;
};

TEST_F(WarmTest, CommittedBlobIsResidentWithTheReadBack) {
  const auto path = Push(1ull << 30);
  ASSERT_FALSE(path.empty());
  // The read-back is asynchronous: wait for it, bounded.
  EXPECT_TRUE(pier::testing::WaitUntil([&] { return Resident(path) > 0.95; })) << Resident(path);
}

TEST_F(WarmTest, WithoutTheReadBackTheDirectPartIsNotCached) {
  const auto path = Push(0);
  ASSERT_FALSE(path.empty());
  // Only the first 4 MiB (written through the page cache) can be resident.
  EXPECT_LT(Resident(path), 0.5);
}

TEST_F(WarmTest, TheBudgetCapsTheReadBack) {
  // 8 MiB of budget for a 48 MiB blob: it does not fit and is not read
  // back (only the 4 MiB written through the page cache are resident).
  const auto path = Push(8 << 20);
  ASSERT_FALSE(path.empty());
  EXPECT_LT(Resident(path), 0.5);
}

}  // namespace
}  // namespace pier
