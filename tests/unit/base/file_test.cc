#include "base/file.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/common/temp_dir.h"

namespace pier {
namespace {

using testing::TempDir;

TEST(File, WriteReadSizeTruncate) {
  TempDir dir;
  auto path = dir.path() / "f";
  auto fd = OpenForWrite(path);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  std::string data = "hello world";
  ASSERT_TRUE(WriteAt(fd->get(), 0, testing::Bytes(data)).ok());
  ASSERT_TRUE(WriteAt(fd->get(), 6, testing::Bytes(std::string("WORLD"))).ok());
  StartWriteback(fd->get(), 0, 11);
  ASSERT_TRUE(Fsync(fd->get()).ok());
  EXPECT_EQ(*FileSize(fd->get()), 11u);
  char buf[32];
  auto n = ReadAt(fd->get(), 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "hello WORLD");
  EXPECT_EQ(*ReadAt(fd->get(), 11, buf), 0u);
  ASSERT_TRUE(Truncate(fd->get(), 5).ok());
  EXPECT_EQ(testing::ReadFile(path), "hello");
}

TEST(File, MissingFiles) {
  TempDir dir;
  EXPECT_EQ(OpenForRead(dir.path() / "nope").status().code(), Code::kNotFound);
  EXPECT_TRUE(RemoveFile(dir.path() / "nope").ok());
  EXPECT_EQ(ListDir(dir.path() / "nope").status().code(), Code::kNotFound);
}

TEST(File, RenameDirsAndList) {
  TempDir dir;
  ASSERT_TRUE(MakeDirs(dir.path() / "a" / "b").ok());
  ASSERT_TRUE(MakeDirs(dir.path() / "a" / "b").ok());  // exists: fine
  testing::WriteFile(dir.path() / "x", "1");
  ASSERT_TRUE(RenameFile(dir.path() / "x", dir.path() / "a" / "b" / "y").ok());
  ASSERT_TRUE(FsyncDir(dir.path() / "a" / "b").ok());
  auto names = ListDir(dir.path() / "a" / "b");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"y"});
  ASSERT_TRUE(RemoveFile(dir.path() / "a" / "b" / "y").ok());
  EXPECT_TRUE(ListDir(dir.path() / "a" / "b")->empty());
}

TEST(File, UniqueFdMovesOwnership) {
  TempDir dir;
  auto fd = OpenForWrite(dir.path() / "f");
  ASSERT_TRUE(fd.ok());
  UniqueFd a = std::move(fd).value();
  int raw = a.get();
  UniqueFd b = std::move(a);
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.get(), raw);
}

// A full disk is ResourceExhausted (callers answer it as "no space left on
// device", not as an I/O fault); /dev/full fails every write with ENOSPC.
TEST(File, NoSpaceIsResourceExhausted) {
  auto fd = OpenForWrite("/dev/full");
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  Status s = WriteAt(fd->get(), 0, testing::Bytes(std::string("data")));
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
  EXPECT_EQ(s.ToString().rfind("ResourceExhausted: ", 0), 0u);
  // Other failures keep their codes.
  EXPECT_EQ(OpenForRead("/nonexistent/pier").status().code(), Code::kNotFound);
  EXPECT_EQ(WriteAt(-1, 0, testing::Bytes(std::string("x"))).code(), Code::kIOError);
}

}  // namespace
}  // namespace pier
