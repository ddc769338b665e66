// The registry client against a real docker-registry (distribution 2.8, the
// registry:2 every other registry is measured against), started per test
// with a generated config: htpasswd Basic auth, TLS with a test CA.
// Skipped when docker-registry is not installed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include "adapter/client/registry_client.h"
#include "base/digest.h"
#include "tests/unit/client/registry_process.h"
#include "tests/unit/client/test_util.h"
#include "tests/unit/common/peers.h"
#include "tests/unit/common/wait.h"

namespace pier::client {
namespace {

using namespace std::chrono_literals;
using testing::BlobFile;
using testing::RegistryConfig;
using testing::RegistryProcess;
using testing::StopAfterLimiter;
using testing::TempDir;
using pier::testing::WaitUntil;

constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";

// A token bucket like the engine's: `rate` bytes per second, waits
// interruptibly.
class SlowLimiter : public RateLimiter {
 public:
  explicit SlowLimiter(double rate) : rate_(rate) {}
  bool Acquire(size_t bytes, const std::stop_token& stop) override {
    std::unique_lock lock(mu_);
    ++waits_;
    auto wait = std::chrono::duration<double>(bytes / rate_);
    cv_.wait_for(lock, stop, std::chrono::duration_cast<std::chrono::nanoseconds>(wait),
                 [] { return false; });
    return !stop.stop_requested();
  }
  // Calls of Acquire so far (the current one included).
  int waits() const { return waits_.load(); }

 private:
  std::atomic<int> waits_{0};
  double rate_;
  std::mutex mu_;
  std::condition_variable_any cv_;
};

std::string OciManifest(const BlobFile& config, const std::vector<const BlobFile*>& layers) {
  std::string m = std::string(R"({"schemaVersion":2,"mediaType":")") + kOciManifest +
                  R"(","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                  config.digest().str() + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[)";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i) m += ",";
    m += R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         layers[i]->digest().str() + R"(","size":)" + std::to_string(layers[i]->size()) + "}";
  }
  return m + "]}";
}

class DockerRegistryTest : public ::testing::Test {
 protected:
  void StartRegistry(RegistryConfig config = {}) {
    if (config.htpasswd_user.empty() && config.tls_cert_file.empty() && config.token_realm.empty()) {
      config.htpasswd_user = "alice";
      config.htpasswd_password = "secret";
    }
    std::string why;
    registry_ = RegistryProcess::Start(dir_.path() / "registry", config, &why);
    if (!registry_) {
      if (why.find("not installed") != std::string::npos) PIER_MISSING_PEER(why);
      FAIL() << why;
    }
  }

  void SetUp() override { StartRegistry(); }

  void TearDown() override {
    if (HasFailure() && registry_) std::cerr << "---- docker-registry log ----\n" << registry_->log() << "\n";
  }

  std::unique_ptr<RegistryClient> Client(std::string user = "alice", std::string password = "secret",
                                         ClientOptions extra = {}) {
    ClientOptions o = std::move(extra);
    o.url = registry_->url();
    o.username = std::move(user);
    o.password = std::move(password);
    auto c = RegistryClient::Create(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }

  std::unique_ptr<BlobFile> Blob(const std::string& name, size_t size, uint32_t seed) {
    return std::make_unique<BlobFile>(dir_.path() / name, testing::RandomBytes(size, seed));
  }

  static std::string Download(RegistryClient& client, Call& call, std::string_view repo, const Digest& d,
                              uint64_t offset, Status* status) {
    std::string got;
    auto n = client.GetBlob(call, repo, d, offset, [&](std::span<const char> data) {
      got.append(data.data(), data.size());
      return Status::OK();
    });
    *status = n.ok() ? Status::OK() : n.status();
    if (n.ok()) {
      EXPECT_EQ(*n, got.size());
    }
    return got;
  }

  TempDir dir_;
  std::unique_ptr<RegistryProcess> registry_;
};

TEST_F(DockerRegistryTest, PingTellsOkUnauthorizedAndUnreachableApart) {
  Call call;
  Status ok = Client()->Ping(call);
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  EXPECT_EQ(call.error.kind, ErrorKind::kNone);

  Status wrong = Client("alice", "wrong")->Ping(call);
  EXPECT_FALSE(wrong.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kAuth) << wrong.ToString();
  EXPECT_EQ(call.error.http_status, 401);
  EXPECT_EQ(wrong.message().find("wrong"), std::string::npos) << "no secret in messages";

  Status anonymous = Client("", "")->Ping(call);
  EXPECT_FALSE(anonymous.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kAuth) << anonymous.ToString();

  ClientOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  auto down = RegistryClient::Create(o);
  ASSERT_TRUE(down.ok());
  Status unreachable = (*down)->Ping(call);
  EXPECT_FALSE(unreachable.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kNetwork) << unreachable.ToString();
}

TEST_F(DockerRegistryTest, MonolithicUploadThenHeadAndRangedDownload) {
  auto blob = Blob("mono", 3 * 1024 * 1024 + 5, 1);
  auto client = Client();
  Call call;
  auto pushed = client->UploadBlob(call, "lib/app", blob->digest(), blob->All());
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(*pushed, blob->digest());

  auto size = client->HeadBlob(call, "lib/app", blob->digest());
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, blob->size());

