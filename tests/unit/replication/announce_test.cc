#include "replication/announce.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/cache/test_util.h"

namespace pier::replication {
namespace {

// Records what it was told.
class Recorder : public NullObserver {
 public:
  void OnPolicyKnown(std::string_view destination, std::string_view policy) override {
    known.emplace_back(std::string(destination), std::string(policy));
  }
  std::vector<std::pair<std::string, std::string>> known;
};

class AnnounceTest : public pier::testing::StoreTest {};

TEST_F(AnnounceTest, EnabledPoliciesWithTheirRemoteEndpoint) {
  auto repl = ReplicationStore::Open(*store_);
  ASSERT_TRUE(repl.ok()) << repl.status().ToString();
  Endpoint acr;
  acr.name = "acr";
  acr.type = "docker-registry";
  acr.url = "https://acr.example.com";
  auto acr_id = (*repl)->CreateEndpoint(acr);
  ASSERT_TRUE(acr_id.ok()) << acr_id.status().ToString();
  Endpoint harbor = acr;
  harbor.name = "harbor";
  harbor.url = "https://harbor.example.com";
  auto harbor_id = (*repl)->CreateEndpoint(harbor);
  ASSERT_TRUE(harbor_id.ok());

  Policy push;
  push.name = "to-acr";
  push.dest_registry_id = acr_id->id;
  Policy pull;
  pull.name = "from-harbor";
  pull.src_registry_id = harbor_id->id;
  Policy off = push;
  off.name = "disabled";
  off.enabled = false;
  for (const Policy& p : {push, pull, off}) ASSERT_TRUE((*repl)->CreatePolicy(p).ok()) << p.name;

  Recorder r;
  ASSERT_TRUE(AnnouncePolicies(**repl, r).ok());
  std::sort(r.known.begin(), r.known.end());
  const std::vector<std::pair<std::string, std::string>> want = {{"acr", "to-acr"}, {"harbor", "from-harbor"}};
  EXPECT_EQ(r.known, want);
}

}  // namespace
}  // namespace pier::replication
