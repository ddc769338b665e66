// Spring Boot's default layers on fat JARs built from Debian's jars: each
// layer's estimate against the real gzip tar that layertools extract + COPY
// would make of it, fingerprints that move only with the layer whose files
// changed, and the layered-jar marker.
#include "cache/inspect/spring_boot.h"

#include <gtest/gtest.h>

#include "tests/unit/common/peers.h"

#include <cmath>

#include "tests/unit/inspect/fixtures.h"

namespace pier::inspect {
namespace {

using pier::testing::BuildFatJar;
using pier::testing::ExtractedLayerSizes;
using pier::testing::FatJarSpec;
using pier::testing::ReadFile;
using pier::testing::RealJars;
using pier::testing::TempDir;

TEST(SpringBoot, EntriesFallInSpringBootsDefaultLayers) {
  EXPECT_EQ(ClassifyBootEntry("BOOT-INF/lib/guava-31.1-jre.jar"), BootLayer::kDependencies);
  EXPECT_EQ(ClassifyBootEntry("BOOT-INF/lib/mylib-1.0-SNAPSHOT.jar"), BootLayer::kSnapshotDependencies);
  EXPECT_EQ(ClassifyBootEntry("org/springframework/boot/loader/JarLauncher.class"), BootLayer::kSpringBootLoader);
  EXPECT_EQ(ClassifyBootEntry("org/springframework/boot/loader/launch/JarLauncher.class"), BootLayer::kSpringBootLoader);
  EXPECT_EQ(ClassifyBootEntry("BOOT-INF/classes/com/example/App.class"), BootLayer::kApplication);
  EXPECT_EQ(ClassifyBootEntry("META-INF/MANIFEST.MF"), BootLayer::kApplication);
  EXPECT_EQ(ClassifyBootEntry("BOOT-INF/classpath.idx"), BootLayer::kApplication);
  EXPECT_EQ(ClassifyBootEntry("BOOT-INF/lib/"), BootLayer::kApplication);
  EXPECT_EQ(ClassifyBootEntry("org/springframework/context/Foo.class"), BootLayer::kApplication);
  for (BootLayer l : kBootLayers) EXPECT_EQ(ParseBootLayer(BootLayerName(l)), l);
}

class FatJars : public ::testing::Test {
 protected:
  void SetUp() override {
    jars_ = RealJars();
    if (jars_.empty()) PIER_MISSING_PEER("no real jars in /usr/share/java (scripts/deps.sh installs them)");
  }
  std::filesystem::path Build(const FatJarSpec& spec, const std::string& name) {
    const auto p = dir_.path() / name;
    EXPECT_TRUE(BuildFatJar(p, jars_, spec));
    return p;
  }
  static BootJarLayers Layers(const std::filesystem::path& jar) {
    ZipScanner s;
    const std::string bytes = ReadFile(jar);
    s.Add(bytes);
    ZipListing l = s.Finish();
    EXPECT_EQ(l.source, ZipSource::kCentralDirectory);
    EXPECT_TRUE(IsSpringBootJar(l.entries));
    return SplitBootJar(l.entries);
  }
  std::vector<std::string> jars_;
  TempDir dir_;
};

TEST_F(FatJars, EstimatesAreWithinTenPercentOfTheRealLayers) {
  const auto jar = Build({}, "app.jar");
  const BootJarLayers layers = Layers(jar);
  EXPECT_FALSE(layers.has_layers_idx);
  const std::map<std::string, uint64_t> real = ExtractedLayerSizes(jar, dir_.path());
  ASSERT_EQ(real.size(), 4u);
  for (const BootLayerStats& l : layers.layers) {
    const std::string name(BootLayerName(l.layer));
    ASSERT_GT(l.entries, 0u) << name;
    const double want = static_cast<double>(real.at(name));
    const double got = static_cast<double>(l.estimated_bytes);
    EXPECT_LT(std::fabs(got - want) / want, 0.10) << name << ": estimate " << got << ", real gzip layer " << want;
    RecordProperty(name + "_estimate", std::to_string(l.estimated_bytes));
    RecordProperty(name + "_real", std::to_string(real.at(name)));
  }
  // What each layer holds, by the builder's own numbers.
  EXPECT_EQ(layers.of(BootLayer::kDependencies).entries, jars_.size() - 1);
  EXPECT_EQ(layers.of(BootLayer::kSnapshotDependencies).entries, 1u);
  EXPECT_EQ(layers.of(BootLayer::kSpringBootLoader).entries, 20u + 1u);  // and its directory
  // 40 classes, application.properties, MANIFEST.MF, classpath.idx, 9 directories.
  EXPECT_EQ(layers.of(BootLayer::kApplication).entries, 40u + 3u + 9u);
}

TEST_F(FatJars, OneChangedClassChangesOnlyTheApplicationLayer) {
  const BootJarLayers a = Layers(Build({}, "a.jar"));
  const BootJarLayers a2 = Layers(Build({}, "a2.jar"));
  const BootJarLayers b = Layers(Build({.variant = 1}, "b.jar"));
  for (BootLayer l : kBootLayers) {
    EXPECT_EQ(a.of(l).fingerprint, a2.of(l).fingerprint) << BootLayerName(l) << ": the same build twice";
    EXPECT_EQ(a.of(l).fingerprint.size(), 64u);
    if (l == BootLayer::kApplication) {
      EXPECT_NE(a.of(l).fingerprint, b.of(l).fingerprint);
    } else {
      EXPECT_EQ(a.of(l).fingerprint, b.of(l).fingerprint) << BootLayerName(l);
    }
  }
}

TEST_F(FatJars, LayersIdxMarksALayeredJar) {
  EXPECT_TRUE(Layers(Build({.layers_idx = true}, "layered.jar")).has_layers_idx);
}

}  // namespace
}  // namespace pier::inspect