  Status s;
  EXPECT_EQ(Download(*client, call, "lib/app", blob->digest(), 0, &s), blob->content());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Download(*client, call, "lib/app", blob->digest(), 1000000, &s), blob->content().substr(1000000));
  EXPECT_TRUE(s.ok()) << s.ToString();

  Digest missing = Sha256Of("missing");
  auto absent = client->HeadBlob(call, "lib/app", missing);
  EXPECT_EQ(absent.status().code(), Code::kNotFound);
  EXPECT_EQ(call.error.kind, ErrorKind::kNotFound);
  Download(*client, call, "lib/app", missing, 0, &s);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_LE(client->connections_opened(), 2u) << "keep-alive reuses connections";
}

TEST_F(DockerRegistryTest, ChunkedUploadStreamsFromAFile) {
  const uint64_t kChunk = 1024 * 1024;
  auto blob = Blob("chunked", 5 * kChunk + 17, 2);
  auto client = Client();
  Call call;
  uint64_t last_progress = 0;
  call.progress = [&](uint64_t n) { last_progress = n; };
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(session->offset, 0u);
  EXPECT_EQ(session->location.rfind(registry_->url() + "/v2/lib/app/blobs/uploads/", 0), 0u)
      << session->location;
  EXPECT_NE(session->location.find("_state="), std::string::npos) << "registry:2 keeps its state in the URL";

  UploadState at = *session;
  while (at.offset < blob->size()) {
    uint64_t n = std::min<uint64_t>(kChunk, blob->size() - at.offset);
    uint64_t before = at.offset;
    auto next = client->UploadChunk(call, "lib/app", at.location, blob->Slice(at.offset, n));
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_EQ(next->offset, before + n) << "registry's Range";
    EXPECT_EQ(last_progress, n);
    auto status = client->GetUploadStatus(call, "lib/app", next->location);
    ASSERT_TRUE(status.ok()) << status.status().ToString();
    EXPECT_EQ(status->offset, before + n);
    at = *status;
  }
  auto done = client->FinishUpload(call, "lib/app", at.location, blob->digest(), nullptr);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  Status s;
  EXPECT_EQ(Download(*client, call, "lib/app", blob->digest(), 0, &s), blob->content());
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(DockerRegistryTest, LastChunkCanTravelWithTheClosingPut) {
  auto blob = Blob("tail", 2 * 1024 * 1024 + 3, 3);
  auto client = Client();
  Call call;
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok());
  auto first = client->UploadChunk(call, "lib/app", session->location, blob->Slice(0, 1024 * 1024));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  FileSlice rest = blob->Slice(first->offset, blob->size() - first->offset);
  auto done = client->FinishUpload(call, "lib/app", first->location, blob->digest(), &rest);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  auto size = client->HeadBlob(call, "lib/app", blob->digest());
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, blob->size());
}

