// PullThrough against an in-memory upstream (the replication tests' fake
// registry) and a real store: tag TTL and revalidation, serving the cache
// while the upstream is down, one fetch per digest, resume after a cut, and
// nothing wrong ever stored.
#include "cache/proxy/pull_through.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "tests/unit/common/test_metadata.h"
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
    PIER_TEST_METADATA(metadata_);  // proxy_pg.all: records in PostgreSQL
    Store::Options so{dir_.path() / "data"};
    so.metadata = metadata_;
    auto st = Store::Open(so);
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
    o.disk_space = space_;
    o.pass_window_bytes = 256 << 10;
    o.pass_idle_timeout = std::chrono::milliseconds(300);
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
  DbOpener metadata_;  // empty: RocksDB in the data folder
  FakeClock clock_;
  // The disk as the test says: plenty free unless a test lowers it.
  std::atomic<uint64_t> free_{uint64_t{1} << 40};
  std::shared_ptr<DiskSpace> space_ = std::make_shared<DiskSpace>(
      "/data", 1000, clock_, [this](const std::filesystem::path&) { return std::optional<uint64_t>(free_.load()); });
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
  auto report = Fsck(dir_.path() / "data", FsckOptions{metadata_, nullptr});
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

// Holds a download at `hold_at` bytes until released: a slow upstream.
class Gate {
 public:
  explicit Gate(uint64_t hold_at) : hold_at_(hold_at) {}
  void Piece(uint64_t offset) {
    if (offset < hold_at_) return;
    std::unique_lock lock(mu_);
    held_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  bool WaitHeld() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return held_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  const uint64_t hold_at_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false, open_ = false;
};

std::string ReadFd(int fd, uint64_t n) {
  std::string out(n, '\0');
  auto got = ReadAt(fd, 0, std::span<char>(out.data(), n));
  out.resize(got.ok() ? *got : 0);
  return out;
}

TEST_F(PullThroughTest, ClientsStreamTheBlobWhileItDownloads) {
  AddImage("v1", 1 << 20, 'g');
  const Digest d = Sha256Of(layer_);
  Gate gate(256 << 10);
  upstream_->on_get_piece = [&](uint64_t offset) { gate.Piece(offset); };

  auto first = pt_->StreamBlob(target_, d);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_FALSE(first->stored);
  EXPECT_EQ(first->size, layer_.size()) << "the size is known from the answer's header";
  ASSERT_TRUE(gate.WaitHeld());
  const uint64_t available = first->growing->Available();
  EXPECT_GE(available, 256u << 10);
  EXPECT_LT(available, layer_.size()) << "streamed before the download ended";
  EXPECT_EQ(ReadFd(first->fd.get(), available), layer_.substr(0, available)) << "what is available is readable";

  // A second client joins the same download; one that gives up does not stop it.
  auto second = pt_->StreamBlob(target_, d);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->stored);
  std::atomic<bool> woken{false};
  second->growing->WhenBeyond(layer_.size() - 1, [&] { woken = true; });
  first = Status::Internal("client gone");
  EXPECT_FALSE(woken.load());
  gate.Open();
  ASSERT_TRUE(testing::WaitUntil([&] { return woken.load(); }));
  EXPECT_EQ(second->growing->Available(), layer_.size());
  EXPECT_FALSE(second->growing->Failed());
  EXPECT_EQ(ReadFd(second->fd.get(), layer_.size()), layer_);
  ASSERT_TRUE(testing::WaitUntil([&] { return store_->StatBlob(target_.local_repo, d).ok(); }));
  EXPECT_EQ(upstream_->calls("GetBlob"), 1);
  auto third = pt_->StreamBlob(target_, d);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->stored) << "committed: served as a stored blob";
}

TEST_F(PullThroughTest, StreamedWrongBytesFailTheReadersAndAreNotStored) {
  AddImage("v1", 300000, 'h');
  const Digest d = Sha256Of(layer_);
  std::string evil = layer_;
  evil[299999] ^= 0x01;
  upstream_->ReplaceBlobBytes(d.str(), evil);
  Gate gate(100000);
  upstream_->on_get_piece = [&](uint64_t offset) { gate.Piece(offset); };
  auto stream = pt_->StreamBlob(target_, d);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_FALSE(stream->stored);
  std::atomic<bool> woken{false};
  stream->growing->WhenBeyond(layer_.size() - 1, [&] { woken = true; });
  gate.Open();
  ASSERT_TRUE(testing::WaitUntil([&] { return woken.load(); }));
  EXPECT_TRUE(stream->growing->Failed());
  EXPECT_LT(stream->growing->Available(), layer_.size()) << "a reader never gets the whole wrong body";
  ASSERT_TRUE(testing::WaitUntil([&] { return pt_->Fills() == 0; }));
  EXPECT_FALSE(store_->BlobStored(d));
  EXPECT_EQ(store_->GetStats().uploads, 0u);
}

