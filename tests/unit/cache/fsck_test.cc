// Fsck: finds damaged and missing blob files and dangling records, and
// changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cache/layout.h"
#include "test_util.h"

namespace pier {
namespace {

using testing::PushBlob;
using testing::StoreTest;

class FsckTest : public StoreTest {
 protected:
  // Two blobs and a manifest over them, then the store is closed.
  void Populate() {
    ASSERT_TRUE(PushBlob(*store_, "app", "config").ok());
    ASSERT_TRUE(PushBlob(*store_, "app", "layer bytes").ok());
    auto desc = [](std::string_view mt, const std::string& c) {
      return nlohmann::json{{"mediaType", mt}, {"digest", Sha256Of(c).str()}, {"size", c.size()}};
    };
    nlohmann::json m = {{"schemaVersion", 2},
                        {"mediaType", media::kOciManifest},
                        {"config", desc("application/vnd.oci.image.config.v1+json", "config")},
                        {"layers", {desc("application/vnd.oci.image.layer.v1.tar", "layer bytes")}}};
    const std::string bytes = m.dump();
    auto parsed = ParseManifest(media::kOciManifest, bytes);
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(store_->PutManifest("app", "v1", parsed->media_type, bytes, *parsed).ok());
    store_.reset();
  }

  FsckReport Check() {
    auto r = Fsck(root(), FsckOptions{metadata_, nullptr});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : FsckReport{};
  }

  static bool Mentions(const FsckReport& r, const std::string& needle) {
    return std::any_of(r.problems.begin(), r.problems.end(),
                       [&](const std::string& p) { return p.find(needle) != std::string::npos; });
  }

  std::filesystem::path BlobPath(const std::string& content) {
    return Layout(root()).BlobPath(Sha256Of(content));
  }
};

TEST_F(FsckTest, CleanStoreHasNoProblems) {
  Populate();
  FsckReport r = Check();
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  EXPECT_EQ(r.blobs_checked, 2u);
  EXPECT_EQ(r.manifests_checked, 1u);
}

TEST_F(FsckTest, DetectsFlippedByteWithoutRepairing) {
  Populate();
  const auto path = BlobPath("layer bytes");
  std::string bytes = testing::ReadFile(path);
  bytes[3] ^= 0x01;
  testing::WriteFile(path, bytes);
  FsckReport r = Check();
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_TRUE(Mentions(r, Sha256Of("layer bytes").str()));
  EXPECT_TRUE(Mentions(r, "hashes to"));
  EXPECT_EQ(testing::ReadFile(path), bytes);  // untouched
}

TEST_F(FsckTest, DetectsMissingAndUnrecordedFiles) {
  Populate();
  std::filesystem::remove(BlobPath("config"));
  const Digest stray = Sha256Of("stray");
  testing::WriteFile(Layout(root()).BlobPath(stray), "stray");
  FsckReport r = Check();
  EXPECT_TRUE(Mentions(r, Sha256Of("config").str() + ": record without file"));
  EXPECT_TRUE(Mentions(r, "blob file without record: " + stray.str()));
  EXPECT_EQ(r.problems.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(Layout(root()).BlobPath(stray)));  // untouched
}

TEST_F(FsckTest, DetectsDanglingManifestReference) {
  Populate();
  Reopen();
  // Deleting a blob a manifest uses leaves the manifest dangling.
  ASSERT_TRUE(store_->DeleteBlob("app", Sha256Of("config")).ok());
  store_.reset();
  FsckReport r = Check();
  EXPECT_TRUE(Mentions(r, "blob " + Sha256Of("config").str() + " not linked"));
}

TEST_F(FsckTest, DetectsTruncatedFile) {
  Populate();
  testing::WriteFile(BlobPath("layer bytes"), "layer");
  FsckReport r = Check();
  EXPECT_TRUE(Mentions(r, "file has 5 bytes, record says 11"));
}

TEST_F(FsckTest, NoStore) { EXPECT_EQ(Fsck(root() / "nope").status().code(), Code::kNotFound); }

}  // namespace
}  // namespace pier