TEST_F(DockerRegistryTest, StopWhileThrottledThenResumeFromCommittedOffset) {
  const uint64_t kChunk = 1024 * 1024;
  auto blob = Blob("resume", 3 * kChunk, 4);
  auto client = Client();
  Call call;
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok());
  auto first = client->UploadChunk(call, "lib/app", session->location, blob->Slice(0, kChunk));
  ASSERT_TRUE(first.ok()) << first.status().ToString();

  // Stop lands while the shared limiter holds the next chunk back.
  std::stop_source source;
  SlowLimiter slow(1000);  // 64 KiB would take a minute
  Call stopped;
  stopped.stop = source.get_token();
  stopped.limiter = &slow;
  std::thread stopper([&] {
    EXPECT_TRUE(WaitUntil([&] { return slow.waits() > 0; }));
    source.request_stop();
  });
  auto cut = client->UploadChunk(stopped, "lib/app", first->location, blob->Slice(kChunk, 2 * kChunk));
  stopper.join();
  // Cancelled (the limiter alone would hold it for a minute).
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(stopped.error.kind, ErrorKind::kCancelled);

  auto status = client->GetUploadStatus(call, "lib/app", first->location);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->offset, kChunk);
  auto rest = client->UploadChunk(call, "lib/app", status->location, blob->Slice(status->offset, 2 * kChunk));
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->offset, 3 * kChunk);
  auto done = client->FinishUpload(call, "lib/app", rest->location, blob->digest(), nullptr);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(*done, blob->digest());
}

TEST_F(DockerRegistryTest, PatchCutMidBodyLosesTheRegistry2SessionAndARestartCompletes) {
  const uint64_t kChunk = 1024 * 1024;
  auto blob = Blob("cut", 3 * kChunk, 5);
  ClientOptions small_writes;
  small_writes.io_size = 16 * 1024;
  auto client = Client("alice", "secret", small_writes);
  Call call;
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok());
  auto first = client->UploadChunk(call, "lib/app", session->location, blob->Slice(0, kChunk));
  ASSERT_TRUE(first.ok()) << first.status().ToString();

  std::stop_source source;
  StopAfterLimiter limiter(&source, 256 * 1024);
  Call cut;
  cut.stop = source.get_token();
  cut.limiter = &limiter;
  auto r = client->UploadChunk(cut, "lib/app", first->location, blob->Slice(kChunk, 2 * kChunk));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(cut.error.kind, ErrorKind::kCancelled);

  // registry:2 stores the bytes that arrived but not their offset; it ends
  // the handling of the cut request on its own time, then discards the
  // session on the next request (BLOB_UPLOAD_INVALID, "upload resumed at
  // wrong offset"). The client reports that as NotFound: start again.
  Result<UploadState> status = Status::Internal("not asked");
  WaitUntil([&] {
    status = client->GetUploadStatus(call, "lib/app", first->location);
    return !status.ok();
  });
  ASSERT_FALSE(status.ok()) << "registry:2 kept a session whose PATCH was cut; offset " << status->offset;
  EXPECT_EQ(status.status().code(), Code::kNotFound) << status.status().ToString();
  EXPECT_EQ(call.error.registry_code, "BLOB_UPLOAD_INVALID");

  auto again = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(again.ok());
  auto all = client->UploadChunk(call, "lib/app", again->location, blob->All());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  auto done = client->FinishUpload(call, "lib/app", all->location, blob->digest(), nullptr);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  Status s;
  EXPECT_EQ(Download(*client, call, "lib/app", blob->digest(), 0, &s), blob->content());
}

TEST_F(DockerRegistryTest, WrongDigestOnCloseIsADigestMismatch) {
  auto blob = Blob("wrong", 4096, 6);
  auto client = Client();
  Call call;
  auto r = client->UploadBlob(call, "lib/app", Sha256Of("other bytes"), blob->All());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDigestMismatch) << r.status().ToString();
  EXPECT_EQ(call.error.kind, ErrorKind::kDigestMismatch);
  EXPECT_EQ(call.error.registry_code, "DIGEST_INVALID");
  EXPECT_EQ(call.error.http_status, 400);
}

