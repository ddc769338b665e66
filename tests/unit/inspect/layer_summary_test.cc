// InspectLayer on real layers: every entry and content hash as the files
// say, the blob's and tar's sizes and digests as sha256sum says, the zstd
// estimate against zstd(1), package-manager leftovers counted, fat JARs
// found inside a layer, the JSON round trip, damage refused.
#include "cache/inspect/layer_summary.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <gtest/gtest.h>

#include "tests/unit/common/peers.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "tests/unit/inspect/fixtures.h"

namespace pier::inspect {
namespace {

namespace fs = std::filesystem;
using pier::testing::BuildFatJar;
using pier::testing::FileSha256;
using pier::testing::PyZipListing;
using pier::testing::Quote;
using pier::testing::ReadFile;
using pier::testing::RealJars;
using pier::testing::Sh;
using pier::testing::TempDir;
using pier::testing::TheDocLayer;
using pier::testing::WriteFile;

Result<LayerSummary> Inspect(const fs::path& blob, const InspectOptions& o = {}) {
  Result<UniqueFd> fd = OpenForRead(blob);
  PIER_TRY(fd);
  return InspectLayer(fd->get(), o);
}

std::string Sha256sum(const fs::path& p) { return "sha256:" + Sh("sha256sum " + Quote(p) + " | cut -c1-64 | tr -d '\\n'"); }

// A gzip layer of `tree`'s content, as `docker build` would add it.
fs::path GzipLayer(const fs::path& tree, const fs::path& out) {
  int rc = 0;
  Sh("tar -C " + Quote(tree) + " -cf - . | gzip -6 > " + Quote(out), &rc);
  EXPECT_EQ(rc, 0);
  return out;
}

TEST(InspectLayer, EveryEntryAndHashOfARealLayer) {
  const auto& layer = TheDocLayer();
  for (const fs::path& blob : {layer.gz, layer.zst, layer.tar}) {
    Result<LayerSummary> s = Inspect(blob);
    ASSERT_TRUE(s.ok()) << blob << ": " << s.status().ToString();
    EXPECT_EQ(s->compressed_bytes, fs::file_size(blob));
    EXPECT_EQ(s->tar_bytes, fs::file_size(layer.tar));
    EXPECT_EQ(s->digest, Sha256sum(blob));
    EXPECT_EQ(s->diff_id, Sha256sum(layer.tar));
    ASSERT_EQ(s->entries.size(), layer.paths.size());
    uint64_t files = 0, bytes = 0, want_bytes = 0;
    for (size_t i = 0; i < s->entries.size(); ++i) {
      const FileEntry& e = s->entries[i];
      ASSERT_EQ("/" + e.path, layer.paths[i]);
      if (!fs::is_regular_file(fs::symlink_status(layer.paths[i]))) continue;
      ++files;
      bytes += e.size;
      want_bytes += fs::file_size(layer.paths[i]);
      EXPECT_EQ(e.hash, FileSha256(layer.paths[i]).substr(0, 32)) << e.path;
    }
    EXPECT_GT(files, 100u);
    EXPECT_EQ(bytes, want_bytes);
    EXPECT_GT(bytes, 20u << 20);
    EXPECT_TRUE(s->fat_jars.empty());
    EXPECT_FALSE(s->packages.HasCaches());
  }
  EXPECT_EQ(Inspect(layer.gz)->compression, Compression::kGzip);
  EXPECT_EQ(Inspect(layer.zst)->compression, Compression::kZstd);
  EXPECT_EQ(Inspect(layer.tar)->compression, Compression::kNone);
}

double Off(uint64_t got, double want) { return std::fabs(static_cast<double>(got) - want) / want; }

TEST(InspectLayer, ZstdSizeIsWhatZstdItselfMakes) {
  const auto& layer = TheDocLayer();
  const double real = static_cast<double>(fs::file_size(layer.zst));  // zstd -3
  Result<LayerSummary> s = Inspect(layer.gz);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const ZstdEstimate& z = s->zstd;
  EXPECT_EQ(z.level, 3);
  EXPECT_TRUE(z.exact) << "exact is the default";
  EXPECT_EQ(z.sampled_tar, s->tar_bytes);
  EXPECT_LT(Off(z.estimated_size, real), 0.02) << "compressed " << z.estimated_size << ", zstd -3 made " << real;

  // Sampled: looser, as zstd_sampler.h says (a few 1 MiB units decide).
  for (uint32_t every : {2u, 4u}) {
    InspectOptions o;
    o.zstd_sample_every = every;
    Result<LayerSummary> e = Inspect(layer.gz, o);
    ASSERT_TRUE(e.ok());
    EXPECT_FALSE(e->zstd.exact);
    const double share = static_cast<double>(e->zstd.sampled_tar) / static_cast<double>(e->tar_bytes);
    EXPECT_NEAR(share, 1.0 / every, 0.05) << every;
    RecordProperty("sampled_" + std::to_string(every), std::to_string(e->zstd.estimated_size));
    EXPECT_LT(Off(e->zstd.estimated_size, real), every == 2 ? 0.15 : 0.25)
        << "one in " << every << ": " << e->zstd.estimated_size << ", zstd -3 made " << real;
  }

  InspectOptions level1;
  level1.zstd_level = 1;
  Result<LayerSummary> l1 = Inspect(layer.gz, level1);
  ASSERT_TRUE(l1.ok());
  EXPECT_GT(l1->zstd.estimated_size, z.estimated_size) << "level 3 should beat level 1";
  InspectOptions none;
  none.zstd_sample_every = 0;
  EXPECT_EQ(Inspect(layer.gz, none)->zstd.level, 0);
  InspectOptions bad;
  bad.zstd_level = 40;
  EXPECT_EQ(Inspect(layer.gz, bad).status().code(), Code::kInvalidArgument);
}

TEST(InspectLayer, PackageManagerLeftovers) {
  TempDir dir;
  const fs::path t = dir.path() / "tree";
  const auto& doc = TheDocLayer();
  // Real bytes of varied sizes for the caches, counted from the files written.
  std::map<std::string, PackageFiles> want;
  size_t k = 0;
  for (const char* cache : {"var/lib/apt/lists", "var/cache/apt/archives", "var/cache/apk", "var/cache/dnf/x86_64",
                            "var/cache/yum"}) {
    for (int n = 0; n < 3; ++n) {
      while (!fs::is_regular_file(fs::symlink_status(doc.paths[k]))) ++k;
      const std::string content = ReadFile(doc.paths[k++]);
      WriteFile(t / cache / ("f" + std::to_string(n)), content);
      PackageFiles& w = want[cache];
      ++w.files;
      w.bytes += content.size();
    }
  }
  WriteFile(t / "var/lib/dpkg/status", "Package: zstd\nStatus: install ok installed\n");
  WriteFile(t / "lib/apk/db/installed", "P:musl\n");
  Result<LayerSummary> s = Inspect(GzipLayer(t, dir.path() / "l.tgz"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const PackageState& p = s->packages;
  EXPECT_EQ(p.apt_lists, want["var/lib/apt/lists"]);
  EXPECT_EQ(p.apt_cache, want["var/cache/apt/archives"]);
  EXPECT_EQ(p.apk_cache, want["var/cache/apk"]);
  EXPECT_EQ(p.dnf_cache, want["var/cache/dnf/x86_64"]);
  EXPECT_EQ(p.yum_cache, want["var/cache/yum"]);
  EXPECT_TRUE(p.dpkg_status);
  EXPECT_TRUE(p.apk_installed);
  EXPECT_TRUE(p.HasCaches());
}

TEST(InspectLayer, FatJarsInsideALayer) {
  const std::vector<std::string> jars = RealJars();
  if (jars.empty()) PIER_MISSING_PEER("no real jars in /usr/share/java (scripts/deps.sh installs them)");
  TempDir dir;
  const fs::path t = dir.path() / "tree";
  fs::create_directories(t / "app/lib");
  ASSERT_TRUE(BuildFatJar(t / "app/app.jar", jars));
  fs::copy_file(jars[0], t / "app/lib/plain.jar");  // a jar, not a fat one
  const fs::path blob = GzipLayer(t, dir.path() / "l.tgz");
  const nlohmann::json listing = PyZipListing(t / "app/app.jar");
  for (size_t cap : {kDefaultZipTailCap, size_t{4096}}) {
    InspectOptions o;
    o.zip_tail_cap = cap;
    Result<LayerSummary> s = Inspect(blob, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_EQ(s->fat_jars.size(), 1u);
    const FatJar& j = s->fat_jars[0];
    EXPECT_EQ(j.path, "app/app.jar");
    EXPECT_EQ(j.size, fs::file_size(t / "app/app.jar"));
    EXPECT_EQ(j.source, cap == 4096 ? ZipSource::kLocalHeaders : ZipSource::kCentralDirectory);
    EXPECT_FALSE(j.partial) << j.note;
    EXPECT_FALSE(j.has_layers_idx);
    uint64_t entries = 0, size = 0, compressed = 0;
    for (const BootLayerStats& l : j.layers) {
      entries += l.entries;
      size += l.size;
      compressed += l.compressed_size;
    }
    uint64_t want_size = 0, want_compressed = 0;
    for (const auto& e : listing) {
      want_compressed += e[1].get<uint64_t>();
      want_size += e[2].get<uint64_t>();
    }
    EXPECT_EQ(entries, listing.size());
    EXPECT_EQ(size, want_size);
    EXPECT_EQ(compressed, want_compressed);
    EXPECT_EQ(j.of(BootLayer::kSnapshotDependencies).entries, 1u);
  }
}

TEST(InspectLayer, JsonRoundTrip) {
  const std::vector<std::string> jars = RealJars();
  if (jars.empty()) PIER_MISSING_PEER("no real jars in /usr/share/java (scripts/deps.sh installs them)");
  TempDir dir;
  const fs::path t = dir.path() / "tree";
  WriteFile(t / "var/lib/apt/lists/deb.debian.org_Packages", ReadFile("/usr/share/doc/zstd/copyright"));
  WriteFile(t / "a/.wh.b", "");
  fs::create_symlink("../a", t / "link");
  if (!jars.empty()) {
    ASSERT_TRUE(BuildFatJar(t / "app.jar", jars));
  }
  Result<LayerSummary> s = Inspect(GzipLayer(t, dir.path() / "l.tgz"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const nlohmann::json j = *s;
  const nlohmann::json again = nlohmann::json::parse(j.dump());
  Result<LayerSummary> back = LayerSummaryFromJson(again);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(nlohmann::json(*back), j);
  EXPECT_EQ(back->entries, s->entries);
  EXPECT_EQ(back->packages, s->packages);
  EXPECT_EQ(j["compression"], "gzip");
  EXPECT_EQ(j["packages"]["apt_lists"]["files"], 1);
  if (!jars.empty()) {
    EXPECT_EQ(j["fat_jars"][0]["layers"][0]["name"], "dependencies");
    EXPECT_EQ(j["fat_jars"][0]["source"], "central-directory");
  }

  nlohmann::json bad = j;
  bad["compression"] = "lz4";
  EXPECT_EQ(LayerSummaryFromJson(bad).status().code(), Code::kInvalidArgument);
  bad = j;
  bad.erase("entries");
  EXPECT_EQ(LayerSummaryFromJson(bad).status().code(), Code::kInvalidArgument);
}

TEST(InspectLayer, DamagedLayersAreRefusedWithTheOffset) {
  const auto& layer = TheDocLayer();
  TempDir dir;
  const std::string gz = ReadFile(layer.gz);
  WriteFile(dir.path() / "cut.gz", gz.substr(0, 3000000));
  Result<LayerSummary> s = Inspect(dir.path() / "cut.gz");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "gzip stream is truncated at compressed byte 3000000");
  std::string tar = ReadFile(layer.tar);
  tar[1024 * 1024 * 3 + 7] ^= 1;  // somewhere: a header or content
  tar[0] ^= 1;                    // the first header for sure
  WriteFile(dir.path() / "bad.tar", tar);
  s = Inspect(dir.path() / "bad.tar");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "tar header checksum mismatch at tar byte 0");
}

}  // namespace
}  // namespace pier::inspect

namespace pier::inspect {
namespace {

// A tar made up on the fly: one `size`-byte file of varied bytes, then the
// end blocks. Nothing of it exists anywhere whole.
class MadeUpTar : public ByteSource {
 public:
  explicit MadeUpTar(uint64_t size) : size_(size) {
    header_.assign(512, '\0');
    header_.replace(0, 7, "big.bin");
    std::snprintf(header_.data() + 100, 8, "%07o", 0644);
    std::snprintf(header_.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
    header_[156] = '0';
    header_.replace(257, 6, std::string("ustar\0", 6));
    header_.replace(263, 2, "00");
    header_.replace(148, 8, "        ");
    unsigned sum = 0;
    for (char c : header_) sum += static_cast<unsigned char>(c);
    std::snprintf(header_.data() + 148, 8, "%06o", sum);
  }
  uint64_t total() const { return 512 + (size_ + 511) / 512 * 512 + 1024; }
  Result<size_t> Read(std::span<char> out) override {
    size_t n = 0;
    while (n < out.size() && pos_ < total()) {
      char c = 0;
      if (pos_ < 512) {
        c = header_[pos_];
      } else if (pos_ - 512 < size_) {
        const uint64_t i = pos_ - 512;
        c = static_cast<char>((i * 2654435761u) >> 13);  // compressible a little, not all zeros
      }
      out[n++] = c;
      ++pos_;
    }
    return n;
  }

 private:
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string header_;
};

long MaxRssKiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

TEST(InspectLayer, ALayerIsNeverHeldWhole) {
  const uint64_t size = 768ull << 20;
  MadeUpTar tar(size);
  const long before = MaxRssKiB();
  InspectOptions o;
  o.zstd_level = 1;
  Result<LayerSummary> s = InspectLayer(tar, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->entries.size(), 1u);
  EXPECT_EQ(s->entries[0].size, size);
  EXPECT_EQ(s->tar_bytes, tar.total());
  // The high-water mark may already be above what the pass needs; a pass
  // that held the layer would lift it by 768 MiB.
  EXPECT_LT(MaxRssKiB() - before, 64 << 10) << "KiB of resident memory more";
}

}  // namespace
}  // namespace pier::inspect
