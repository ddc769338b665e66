// The planners: an event's digest is what gets planned, whatever the tag
// points to by planning time (push and pull); a copy lists each blob once.
#include "replication/planner.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../cache/test_util.h"
#include "base/manifest.h"
#include "fake_client.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;
using pier::testing::PushBlob;

class PlannerTest : public pier::testing::StoreTest {
 protected:
  Digest Image(const std::string& repo, const std::string& tag, const std::string& config,
               const std::vector<std::string>& layers) {
    return pier::testing::PushImage(*store_, repo, tag, config, layers);
  }

  Endpoint dest_;
  Policy policy_;
};

TEST_F(PlannerTest, AnEventPlansThePushedDigest) {
  Digest a = Image("app", "v1", "config a", {"a1"});
  Digest b = Image("app", "v1", "config b", {"b1"});
  auto tasks = PlanPush(*store_, policy_, dest_, PlanScope{"app", "v1", a.str(), false});
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].digest, a.str());
  EXPECT_EQ((*tasks)[0].tags, std::vector<std::string>{"v1"});
  // Without the digest (an old record), the tag is read at planning time.
  auto now = PlanPush(*store_, policy_, dest_, PlanScope{"app", "v1", "", false});
  ASSERT_TRUE(now.ok());
  EXPECT_EQ((*now)[0].digest, b.str());
}

// A pull policy's webhook event: the tag was pushed again before planning.
TEST_F(PlannerTest, APullEventPlansThePushedDigest) {
  auto source = std::make_shared<testing::FakeRegistry>();
  auto manifest = [](const std::string& config) {
    return json{{"schemaVersion", 2},
                {"mediaType", media::kOciManifest},
                {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                            {"digest", Sha256Of(config).str()}, {"size", config.size()}}},
                {"layers", json::array()}}
        .dump();
  };
  std::string a = source->AddManifest("library/app", "v1", std::string(media::kOciManifest), manifest("config a"));
  std::string b = source->AddManifest("library/app", "v1", std::string(media::kOciManifest), manifest("config b"));
  ASSERT_NE(a, b);
  testing::FakeClient c(source);
  Policy pull;
  auto tasks = PlanPull(c, pull, PlanScope{"library/app", "v1", a, false}, {});
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].digest, a);
  EXPECT_EQ((*tasks)[0].tags, std::vector<std::string>{"v1"});
  // Without the digest, the tag is read at planning time.
  auto now = PlanPull(c, pull, PlanScope{"library/app", "v1", "", false}, {});
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  ASSERT_EQ(now->size(), 1u);
  EXPECT_EQ((*now)[0].digest, b);
}

TEST_F(PlannerTest, ACopyListsEachBlobOnce) {
  Digest a = Image("app", "v1", "config", {"layer", "layer", "other"});
  auto tasks = PlanPush(*store_, policy_, dest_, PlanScope{"app", "", "", false});
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 1u);
  auto copy = PrepareCopy(*store_, policy_, (*tasks)[0]);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(copy->blobs.size(), 3u);  // config, layer, other
  EXPECT_EQ(copy->top.digest, a.str());
}

}  // namespace
}  // namespace pier::replication
