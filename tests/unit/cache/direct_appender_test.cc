// DirectAppender: bytes appended in odd pieces, from unaligned offsets, with
// drains in between, end up in the file exactly; nothing after the last
// drain survives the appender.
#include "cache/direct_appender.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <random>

#include "test_util.h"
#include "tests/unit/common/direct_io.h"

namespace pier {
namespace {

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

class DirectAppenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // On tmpfs the appender is refused and these tests would prove nothing.
    PIER_REQUIRE_DIRECT_IO(dir_.path());
    path_ = dir_.path() / "f";
    fd_ = UniqueFd(::open(path_.c_str(), O_RDWR | O_CREAT, 0644));
    ASSERT_TRUE(fd_.valid());
  }
  testing::TempDir dir_{"pier-direct", testing::DirectIoRoot()};
  std::filesystem::path path_;
  UniqueFd fd_;
};

TEST_F(DirectAppenderTest, PiecesDrainsAndAnUnalignedStart) {
  const std::string head = RandomBytes(5000, 1);  // written before, unaligned end
  ASSERT_TRUE(WriteAt(fd_.get(), 0, std::span<const char>(head.data(), head.size())).ok());
  Sha256 hash;
  auto a = DirectAppender::Open(fd_.get(), head.size(), &hash);
  ASSERT_NE(a, nullptr) << "refused on " << path_ << ", a folder that takes O_DIRECT";
  const std::string body = RandomBytes(3 * DirectAppender::kBufferSize + 12345, 2);
  size_t at = 0, step = 1;
  while (at < body.size()) {
    size_t n = std::min(body.size() - at, step);
    ASSERT_TRUE(a->Append(std::span<const char>(body.data() + at, n)).ok());
    at += n;
    step = step * 7 % 300007 + 1;
    if (at > body.size() / 2 && at - n <= body.size() / 2) {
      ASSERT_TRUE(a->Drain().ok());  // a drain mid-stream, then more appends
      EXPECT_EQ(std::filesystem::file_size(path_), head.size() + at);
    }
  }
  ASSERT_TRUE(a->Drain().ok());
  EXPECT_EQ(a->end(), head.size() + body.size());
  a.reset();
  EXPECT_EQ(testing::ReadFile(path_), head + body);
  EXPECT_EQ(hash.Finish(), Sha256Of(body));  // the appended bytes only, in order
}

TEST_F(DirectAppenderTest, BytesAfterTheLastDrainAreNotWrittenByTheDestructor) {
  auto a = DirectAppender::Open(fd_.get(), 0);
  ASSERT_NE(a, nullptr);
  const std::string first = RandomBytes(10000, 3);
  ASSERT_TRUE(a->Append(std::span<const char>(first.data(), first.size())).ok());
  ASSERT_TRUE(a->Drain().ok());
  const std::string more = RandomBytes(100, 4);
  ASSERT_TRUE(a->Append(std::span<const char>(more.data(), more.size())).ok());
  a.reset();
  EXPECT_EQ(testing::ReadFile(path_), first);
}

TEST_F(DirectAppenderTest, ActiveAppendersAreBounded) {
  std::vector<std::unique_ptr<DirectAppender>> open;
  for (int i = 0; i < DirectAppender::kMaxActive; ++i) {
    auto a = DirectAppender::Open(fd_.get(), 0);
    ASSERT_NE(a, nullptr) << i;
    open.push_back(std::move(a));
  }
  EXPECT_EQ(DirectAppender::Open(fd_.get(), 0), nullptr);
  open.pop_back();
  EXPECT_NE(DirectAppender::Open(fd_.get(), 0), nullptr);
}

}  // namespace
}  // namespace pier
