// PullThrough against an in-memory upstream (the replication tests' fake
// registry) and a real store: tag TTL and revalidation, serving the cache
// while the upstream is down, one fetch per digest, resume after a cut, and
// nothing wrong ever stored.
#include "cache/proxy/pull_through.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/clock.h"
#include "tests/unit/common/temp_dir.h"
#include "tests/unit/common/wait.h"
#include "tests/unit/replication/fake_client.h"

namespace pier::proxy {
namespace {

using replication::testing::Failure;
using replication::testing::FakeClient;
using replication::testing::FakeRegistry;

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";

std::string Manifest(const std::string& config, const std::vector<std::string>& layers) {
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", kOciManifest},
                      {"config",
                       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", Sha256Of(config).str()},
                        {"size", config.size()}}},
                      {"layers", nlohmann::json::array()}};
  for (const std::string& l : layers) {
    m["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                           {"digest", Sha256Of(l).str()},
                           {"size", l.size()}});
  }
  return m.dump();
}

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 % 251);
  return s;
}

class PullThroughTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = Store::Open(Store::Options{dir_.path() / "data"});
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    Upstream up;
    up.name = "hub";
    up.url = "https://registry-1.docker.io";
    up.prefix = "hub";
    up.ns = {"docker.io"};
    up.docker_hub = true;
    up.tag_ttl_seconds = 60;
    up.offline_period_seconds = 30;
    std::vector<std::unique_ptr<client::RegistryClient>> clients;
    clients.push_back(std::make_unique<FakeClient>(upstream_));
    PullThroughOptions o;
    o.flush_every_bytes = 64 << 10;
    pt_ = std::make_unique<PullThrough>(store_, std::vector<Upstream>{up}, std::move(clients), o, clock_);
    target_ = *pt_->Resolve("hub/nginx", std::nullopt);
  }

  // An image at the upstream: config, one layer of `layer_size`, tag.
  std::string AddImage(const std::string& tag, size_t layer_size, char seed) {
    config_ = "{\"seed\":" + std::to_string(seed) + "}";
    layer_ = Pattern(layer_size, seed);
    upstream_->AddBlob("library/nginx", config_);
    upstream_->AddBlob("library/nginx", layer_);
    return upstream_->AddManifest("library/nginx", tag, kOciManifest, Manifest(config_, {layer_}));
  }

  std::string LocalTag(const std::string& tag) {
    auto m = store_->GetManifest(target_.local_repo, tag);
    return m.ok() ? m->digest.str() : "";
  }

  testing::TempDir dir_{"pier-proxy"};
  FakeClock clock_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<FakeRegistry> upstream_ = std::make_shared<FakeRegistry>();
  std::unique_ptr<PullThrough> pt_;
  Target target_;
  std::string config_, layer_;
};

TEST_F(PullThroughTest, TagFetchedOnceRevalidatedAfterTtlAndMoved) {
  std::string d1 = AddImage("v1", 1000, 'a');
  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());
  EXPECT_EQ(LocalTag("v1"), d1);
  EXPECT_EQ(upstream_->calls("HeadManifest"), 1);
  EXPECT_EQ(upstream_->calls("GetManifest"), 1);

  // Within the TTL: no upstream call at all, and fresh for the I/O-thread path.
  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());
  EXPECT_EQ(upstream_->calls("HeadManifest"), 1);
  EXPECT_TRUE(pt_->Fresh(target_, "v1", false));
  EXPECT_TRUE(pt_->Fresh(target_, d1, false));
  EXPECT_FALSE(pt_->Fresh(target_, Sha256Of(layer_).str(), true)) << "layer not fetched yet";

  // Past the TTL, unchanged: one HEAD, no GET.
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_FALSE(pt_->Fresh(target_, "v1", false));
  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());
  EXPECT_EQ(upstream_->calls("HeadManifest"), 2);
  EXPECT_EQ(upstream_->calls("GetManifest"), 1);

  // Moved upstream: after the TTL the new manifest is fetched, the tag moves.
  std::string d2 = AddImage("v1", 2000, 'b');
  ASSERT_NE(d1, d2);
  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());
  EXPECT_EQ(LocalTag("v1"), d1) << "moved before the TTL ran out";
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());
  EXPECT_EQ(LocalTag("v1"), d2);
  EXPECT_EQ(upstream_->calls("GetManifest"), 2);

  // By digest: local, never revalidated.
  ASSERT_TRUE(pt_->EnsureManifest(target_, d1).ok());
  EXPECT_EQ(upstream_->calls("HeadManifest"), 3);
  // The cached manifests do not make fsck complain about blobs not yet fetched.
  pt_.reset();
  store_.reset();
  auto report = Fsck(dir_.path() / "data");
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty()) << report->problems.front();
}

TEST_F(PullThroughTest, UpstreamDownServesCacheAndStopsAsking) {
  std::string d1 = AddImage("v1", 1000, 'a');
  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());
  upstream_->fail = [](std::string_view, std::string_view) { return std::optional<Failure>(Failure{}); };
  clock_.Advance(std::chrono::seconds(61));
  int heads = upstream_->calls("HeadManifest");

  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());  // stale but served
  EXPECT_EQ(upstream_->calls("HeadManifest"), heads + 1);
  EXPECT_TRUE(pt_->Offline(0));
  // Offline: answered from the cache without asking.
  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());
  EXPECT_EQ(upstream_->calls("HeadManifest"), heads + 1);
  EXPECT_EQ(LocalTag("v1"), d1);
  // Nothing cached: Unavailable at once, no call.
  Status s = pt_->EnsureManifest(target_, "v2");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_EQ(upstream_->calls("HeadManifest"), heads + 1);
  // After the offline period the upstream is asked again.
  clock_.Advance(std::chrono::seconds(31));
  upstream_->fail = nullptr;
  ASSERT_TRUE(pt_->EnsureManifest(target_, "v1").ok());
  EXPECT_EQ(upstream_->calls("HeadManifest"), heads + 2);
  EXPECT_FALSE(pt_->Offline(0));
}