TEST_F(DockerRegistryTest, MountBetweenRepositories) {
  auto blob = Blob("shared", 200000, 7);
  auto client = Client();
  Call call;
  ASSERT_TRUE(client->UploadBlob(call, "base/jdk", blob->digest(), blob->All()).ok());

  auto mounted = client->MountBlob(call, "team/app", blob->digest(), "base/jdk");
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString();
  EXPECT_TRUE(mounted->mounted);
  auto size = client->HeadBlob(call, "team/app", blob->digest());
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, blob->size());

  // A blob the source lacks: no mount, a session to upload into instead.
  auto other = Blob("other", 1000, 8);
  auto fallback = client->MountBlob(call, "team/app", other->digest(), "base/jdk");
  ASSERT_TRUE(fallback.ok()) << fallback.status().ToString();
  EXPECT_FALSE(fallback->mounted);
  ASSERT_FALSE(fallback->upload.location.empty());
  FileSlice whole = other->All();
  auto done = client->FinishUpload(call, "team/app", fallback->upload.location, other->digest(), &whole);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
}

TEST_F(DockerRegistryTest, CancelledSessionIsGone) {
  auto client = Client();
  Call call;
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE(client->CancelUpload(call, "lib/app", session->location).ok());
  auto status = client->GetUploadStatus(call, "lib/app", session->location);
  EXPECT_EQ(status.status().code(), Code::kNotFound) << status.status().ToString();
}

TEST_F(DockerRegistryTest, ManifestPutHeadGetDelete) {
  auto config =
      std::make_unique<BlobFile>(dir_.path() / "config", R"({"architecture":"amd64","os":"linux"})");
  auto layer = Blob("layer", 100000, 9);
  auto client = Client();
  Call call;
  ASSERT_TRUE(client->UploadBlob(call, "lib/app", config->digest(), config->All()).ok());
  ASSERT_TRUE(client->UploadBlob(call, "lib/app", layer->digest(), layer->All()).ok());
  std::string manifest = OciManifest(*config, {layer.get()});

  auto put = client->PutManifest(call, "lib/app", "v1", kOciManifest, manifest);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(*put, Sha256Of(manifest));

  auto head = client->HeadManifest(call, "lib/app", "v1");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->digest, Sha256Of(manifest));
  EXPECT_EQ(head->media_type, kOciManifest);
  EXPECT_EQ(head->size, manifest.size());

  for (std::string ref : {std::string("v1"), put->str()}) {
    auto got = client->GetManifest(call, "lib/app", ref);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->bytes, manifest);
    EXPECT_EQ(got->media_type, kOciManifest);
    EXPECT_EQ(got->digest, *put);
  }

  // By digest into another repository that has the blobs through mounts.
  ASSERT_TRUE(client->MountBlob(call, "lib/copy", config->digest(), "lib/app")->mounted);
  ASSERT_TRUE(client->MountBlob(call, "lib/copy", layer->digest(), "lib/app")->mounted);
  auto by_digest = client->PutManifest(call, "lib/copy", put->str(), kOciManifest, manifest);
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().ToString();

  // A manifest whose layer the registry lacks is refused with the spec code.
  auto missing = Blob("missing-layer", 100, 10);
  auto refused =
      client->PutManifest(call, "lib/app", "v2", kOciManifest, OciManifest(*config, {missing.get()}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kRemote4xx) << refused.status().ToString();
  EXPECT_EQ(call.error.registry_code, "MANIFEST_BLOB_UNKNOWN");
  EXPECT_NE(refused.status().message().find("PUT manifest lib/app:v2: HTTP 400 MANIFEST_BLOB_UNKNOWN"),
            std::string::npos)
      << refused.status().message();

  ASSERT_TRUE(client->DeleteManifest(call, "lib/app", *put).ok());
  auto gone = client->HeadManifest(call, "lib/app", put->str());
  EXPECT_EQ(gone.status().code(), Code::kNotFound) << gone.status().ToString();
  EXPECT_EQ(client->HeadManifest(call, "lib/app", "v1").status().code(), Code::kNotFound);
  EXPECT_EQ(client->DeleteManifest(call, "lib/app", *put).code(), Code::kNotFound);
}

