// CompareImages on two builds of a real image (layers made by tar + gzip
// from files of this machine): the changed file named first, a layer
// rebuilt with identical content called out, apt lists in a new layer
// flagged, and fat JARs compared boot layer by boot layer.
#include "cache/inspect/compare.h"

#include <gtest/gtest.h>

#include "tests/unit/common/peers.h"

#include "base/file.h"
#include "tests/unit/inspect/fixtures.h"

namespace pier::inspect {
namespace {

namespace fs = std::filesystem;
using pier::testing::BuildFatJar;
using pier::testing::FatJarSpec;
using pier::testing::Quote;
using pier::testing::ReadFile;
using pier::testing::RealJars;
using pier::testing::Sh;
using pier::testing::TempDir;
using pier::testing::TheDocLayer;
using pier::testing::WriteFile;

// The summary of a gzip layer of `tree` with every mtime set to `mtime`
// (a rebuild at another time gives another tar and diff_id).
LayerSummary Layer(const fs::path& tree, int mtime) {
  const fs::path out = tree.string() + "-" + std::to_string(mtime) + ".tgz";
  int rc = 0;
  Sh("tar --mtime=@" + std::to_string(mtime) + " --sort=name -C " + Quote(tree) + " -cf - . | gzip -6 -n > " + Quote(out), &rc);
  EXPECT_EQ(rc, 0);
  Result<UniqueFd> fd = OpenForRead(out);
  EXPECT_TRUE(fd.ok());
  Result<LayerSummary> s = InspectLayer(fd->get());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : LayerSummary{};
}

// Regular files of /usr/share/doc, from the `skip`th on.
std::vector<std::string> DocFiles(size_t n, size_t skip = 0) {
  std::vector<std::string> out;
  for (const std::string& p : TheDocLayer().paths) {
    if (!fs::is_regular_file(fs::symlink_status(p))) continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    out.push_back(p);
    if (out.size() == n) break;
  }
  return out;
}

class Builds : public ::testing::Test {
 protected:
  void SetUp() override {
    // The base: 200 doc files. The app: 30 doc files and a big data file.
    for (const std::string& f : DocFiles(200)) WriteFile(dir_.path() / "base" / f.substr(1), ReadFile(f));
    std::string big;
    for (const std::string& f : DocFiles(30, 200)) {
      WriteFile(dir_.path() / "app/opt/app" / fs::path(f).filename(), ReadFile(f));
      big += ReadFile(f);
    }
    WriteFile(dir_.path() / "app/opt/app/data.bin", big + big);
    base_ = Layer(dir_.path() / "base", 1000);
    app_ = Layer(dir_.path() / "app", 1000);
  }
  TempDir dir_;
  LayerSummary base_, app_;
};

TEST_F(Builds, TheChangedFileIsNamedFirst) {
  const fs::path data = dir_.path() / "app/opt/app/data.bin";
  WriteFile(data, ReadFile(data) + "one more line\n");
  WriteFile(dir_.path() / "app/opt/app/NEW", "new\n");
  const LayerSummary app2 = Layer(dir_.path() / "app", 2000);
  const std::vector<LayerSummary> before{base_, app_}, after{base_, app2};
  const ImageComparison c = CompareImages(before, after);
  ASSERT_EQ(c.layers.size(), 2u);
  EXPECT_FALSE(c.layers[0].is_new);
  EXPECT_EQ(c.layers[0].changed_files, 0u);
  EXPECT_EQ(c.layers[0].reused_bytes, c.layers[0].file_bytes);

  const LayerChange& l = c.layers[1];
  EXPECT_TRUE(l.is_new);
  EXPECT_FALSE(l.rebuilt_identical);
  ASSERT_EQ(l.changed_files, 2u);
  ASSERT_EQ(l.largest_changes.size(), 2u);
  EXPECT_EQ(l.largest_changes[0].path, "opt/app/data.bin");
  EXPECT_FALSE(l.largest_changes[0].is_new);
  EXPECT_EQ(l.largest_changes[0].size, fs::file_size(data));
  EXPECT_EQ(l.largest_changes[1].path, "opt/app/NEW");
  EXPECT_TRUE(l.largest_changes[1].is_new);
  // Everything else in the layer was in the previous image already.
  EXPECT_EQ(l.reused_bytes, l.file_bytes - fs::file_size(data) - 4);
  EXPECT_TRUE(c.package_findings.empty());
}

TEST_F(Builds, ARebuiltIdenticalLayerIsCalledOut) {
  const LayerSummary again = Layer(dir_.path() / "app", 3000);
  ASSERT_NE(again.diff_id, app_.diff_id) << "the rebuild should differ in its tar";
  const std::vector<LayerSummary> before{base_, app_}, after{base_, again};
  const ImageComparison c = CompareImages(before, after);
  const LayerChange& l = c.layers[1];
  EXPECT_TRUE(l.is_new);
  EXPECT_TRUE(l.rebuilt_identical);
  EXPECT_EQ(l.changed_files, 0u);
  EXPECT_GT(l.file_bytes, 0u);
  EXPECT_EQ(l.reused_bytes, l.file_bytes);
  EXPECT_FALSE(c.layers[0].rebuilt_identical) << "an unchanged layer is not a rebuild";
}

TEST_F(Builds, AptListsInANewLayerAreFlagged) {
  const fs::path apt = dir_.path() / "apt";
  uint64_t bytes = 0;
  int n = 0;
  for (const std::string& f : DocFiles(5, 300)) {
    const std::string content = ReadFile(f);
    WriteFile(apt / "var/lib/apt/lists" / ("deb.debian.org_" + std::to_string(n++) + "_" + fs::path(f).filename().string()), content);
    bytes += content.size();
  }
  WriteFile(apt / "var/lib/dpkg/status", "Package: zstd\n");
  const LayerSummary apt_layer = Layer(apt, 1000);
  const std::vector<LayerSummary> before{base_, app_}, after{base_, apt_layer, app_};
  const ImageComparison c = CompareImages(before, after);
  ASSERT_EQ(c.package_findings.size(), 1u);
  EXPECT_EQ(c.package_findings[0].layer_index, 1u);
  EXPECT_EQ(c.package_findings[0].what, "apt-lists");
  EXPECT_EQ(c.package_findings[0].files, 5u);
  EXPECT_EQ(c.package_findings[0].bytes, bytes);
  // The same layer already shipped last time is not news.
  const std::vector<LayerSummary> had{base_, apt_layer, app_};
  EXPECT_TRUE(CompareImages(had, after).package_findings.empty());
}

TEST_F(Builds, FatJarsComparedBootLayerByBootLayer) {
  const std::vector<std::string> jars = RealJars();
  if (jars.empty()) PIER_MISSING_PEER("no real jars in /usr/share/java (scripts/deps.sh installs them)");
  ASSERT_TRUE(BuildFatJar(dir_.path() / "v1/app/app.jar", jars));
  ASSERT_TRUE(BuildFatJar(dir_.path() / "v2/app/app.jar", jars, FatJarSpec{.variant = 1}));
  const LayerSummary v1 = Layer(dir_.path() / "v1", 1000), v2 = Layer(dir_.path() / "v2", 2000);
  ASSERT_EQ(v2.fat_jars.size(), 1u);
  const std::vector<LayerSummary> before{base_, v1}, after{base_, v2};
  const ImageComparison c = CompareImages(before, after);
  ASSERT_EQ(c.fat_jars.size(), 1u);
  const FatJarChange& f = c.fat_jars[0];
  EXPECT_EQ(f.path, "app/app.jar");
  EXPECT_EQ(f.layer_index, 1u);
  EXPECT_TRUE(f.has_previous);
  EXPECT_EQ(f.changed, std::vector<BootLayer>{BootLayer::kApplication});
  EXPECT_EQ(f.layered_bytes, v2.fat_jars[0].of(BootLayer::kApplication).estimated_bytes);
  EXPECT_EQ(f.fat_jar_bytes, fs::file_size(dir_.path() / "v2/app/app.jar"));
  EXPECT_LT(f.layered_bytes * 10, f.fat_jar_bytes) << "a layered jar sends a small part";
  // The whole layer changed as a file: the jar is named as the change.
  ASSERT_FALSE(c.layers[1].largest_changes.empty());
  EXPECT_EQ(c.layers[1].largest_changes[0].path, "app/app.jar");

  // No previous build: the usual edit-and-rebuild is assumed.
  const ImageComparison first = CompareImages({}, after);
  ASSERT_EQ(first.fat_jars.size(), 1u);
  EXPECT_FALSE(first.fat_jars[0].has_previous);
  EXPECT_EQ(first.fat_jars[0].changed,
            (std::vector<BootLayer>{BootLayer::kSnapshotDependencies, BootLayer::kApplication}));
}

}  // namespace
}  // namespace pier::inspect