TEST_F(PullThroughTest, UnknownTagIsRememberedBriefly) {
  AddImage("v1", 100, 'a');
  EXPECT_EQ(pt_->EnsureManifest(target_, "nope").code(), Code::kNotFound);
  EXPECT_EQ(pt_->EnsureManifest(target_, "nope").code(), Code::kNotFound);
  EXPECT_EQ(upstream_->calls("HeadManifest"), 1);
  clock_.Advance(std::chrono::seconds(31));
  EXPECT_EQ(pt_->EnsureManifest(target_, "nope").code(), Code::kNotFound);
  EXPECT_EQ(upstream_->calls("HeadManifest"), 2);
  EXPECT_FALSE(pt_->Offline(0)) << "a 404 is an answer, not an outage";
}

TEST_F(PullThroughTest, SixteenClientsOneUpstreamFetch) {
  AddImage("v1", 1 << 20, 'c');
  const Digest d = Sha256Of(layer_);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> fetches{0};
  // Hold the first download until the other fifteen callers wait for it; a
  // second download would show up in `fetches`.
  upstream_->fail = [&](std::string_view op, std::string_view) -> std::optional<Failure> {
    if (op == "GetBlob") {
      ++fetches;
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return release; });
    }
    return std::nullopt;
  };
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&] {
      if (pt_->EnsureBlob(target_, d).ok()) ++ok;
    });
  }
  bool all_waiting = testing::WaitUntil([&] { return pt_->Waiting() == 15; }, std::chrono::seconds(20));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& t : clients) t.join();
  EXPECT_TRUE(all_waiting) << "waiting: " << pt_->Waiting();
  EXPECT_EQ(ok.load(), 16);
  EXPECT_EQ(fetches.load(), 1);
  EXPECT_EQ(upstream_->calls("GetBlob"), 1);
  BlobInfo info;
  auto fd = store_->OpenBlob(target_.local_repo, d, &info);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(info.size, layer_.size());
}

TEST_F(PullThroughTest, CutMidBlobResumesFromTheDurableOffset) {
  AddImage("v1", 1 << 20, 'd');
  const Digest d = Sha256Of(layer_);
  std::atomic<int> gets{0};
  upstream_->fail = [&](std::string_view op, std::string_view) -> std::optional<Failure> {
    if (op == "GetBlob" && gets++ == 0) return Failure{client::ErrorKind::kNetwork, 0, std::nullopt, 300 << 10};
    return std::nullopt;
  };
  ASSERT_TRUE(pt_->EnsureBlob(target_, d).ok());
  auto offsets = upstream_->get_offsets();
  ASSERT_EQ(offsets.size(), 2u);
  EXPECT_EQ(offsets[0], 0u);
  EXPECT_EQ(offsets[1], 300u << 10) << "resumed from the durable offset";
  EXPECT_FALSE(pt_->Offline(0)) << "a cut that made progress is not an outage";
  EXPECT_TRUE(store_->StatBlob(target_.local_repo, d).ok());
}

TEST_F(PullThroughTest, WrongBytesAreNeverStored) {
  AddImage("v1", 200000, 'e');
  const Digest d = Sha256Of(layer_);
  std::string evil = layer_;
  evil[1000] ^= 0x01;  // the proxy in between flips a bit
  upstream_->ReplaceBlobBytes(d.str(), evil);
  Status s = pt_->EnsureBlob(target_, d);
  EXPECT_EQ(s.code(), Code::kDigestMismatch) << s.ToString();
  EXPECT_FALSE(store_->StatBlob(target_.local_repo, d).ok());
  EXPECT_FALSE(store_->BlobStored(d));
  EXPECT_EQ(store_->GetStats().uploads, 0u) << "the fill's session is gone";
}

TEST_F(PullThroughTest, StoredBlobIsLinkedOnlyWhenTheUpstreamHasIt) {
  AddImage("v1", 5000, 'f');
  const Digest d = Sha256Of(layer_);
  // The same layer pushed to a hosted repository.
  auto up = store_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  auto w = store_->OpenWriter("team/app", up->uuid, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(std::span<const char>(layer_.data(), layer_.size())).ok());
  ASSERT_TRUE((*w)->Commit(d).ok());

  ASSERT_TRUE(pt_->EnsureBlob(target_, d).ok());
  EXPECT_EQ(upstream_->calls("HeadBlob"), 1);
  EXPECT_EQ(upstream_->calls("GetBlob"), 0) << "stored bytes are linked, not downloaded";

  // A hosted blob the upstream does not have is not lent to the proxied name.
  std::string secret = "hosted only";
  auto up2 = store_->StartUpload("team/app");
  ASSERT_TRUE(up2.ok());
  auto w2 = store_->OpenWriter("team/app", up2->uuid, 0);
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE((*w2)->Append(std::span<const char>(secret.data(), secret.size())).ok());
  ASSERT_TRUE((*w2)->Commit(Sha256Of(secret)).ok());
  EXPECT_EQ(pt_->EnsureBlob(target_, Sha256Of(secret)).code(), Code::kNotFound);
  EXPECT_FALSE(store_->StatBlob(target_.local_repo, Sha256Of(secret)).ok());
}

}  // namespace
}  // namespace pier::proxy