TEST_F(DockerRegistryTest, DockerSchema2ManifestRoundTrips) {
  auto config =
      std::make_unique<BlobFile>(dir_.path() / "config", R"({"architecture":"arm64","os":"linux"})");
  auto client = Client();
  Call call;
  ASSERT_TRUE(client->UploadBlob(call, "lib/docker", config->digest(), config->All()).ok());
  std::string manifest =
      std::string(R"({"schemaVersion":2,"mediaType":")") + kDockerManifest +
      R"(","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
      config->digest().str() + R"(","size":)" + std::to_string(config->size()) + R"(},"layers":[]})";
  ASSERT_TRUE(client->PutManifest(call, "lib/docker", "latest", kDockerManifest, manifest).ok());
  auto got = client->GetManifest(call, "lib/docker", "latest");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->media_type, kDockerManifest);
  EXPECT_EQ(got->bytes, manifest);
}

TEST_F(DockerRegistryTest, TagsAndCatalogFollowEveryPage) {
  auto config = std::make_unique<BlobFile>(dir_.path() / "config", R"({"os":"linux"})");
  auto client = Client();
  Call call;
  std::vector<std::string> repos = {"lib/a", "lib/b", "lib/c"};
  for (const auto& repo : repos) {
    ASSERT_TRUE(client->UploadBlob(call, repo, config->digest(), config->All()).ok());
  }
  std::string manifest = OciManifest(*config, {});
  std::vector<std::string> tags = {"t1", "t2", "t3", "t4", "t5"};
  for (const auto& t : tags)
    ASSERT_TRUE(client->PutManifest(call, "lib/a", t, kOciManifest, manifest).ok()) << t;
  for (const auto& r : {"lib/b", "lib/c"})
    ASSERT_TRUE(client->PutManifest(call, r, "v", kOciManifest, manifest).ok());

  // distribution 2.8 ignores n/last on tags/list and answers every tag in
  // one unsorted page (Link paging of tags is tested against a fake); the
  // catalog it does page, so n=2 over three repositories needs the Link.
  for (size_t page : {0, 2}) {
    auto listed = client->ListTags(call, "lib/a", page);
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    std::sort(listed->begin(), listed->end());
    EXPECT_EQ(*listed, tags) << "page size " << page;
  }
  for (size_t page : {0, 1, 2}) {
    auto catalog = client->Catalog(call, page);
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    EXPECT_EQ(*catalog, repos) << "page size " << page;
  }
  auto unknown = client->ListTags(call, "lib/nothing", 2);
  EXPECT_EQ(unknown.status().code(), Code::kNotFound) << unknown.status().ToString();
}

TEST_F(DockerRegistryTest, StopInterruptsAPacedUpload) {
  auto blob = Blob("big", 8 * 1024 * 1024, 11);
  auto client = Client();
  Call call;
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok());
  std::stop_source source;
  SlowLimiter limiter(1024 * 1024);  // 1 MiB/s: 8 s for the chunk
  std::atomic<uint64_t> sent{0};
  Call paced;
  paced.stop = source.get_token();
  paced.limiter = &limiter;
  paced.progress = [&](uint64_t n) { sent = n; };
  std::thread stopper([&] {
    // Once bytes are moving: about half a second into the 8 s upload.
    EXPECT_TRUE(WaitUntil([&] { return sent.load() > 512u * 1024; }));
    source.request_stop();
  });
  auto r = client->UploadChunk(paced, "lib/app", session->location, blob->All());
  stopper.join();
  // Cut short: an upload that ignored the stop would finish (OK, all bytes).
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(paced.error.kind, ErrorKind::kCancelled) << r.status().ToString();
  EXPECT_GT(sent.load(), 512u * 1024) << "bytes were moving before the stop";
  EXPECT_LT(sent.load(), blob->size());
}