TEST_F(PullThroughTest, StoppingEndsRunningDownloads) {
  AddImage("v1", 1 << 20, 'i');
  const Digest d = Sha256Of(layer_);
  std::atomic<bool> release{false};
  upstream_->on_get_piece = [&](uint64_t offset) {
    if (offset >= (64u << 10)) testing::WaitUntil([&] { return release.load(); }, std::chrono::milliseconds(200));
  };
  auto stream = pt_->StreamBlob(target_, d);
  ASSERT_TRUE(stream.ok());
  std::shared_ptr<GrowingFile> growing = stream->growing;
  const auto start = std::chrono::steady_clock::now();
  pt_.reset();  // the download stops at its next piece
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(growing->Failed()) << "readers are told";
  EXPECT_FALSE(store_->BlobStored(d));
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

// Reads a growing body the way the HTTP server does: what is available,
// then WhenBeyond(offset) for more. Checks the memory the file holds never
// exceeds `max_resident` bytes on the way.
std::string ReadGrowing(const PullThrough::BlobStream& s, uint64_t max_resident, uint64_t* peak) {
  std::string out;
  uint64_t pos = 0;
  while (pos < s.size && !s.growing->Failed()) {
    const uint64_t avail = s.growing->Available();
    if (avail > pos) {
      std::string piece(avail - pos, '\0');
      const ssize_t n = ::pread(s.fd.get(), piece.data(), piece.size(), static_cast<off_t>(pos));
      if (n <= 0) break;
      out.append(piece.data(), static_cast<size_t>(n));
      pos += static_cast<uint64_t>(n);
      struct stat st {};
      if (::fstat(s.fd.get(), &st) == 0) *peak = std::max<uint64_t>(*peak, static_cast<uint64_t>(st.st_blocks) * 512);
      EXPECT_LE(*peak, max_resident);
      continue;
    }
    std::mutex mu;
    std::condition_variable cv;
    bool ready = false;
    s.growing->WhenBeyond(pos, [&] {
      std::lock_guard lock(mu);
      ready = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return ready; })) break;
  }
  return out;
}

// Below the disk reserve an uncached blob is passed through to its client
// through memory (bounded by the window, verified), never stored; a second
// client of the same blob meanwhile gets a clear 503-class error; a client
// that stops reading ends the download; cached content is still served, and
// once space is back the blob is cached as usual.
TEST_F(PullThroughTest, BelowTheReserveBlobsArePassedThroughNotCached) {
  AddImage("v1", 2 << 20, 'r');
  const Digest config = Sha256Of(config_);
  const Digest layer = Sha256Of(layer_);
  ASSERT_TRUE(pt_->EnsureBlob(target_, config).ok());

  free_ = 999;
  space_->Refresh();
  Result<PullThrough::BlobStream> passed = pt_->StreamBlob(target_, layer);
  ASSERT_TRUE(passed.ok()) << passed.status().ToString();
  ASSERT_FALSE(passed->stored);
  EXPECT_EQ(passed->size, layer_.size());
  EXPECT_EQ(store_->GetStats().uploads, 0u) << "no upload session for a passed-through blob";

  Result<PullThrough::BlobStream> second = pt_->StreamBlob(target_, layer);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("no space left on device"), std::string::npos)
      << second.status().message();

  uint64_t peak = 0;
  // The window (256 KiB) plus one upstream piece and a page-rounded 64 KiB.
  const std::string got = ReadGrowing(*passed, (256 << 10) + (128 << 10), &peak);
  EXPECT_EQ(got.size(), layer_.size());
  EXPECT_TRUE(got == layer_) << "passed-through bytes differ";
  EXPECT_GT(peak, 0u);
  ASSERT_TRUE(testing::WaitUntil([&] { return pt_->Fills() == 0; }));
  EXPECT_FALSE(store_->BlobStored(layer));
  EXPECT_EQ(store_->GetStats().uploads, 0u);

  // A client that takes nothing: the download gives up after the idle timeout.
  Result<PullThrough::BlobStream> idle = pt_->StreamBlob(target_, layer);
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  ASSERT_TRUE(testing::WaitUntil([&] { return idle->growing->Failed(); }));
  ASSERT_TRUE(testing::WaitUntil([&] { return pt_->Fills() == 0; }));

  Result<PullThrough::BlobStream> cached = pt_->StreamBlob(target_, config);
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  EXPECT_TRUE(cached->stored);

  free_ = uint64_t{1} << 30;
  space_->Refresh();
  ASSERT_TRUE(pt_->EnsureBlob(target_, layer).ok());
  EXPECT_TRUE(store_->StatBlob(target_.local_repo, layer).ok());
}

}  // namespace
}  // namespace pier::proxy
