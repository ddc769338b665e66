// ZipScanner against the zip's own listing (python's zipfile reads the
// central directory): fat JARs built from Debian's jars, fed in odd-sized
// pieces; from the central directory when it fits the tail, from the local
// headers when it does not (with and without data descriptors), partial
// where a STORED entry's end cannot be found.
#include "cache/inspect/zip_scan.h"

#include <gtest/gtest.h>

#include "tests/unit/common/peers.h"

#include "tests/unit/inspect/fixtures.h"

namespace pier::inspect {
namespace {

using pier::testing::BuildFatJar;
using pier::testing::FatJarSpec;
using pier::testing::PyZipListing;
using pier::testing::ReadFile;
using pier::testing::RealJars;
using pier::testing::TempDir;

ZipListing Scan(const std::string& zip, size_t cap, size_t piece = 65537) {
  ZipScanner s(cap);
  for (size_t p = 0; p < zip.size(); p += piece) s.Add(std::span<const char>(zip.data() + p, std::min(piece, zip.size() - p)));
  EXPECT_EQ(s.bytes(), zip.size());
  return s.Finish();
}

void ExpectListing(const std::vector<ZipEntry>& got, const nlohmann::json& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i][0].get<std::string>()) << i;
    EXPECT_EQ(got[i].compressed_size, want[i][1].get<uint64_t>()) << got[i].name;
    EXPECT_EQ(got[i].size, want[i][2].get<uint64_t>()) << got[i].name;
    EXPECT_EQ(got[i].crc32, want[i][3].get<uint32_t>()) << got[i].name;
    EXPECT_EQ(got[i].method, want[i][4].get<uint16_t>()) << got[i].name;
  }
}

class ZipScan : public ::testing::Test {
 protected:
  void SetUp() override {
    jars_ = RealJars();
    if (jars_.empty()) PIER_MISSING_PEER("no real jars in /usr/share/java (scripts/deps.sh installs them)");
  }
  std::string Jar(const FatJarSpec& spec) {
    const auto p = dir_.path() / (spec.mode + std::to_string(spec.variant) + ".jar");
    EXPECT_TRUE(BuildFatJar(p, jars_, spec));
    listing_ = PyZipListing(p);
    return ReadFile(p);
  }
  std::vector<std::string> jars_;
  TempDir dir_;
  nlohmann::json listing_;
};

TEST_F(ZipScan, CentralDirectoryFromTheTail) {
  const std::string jar = Jar({});
  ASSERT_GT(jar.size(), 1u << 20);
  const ZipListing l = Scan(jar, kDefaultZipTailCap);
  EXPECT_EQ(l.source, ZipSource::kCentralDirectory);
  EXPECT_FALSE(l.partial);
  EXPECT_EQ(l.note, "");
  ExpectListing(l.entries, listing_);
  // The tail only has to hold the central directory, not the jar.
  const ZipListing small = Scan(jar, 64 << 10, 4093);
  EXPECT_EQ(small.source, ZipSource::kCentralDirectory);
  ExpectListing(small.entries, listing_);
}

TEST_F(ZipScan, ARealDebianJarAsIs) {
  const std::string jar = ReadFile(jars_[0]);
  const ZipListing l = Scan(jar, kDefaultZipTailCap, 1000);
  EXPECT_EQ(l.source, ZipSource::kCentralDirectory);
  ExpectListing(l.entries, PyZipListing(jars_[0]));
}

TEST_F(ZipScan, LocalHeadersWhenTheCentralDirectoryDoesNotFit) {
  const std::string jar = Jar({});
  const ZipListing l = Scan(jar, 2048);
  EXPECT_EQ(l.source, ZipSource::kLocalHeaders);
  EXPECT_FALSE(l.partial) << l.note;
  EXPECT_NE(l.note.find("does not fit the 2048-byte tail"), std::string::npos) << l.note;
  ExpectListing(l.entries, listing_);
}

TEST_F(ZipScan, LocalHeadersFollowDeflatedEntriesWithDataDescriptors) {
  const std::string jar = Jar({.mode = "pipe-deflated"});
  ASSERT_NE(jar.find(std::string("PK\x07\x08", 4)), std::string::npos) << "the builder wrote no data descriptors";
  const ZipListing l = Scan(jar, 4096, 777);
  EXPECT_EQ(l.source, ZipSource::kLocalHeaders);
  EXPECT_FALSE(l.partial) << l.note;
  ExpectListing(l.entries, listing_);
  // The central directory still wins when it fits.
  const ZipListing whole = Scan(jar, kDefaultZipTailCap);
  EXPECT_EQ(whole.source, ZipSource::kCentralDirectory);
  ExpectListing(whole.entries, listing_);
}

TEST_F(ZipScan, StoredEntryOfUnknownSizeMakesThePartialListing) {
  const std::string jar = Jar({.mode = "pipe"});
  const ZipListing l = Scan(jar, 4096);
  EXPECT_EQ(l.source, ZipSource::kLocalHeaders);
  EXPECT_TRUE(l.partial);
  EXPECT_NE(l.note.find("STORED entry \"BOOT-INF/lib/"), std::string::npos) << l.note;
  // What it did list is right: the entries before the first stored jar.
  ASSERT_FALSE(l.entries.empty());
  ASSERT_LT(l.entries.size(), listing_.size());
  ExpectListing(l.entries, nlohmann::json(std::vector<nlohmann::json>(listing_.begin(), listing_.begin() + l.entries.size())));
}

TEST(ZipScanNotAZip, SaysSo) {
  const std::string text = ReadFile("/usr/share/doc/zstd/copyright");
  const ZipListing l = Scan(text, 1024);
  EXPECT_EQ(l.source, ZipSource::kNone);
  EXPECT_TRUE(l.entries.empty());
  EXPECT_TRUE(l.partial);
}

}  // namespace
}  // namespace pier::inspect
