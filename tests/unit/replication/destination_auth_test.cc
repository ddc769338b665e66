// A destination that wants credentials, met by a fresh client: the engine's
// first requests go out without a probe, so the first 401 is how the client
// learns the scheme (its WWW-Authenticate challenge). The request is sent
// again with the credentials and the blob gets there, with no failure
// counted and no retry of the engine's own.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "../cache/test_util.h"
#include "adapter/client/registry_client.h"
#include "replication/blob_sender.h"
#include "replication/progress_store.h"
#include "tests/unit/client/test_util.h"

namespace pier::replication {
namespace {

using client::testing::FakeRequest;
using client::testing::FakeResponse;
using client::testing::FakeServer;

constexpr char kAliceBasic[] = "Basic YWxpY2U6c2VjcmV0";  // alice:secret

// A registry behind Basic auth that stores monolithic uploads (POST, then
// PUT ?digest= with the body) and answers blob HEADs.
class BasicAuthRegistry {
 public:
  std::string url() const { return server_.url(); }

  std::mutex mu;
  std::vector<std::string> auth;  // the Authorization of each request, in order
  int challenged = 0;
  std::set<std::string> blobs;

 private:
  FakeResponse Handle(const FakeRequest& r) {
    std::lock_guard lock(mu);
    auth.push_back(r.Header("authorization"));
    if (r.Header("authorization") != kAliceBasic) {
      ++challenged;
      FakeResponse f;
      f.status = 401;
      f.Set("WWW-Authenticate", "Basic realm=\"pier-test\"");
      return f;
    }
    std::string path = r.Path();
    if (r.method == "HEAD" && path.find("/blobs/sha256:") != std::string::npos) {
      std::string digest = path.substr(path.rfind('/') + 1);
      FakeResponse h;
      h.status = blobs.count(digest) ? 200 : 404;
      return h;
    }
    if (r.method == "POST" && path.ends_with("/blobs/uploads/")) {
      FakeResponse started;
      started.status = 202;
      started.Set("Location", path + "session-1");
      started.Set("Range", "0-0");
      return started;
    }
    if (r.method == "PUT" && path.find("/blobs/uploads/") != std::string::npos) {
      auto digest = client::testing::QueryValues(r.Query(), "digest");
      if (digest.size() != 1 || Sha256Of(r.body).str() != digest[0]) return FakeResponse{400, {}, ""};
      blobs.insert(digest[0]);
      FakeResponse created;
      created.status = 201;
      created.Set("Docker-Content-Digest", digest[0]);
      return created;
    }
    return FakeResponse{404, {}, ""};
  }

  FakeServer server_{[this](const FakeRequest& r) { return Handle(r); }};
};

class DestinationAuthTest : public pier::testing::StoreTest {};

TEST_F(DestinationAuthTest, TheFirst401TeachesTheSchemeAndTheRequestIsSentAgain) {
  BasicAuthRegistry reg;
  client::ClientOptions o;
  o.url = reg.url();
  o.username = "alice";
  o.password = "secret";
  auto c = client::RegistryClient::Create(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto progress = ProgressStore::Open(*store_);
  ASSERT_TRUE(progress.ok()) << progress.status().ToString();

  const std::string content = "a layer behind a password";
  ASSERT_TRUE(pier::testing::PushBlob(*store_, "app", content).ok());
  BlobJob job{"app", "app", Sha256Of(content), content.size()};
  NullObserver observer;
  LinkState link;
  SendEnv env;
  env.store = store_.get();
  env.client = c->get();
  env.progress = progress->get();
  env.observer = &observer;
  env.link = &link;
  env.dest_id = 1;
  env.dest_name = "locked";
  env.policy_name = "p";
  int engine_retries = 0;
  env.retry.max_attempts_without_progress = 4;
  env.retry.sleep = [&](std::chrono::milliseconds, const std::stop_token&) {
    ++engine_retries;
    return true;
  };

  auto r = SendBlob(env, job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlobOutcome::kUploaded);
  EXPECT_EQ(engine_retries, 0);  // the client's own retry after learning, not a failed attempt
  std::lock_guard lock(reg.mu);
  EXPECT_TRUE(reg.blobs.count(job.digest.str()));
  EXPECT_EQ(reg.challenged, 1);  // once learnt, every request carries the credentials
  ASSERT_GE(reg.auth.size(), 4u);  // HEAD (401), HEAD again, POST, PUT
  EXPECT_EQ(reg.auth[0], "");
  for (size_t i = 1; i < reg.auth.size(); ++i) EXPECT_EQ(reg.auth[i], kAliceBasic) << "request " << i;
}

}  // namespace
}  // namespace pier::replication
