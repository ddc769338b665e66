// LayerStream on real layers: the tar comes out byte for byte whatever the
// blob was compressed with (gzip, several gzip members, zstd, several zstd
// frames, none), with the counts and digests a manifest would carry, and a
// damaged blob is refused naming where.
#include "cache/inspect/layer_stream.h"

#include <gtest/gtest.h>

#include "tests/unit/inspect/fixtures.h"

namespace pier::inspect {
namespace {

using pier::testing::Quote;
using pier::testing::ReadFile;
using pier::testing::Sh;
using pier::testing::TheDocLayer;

struct Decoded {
  std::string tar;
  Compression compression = Compression::kNone;
  uint64_t compressed = 0;
  Digest digest, diff_id;
};

// The number after `label` in `message`; 0 without one.
uint64_t OffsetAfter(const std::string& message, const std::string& label) {
  const size_t p = message.find(label);
  return p == std::string::npos ? 0 : std::stoull(message.substr(p + label.size()));
}

// Reads it all in odd-sized pieces, so buffer edges fall everywhere.
Result<Decoded> Decode(const std::string& blob) {
  MemorySource src(blob);
  Result<std::unique_ptr<LayerStream>> s = LayerStream::Open(src);
  PIER_TRY(s);
  Decoded d;
  std::vector<char> buf(70001);
  for (;;) {
    Result<size_t> n = (*s)->Read(buf);
    PIER_TRY(n);
    if (*n == 0) break;
    d.tar.append(buf.data(), *n);
  }
  d.compression = (*s)->compression();
  d.compressed = (*s)->compressed_bytes();
  EXPECT_EQ((*s)->tar_bytes(), d.tar.size());
  EXPECT_TRUE((*s)->done());
  d.digest = (*s)->digest();
  d.diff_id = (*s)->diff_id();
  return d;
}

TEST(LayerStream, GzipZstdAndPlainGiveTheSameTar) {
  const auto& layer = TheDocLayer();
  const std::string tar = ReadFile(layer.tar);
  ASSERT_GT(tar.size(), 20u << 20);
  for (const auto& [path, want] : {std::pair{layer.tar, Compression::kNone}, std::pair{layer.gz, Compression::kGzip},
                                   std::pair{layer.zst, Compression::kZstd}}) {
    const std::string blob = ReadFile(path);
    Result<Decoded> d = Decode(blob);
    ASSERT_TRUE(d.ok()) << path << ": " << d.status().ToString();
    EXPECT_EQ(d->compression, want) << path;
    EXPECT_TRUE(d->tar == tar) << path << " decodes to something else";
    EXPECT_EQ(d->compressed, blob.size());
    // What sha256sum says, not what Sha256 says.
    EXPECT_EQ(d->digest.hex, Sh("sha256sum " + Quote(path) + " | cut -c1-64 | tr -d '\\n'"));
    EXPECT_EQ(d->diff_id.hex, Sh("sha256sum " + Quote(layer.tar) + " | cut -c1-64 | tr -d '\\n'"));
  }
}

TEST(LayerStream, ConcatenatedGzipMembersAndZstdFramesAreOneStream) {
  const auto& layer = TheDocLayer();
  const std::string tar = ReadFile(layer.tar);
  pier::testing::TempDir dir;
  // Three pieces cut at odd places, each compressed on its own and joined.
  const std::string a = (dir.path() / "a").string(), b = (dir.path() / "b").string(), c = (dir.path() / "c").string();
  pier::testing::WriteFile(a, tar.substr(0, 1000003));
  pier::testing::WriteFile(b, tar.substr(1000003, 5000011));
  pier::testing::WriteFile(c, tar.substr(6000014));
  int rc = 0;
  Sh("cd " + Quote(dir.path()) + " && for f in a b c; do gzip -c $f; done > x.gz && for f in a b c; do zstd -q -c $f; done > x.zst", &rc);
  ASSERT_EQ(rc, 0);
  for (const char* name : {"x.gz", "x.zst"}) {
    Result<Decoded> d = Decode(ReadFile(dir.path() / name));
    ASSERT_TRUE(d.ok()) << name << ": " << d.status().ToString();
    EXPECT_TRUE(d->tar == tar) << name;
  }
}

TEST(LayerStream, TruncatedBlobsNameTheCompressedOffset) {
  const auto& layer = TheDocLayer();
  for (const auto& path : {layer.gz, layer.zst}) {
    const std::string blob = ReadFile(path);
    const size_t cut = blob.size() / 2 + 7;
    Result<Decoded> d = Decode(blob.substr(0, cut));
    ASSERT_FALSE(d.ok()) << path;
    EXPECT_EQ(d.status().code(), Code::kCorruption);
    EXPECT_NE(d.status().message().find("truncated at compressed byte " + std::to_string(cut)), std::string::npos)
        << d.status().message();
  }
}

TEST(LayerStream, CorruptBlobsAreRefused) {
  const auto& layer = TheDocLayer();
  // gzip: a wrong CRC in the trailer is noticed where the trailer is.
  std::string gz = ReadFile(layer.gz);
  gz[gz.size() - 6] ^= 0x55;
  Result<Decoded> d = Decode(gz);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kCorruption);
  EXPECT_NE(d.status().message().find("gzip stream is corrupt"), std::string::npos) << d.status().message();
  const uint64_t at = OffsetAfter(d.status().message(), "at compressed byte ");
  EXPECT_GE(at, gz.size() - 8) << d.status().message();
  EXPECT_LE(at, gz.size()) << d.status().message();
  // zstd: damage inside the first block.
  std::string zst = ReadFile(layer.zst);
  for (size_t i = 20; i < 60; ++i) zst[i] = static_cast<char>(0xff);
  d = Decode(zst);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("zstd stream is corrupt"), std::string::npos) << d.status().message();
  EXPECT_NE(d.status().message().find("at compressed byte"), std::string::npos) << d.status().message();
  // Garbage after a gzip member is not another member.
  d = Decode(ReadFile(layer.gz) + "not gzip at all");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("gzip stream is corrupt"), std::string::npos) << d.status().message();
}

}  // namespace
}  // namespace pier::inspect