TEST_F(DockerRegistryTest, ConcurrentWorkersShareOneClient) {
  // Replication workers are threads sharing one client per destination.
  constexpr int kWorkers = 6;
  std::vector<std::unique_ptr<BlobFile>> blobs;
  for (int i = 0; i < kWorkers; ++i) blobs.push_back(Blob("w" + std::to_string(i), 700000 + i, 100 + i));
  auto client = Client();
  std::vector<std::thread> workers;
  std::vector<std::string> failures(kWorkers);
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&, i] {
      Call call;
      const BlobFile& b = *blobs[i];
      auto session = client->StartUpload(call, "lib/app");
      if (!session.ok()) return void(failures[i] = session.status().ToString());
      UploadState at = *session;
      while (at.offset < b.size()) {
        auto next =
            client->UploadChunk(call, "lib/app", at.location,
                                b.Slice(at.offset, std::min<uint64_t>(256 * 1024, b.size() - at.offset)));
        if (!next.ok()) return void(failures[i] = next.status().ToString());
        at = *next;
      }
      auto done = client->FinishUpload(call, "lib/app", at.location, b.digest(), nullptr);
      if (!done.ok()) return void(failures[i] = done.status().ToString());
      auto size = client->HeadBlob(call, "lib/app", b.digest());
      if (!size.ok() || *size != b.size()) failures[i] = "HEAD after upload: " + size.status().ToString();
    });
  }
  for (auto& t : workers) t.join();
  for (int i = 0; i < kWorkers; ++i) EXPECT_EQ(failures[i], "") << "worker " << i;
  EXPECT_LE(client->connections_opened(), static_cast<uint64_t>(kWorkers + 1));
}

// ---- TLS ------------------------------------------------------------------------------

class DockerRegistryTlsTest : public DockerRegistryTest {
 protected:
  void SetUp() override {
    std::string openssl = testing::FindProgram("openssl");
    if (openssl.empty()) PIER_MISSING_PEER("openssl is not installed");
    cert_ = dir_.path() / "cert.pem";
    key_ = dir_.path() / "key.pem";
    std::string cmd = openssl +
                      " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
                      "/CN=pier-client-test -addext subjectAltName=IP:127.0.0.1 -keyout " +
                      key_.string() + " -out " + cert_.string() + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    RegistryConfig config;
    config.tls_cert_file = cert_.string();
    config.tls_key_file = key_.string();
    StartRegistry(config);
  }

  std::filesystem::path cert_;
  std::filesystem::path key_;
};

TEST_F(DockerRegistryTlsTest, CustomCaSystemStoreAndInsecure) {
  Call call;
  ClientOptions with_ca;
  with_ca.ca_pem = testing::ReadText(cert_);
  auto trusted = Client("", "", with_ca);
  Status ok = trusted->Ping(call);
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  auto blob = Blob("tls", 300000, 12);
  auto pushed = trusted->UploadBlob(call, "lib/tls", blob->digest(), blob->All());
  EXPECT_TRUE(pushed.ok()) << pushed.status().ToString();
  Status s;
  EXPECT_EQ(Download(*trusted, call, "lib/tls", blob->digest(), 0, &s), blob->content());
  EXPECT_EQ(trusted->connections_opened(), 1u) << "TLS connections are kept alive too";

  Status untrusted = Client("", "")->Ping(call);
  EXPECT_FALSE(untrusted.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kTls) << untrusted.ToString();
  EXPECT_NE(untrusted.message().find("certificate verify failed"), std::string::npos) << untrusted.message();
  EXPECT_FALSE(call.error.Transient());

  ClientOptions insecure;
  insecure.insecure = true;
  Status skipped = Client("", "", insecure)->Ping(call);
  EXPECT_TRUE(skipped.ok()) << skipped.ToString();
}

TEST_F(DockerRegistryTlsTest, HostNameIsVerified) {
  // The certificate names 127.0.0.1 only; "localhost" is another name.
  ClientOptions with_ca;
  with_ca.ca_pem = testing::ReadText(cert_);
  with_ca.url = registry_->url();
  with_ca.url.replace(with_ca.url.find("127.0.0.1"), 9, "localhost");
  auto c = RegistryClient::Create(with_ca);
  ASSERT_TRUE(c.ok());
  Call call;
  Status s = (*c)->Ping(call);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kTls) << s.ToString();
}

TEST_F(DockerRegistryTlsTest, PlainHttpToATlsPortIsNotARegistry) {
  ClientOptions plain;
  std::string url = registry_->url();
  plain.url = "http" + url.substr(5);
  auto c = RegistryClient::Create(plain);
  ASSERT_TRUE(c.ok());
  Call call;
  Status s = (*c)->Ping(call);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kRemote4xx) << s.ToString();  // Go answers 400 to plain HTTP
}

}  // namespace
}  // namespace pier::client
