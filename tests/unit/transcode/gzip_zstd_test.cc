// The gzip→zstd codec on real bytes: the frame decodes to the original,
// its digests are what a manifest and config need, the window stays within
// every client's limit, the output does not depend on the thread count, and
// bad gzip is refused with where it went wrong.
#include "cache/transcode/gzip_zstd.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <string>

#include "base/file.h"
#include "tests/unit/transcode/gzip_util.h"

namespace pier::transcode {
namespace {

using pier::testing::DocBytes;
using pier::testing::Gzip;
using pier::testing::Unzstd;

// An fd holding `bytes` (memfd: no scratch file to clean up).
UniqueFd FdOf(const std::string& bytes) {
  UniqueFd fd(::memfd_create("gz", 0));
  EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  return fd;
}

Result<TranscodeResult> Transcode(const std::string& gz, std::string* out, ZstdParams p = {}, std::stop_token stop = {}) {
  UniqueFd fd = FdOf(gz);
  return GzipToZstd(fd.get(), p, [out](std::span<const char> b) {
    out->append(b.data(), b.size());
    return Status::OK();
  }, stop);
}

TEST(GzipZstd, DecodesToTheOriginalWithTheDigestsAManifestNeeds) {
  const std::string tar = DocBytes(6 << 20);
  ASSERT_GT(tar.size(), 1u << 20);
  const std::string gz = Gzip(tar);
  std::string z;
  auto r = Transcode(gz, &z);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Unzstd(z), tar);
  EXPECT_EQ(r->diff_id, Sha256Of(tar));
  EXPECT_EQ(r->digest, Sha256Of(z));
  EXPECT_EQ(r->size, z.size());
  EXPECT_EQ(r->tar_size, tar.size());
  EXPECT_EQ(r->gzip_size, gz.size());
  EXPECT_LT(z.size(), gz.size()) << "zstd level 3 should beat gzip -6 on text";
}

TEST(GzipZstd, WindowStaysWithinEveryClientsLimit) {
  const std::string tar = DocBytes(3 << 20);
  const std::string gz = Gzip(tar);
  for (int level : {1, 3, 9, 19}) {
    std::string z;
    ZstdParams p;
    p.level = level;
    auto r = Transcode(gz, &z, p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ZSTD_frameHeader h{};
    ASSERT_EQ(ZSTD_getFrameHeader(&h, z.data(), z.size()), 0u);
    EXPECT_LE(h.windowSize, uint64_t{1} << kMaxWindowLog) << "level " << level;
    EXPECT_TRUE(h.checksumFlag);
    EXPECT_EQ(Unzstd(z), tar);
  }
}

TEST(GzipZstd, SameBytesWhateverTheNumberOfThreads) {
  const std::string gz = Gzip(DocBytes(4 << 20));
  std::string a, b, c;
  ZstdParams p;
  p.workers = 0;
  ASSERT_TRUE(Transcode(gz, &a, p).ok());
  p.workers = 1;
  ASSERT_TRUE(Transcode(gz, &b, p).ok());
  p.workers = 2;
  ASSERT_TRUE(Transcode(gz, &c, p).ok());
  EXPECT_EQ(Sha256Of(a), Sha256Of(b));
  EXPECT_EQ(Sha256Of(b), Sha256Of(c));
}

TEST(GzipZstd, ConcatenatedMembersAreOneStream) {
  const std::string one = DocBytes(300 << 10);
  const std::string two = "second member\n";
  std::string z;
  auto r = Transcode(Gzip(one) + Gzip(two), &z);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Unzstd(z), one + two);
  EXPECT_EQ(r->diff_id, Sha256Of(one + two));
}

TEST(GzipZstd, CorruptTruncatedAndForeignInputAreRefusedSayingWhere) {
  const std::string gz = Gzip(DocBytes(1 << 20));
  std::string corrupt = gz;
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  std::string z;
  auto r = Transcode(corrupt, &z);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("corrupt at byte"), std::string::npos) << r.status().message();

  r = Transcode(gz.substr(0, gz.size() / 2), &z);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();

  r = Transcode("this is a plain tar, not gzip", &z);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);

  r = Transcode("", &z);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("empty"), std::string::npos);
}

TEST(GzipZstd, BadLevelAndStopAndSinkErrors) {
  const std::string gz = Gzip(DocBytes(1 << 20));
  std::string z;
  ZstdParams p;
  p.level = 25;
  EXPECT_EQ(Transcode(gz, &z, p).status().code(), Code::kInvalidArgument);

  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(Transcode(gz, &z, {}, stop.get_token()).status().code(), Code::kUnavailable);

  UniqueFd fd = FdOf(gz);
  auto r = GzipToZstd(fd.get(), {}, [](std::span<const char>) { return Status::ResourceExhausted("disk full"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
}

TEST(GzipZstd, GzipMagic) {
  const std::string gz = Gzip("x");
  EXPECT_TRUE(HasGzipMagic(std::span<const char>(gz.data(), gz.size())));
  const std::string zs = "\x28\xb5\x2f\xfd";
  EXPECT_FALSE(HasGzipMagic(std::span<const char>(zs.data(), zs.size())));
  EXPECT_FALSE(HasGzipMagic({}));
}

}  // namespace
}  // namespace pier::transcode
