// The registry client against scripted peers (test_servers.h): the Docker
// token flow as Aliyun ACR runs it, redirects to object storage, resuming an
// upload from a registry that keeps the bytes of a cut PATCH, throttling,
// keep-alive, and the transfer-control promises (cancel, no-progress
// timeout, no total-time limit, rate limiter, progress).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>

#include "adapter/client/registry_client.h"
#include "base/digest.h"
#include "tests/unit/client/test_util.h"
#include "tests/unit/common/wait.h"

namespace pier::client {
namespace {

using namespace std::chrono_literals;
using testing::BlobFile;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeServer;
using testing::QueryValues;
using testing::SilentListener;
using testing::StopAfterLimiter;
using testing::TempDir;
using pier::testing::WaitUntil;
using Clock = std::chrono::steady_clock;

constexpr char kAliceBasic[] = "Basic YWxpY2U6c2VjcmV0";  // alice:secret

std::unique_ptr<RegistryClient> MakeClient(const std::string& url, std::string user = "",
                                           std::string password = "", int timeout_seconds = 10,
                                           size_t io_size = 64 * 1024, const pier::Clock& clock = SystemClock()) {
  ClientOptions o;
  o.url = url;
  o.username = std::move(user);
  o.password = std::move(password);
  o.no_progress_timeout_seconds = timeout_seconds;
  o.io_size = io_size;
  auto c = RegistryClient::Create(o, clock);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// ---- Bearer: a registry and its token realm, as ACR runs them -----------------

// Issues opaque tokens "tok<N>" for the scopes asked, to alice:secret only
// (or to anyone when `anonymous`), and serves a registry that checks each
// request's token carries the action it needs, answering 401 with a Bearer
// challenge naming the missing scope otherwise.
class TokenRegistry {
 public:
  TokenRegistry() : server_([this](const FakeRequest& r) { return Handle(r); }) {}

  std::string url() const { return server_.url(); }
  int connections() const { return server_.connections(); }

  std::mutex mu;
  int token_requests = 0;
  std::vector<std::string> token_queries;
  std::vector<std::string> token_auth;
  int expires_in = 300;
  bool use_access_token_field = false;
  bool anonymous = false;
  bool honour_star = true;                                 // does "*" grant delete?
  std::map<std::string, std::vector<std::string>> tokens;  // token -> scopes granted
  std::vector<std::string> registry_auth;                  // Authorization of each registry request
  std::string redirect_blobs_to;                           // GET blob → 307 there

 private:
  static bool Grants(const std::vector<std::string>& scopes, const std::string& repo,
                     const std::string& action, bool honour_star) {
    for (const std::string& s : scopes) {
      std::string prefix = "repository:" + repo + ":";
      if (s.rfind(prefix, 0) != 0) continue;
      std::string actions = s.substr(prefix.size());
      size_t i = 0;
      while (i <= actions.size()) {
        size_t comma = actions.find(',', i);
        std::string a = actions.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
        if (a == action || (a == "*" && honour_star)) return true;
        if (comma == std::string::npos) break;
        i = comma + 1;
      }
    }
    return false;
  }

  FakeResponse Challenge(const std::string& scope) {
    FakeResponse r;
    r.status = 401;
    std::string v = "Bearer realm=\"" + url() + "/token\",service=\"fake-registry\"";
    if (!scope.empty()) v += ",scope=\"" + scope + "\",error=\"insufficient_scope\"";
    r.Set("WWW-Authenticate", v);
    r.Set("Content-Type", "application/json");
    r.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
    return r;
  }

  FakeResponse Handle(const FakeRequest& r) {
    std::lock_guard lock(mu);
    if (r.Path() == "/token") {
      ++token_requests;
      token_queries.push_back(r.Query());
      token_auth.push_back(r.Header("authorization"));
      if (!anonymous && r.Header("authorization") != kAliceBasic) {
        FakeResponse f;
        f.status = 401;
        f.body = R"({"details":"incorrect username or password"})";
        return f;
      }
      std::string tok = "tok" + std::to_string(token_requests);
      tokens[tok] = QueryValues(r.Query(), "scope");
      FakeResponse ok;
      ok.Set("Content-Type", "application/json");
      ok.body = std::string("{\"") + (use_access_token_field ? "access_token" : "token") + "\":\"" + tok +
                "\",\"expires_in\":" + std::to_string(expires_in) + "}";
      return ok;
    }
    registry_auth.push_back(r.Header("authorization"));
    std::string auth = r.Header("authorization");
    std::string tok = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
    auto granted = tokens.find(tok);
    if (granted == tokens.end()) return Challenge("");
    if (r.Path() == "/v2/") return FakeResponse{200, {}, "{}"};
    // /v2/<repo>/(manifests|blobs)/<ref>
    std::string path = r.Path().substr(4);
    size_t kind = path.find("/manifests/");
    if (kind == std::string::npos) kind = path.find("/blobs/");
    std::string repo = path.substr(0, kind);
    std::string action = r.method == "GET" || r.method == "HEAD" ? "pull"
                         : r.method == "DELETE"                  ? "delete"
                                                                 : "push";
    if (!Grants(granted->second, repo, action, honour_star))
      return Challenge("repository:" + repo + ":" + action);
    if (r.method == "POST" && r.Query().find("mount=") != std::string::npos) {
      std::string from = QueryValues(r.Query(), "from").at(0);
      if (!Grants(granted->second, from, "pull", honour_star))
        return Challenge("repository:" + from + ":pull");
      FakeResponse created;
      created.status = 201;
      return created;
    }
    if (r.method == "DELETE") return FakeResponse{202, {}, ""};
    if (path.find("/blobs/") != std::string::npos && !redirect_blobs_to.empty()) {
      FakeResponse redirect;
      redirect.status = 307;
      redirect.Set("Location", redirect_blobs_to);
      return redirect;
    }
    FakeResponse m;
    m.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    m.body = "{\"schemaVersion\":2}";
    m.Set("Docker-Content-Digest", Sha256Of(m.body).str());
    return m;
  }

  FakeServer server_;
};

TEST(BearerTest, PingTradesCredentialsForATokenWithoutScope) {
  TokenRegistry reg;
  auto client = MakeClient(reg.url(), "alice", "secret");
  Call call;
  ASSERT_TRUE(client->Ping(call).ok());
  std::lock_guard lock(reg.mu);
  ASSERT_EQ(reg.token_requests, 1);
  EXPECT_EQ(reg.token_auth[0], kAliceBasic);
  EXPECT_EQ(QueryValues(reg.token_queries[0], "service"), std::vector<std::string>{"fake-registry"});
  EXPECT_EQ(QueryValues(reg.token_queries[0], "account"), std::vector<std::string>{"alice"});
  EXPECT_TRUE(QueryValues(reg.token_queries[0], "scope").empty());
}

TEST(BearerTest, TokenPerScopeIsCachedAndSentAsBearer) {
  TokenRegistry reg;
  auto client = MakeClient(reg.url(), "alice", "secret");
  Call call;
  auto info = client->HeadManifest(call, "lib/app", "v1");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(info->digest, Sha256Of("{\"schemaVersion\":2}"));
  ASSERT_TRUE(client->HeadManifest(call, "lib/app", "v2").ok());
  ASSERT_TRUE(client->GetManifest(call, "lib/app", "v1").ok());
  std::lock_guard lock(reg.mu);
  ASSERT_EQ(reg.token_requests, 1) << "one token serves every pull of lib/app";
  EXPECT_EQ(QueryValues(reg.token_queries[0], "scope"), std::vector<std::string>{"repository:lib/app:pull"});
  EXPECT_EQ(reg.registry_auth.back(), "Bearer tok1");
}

TEST(BearerTest, OtherScopesGetTheirOwnToken) {
  TokenRegistry reg;
  auto client = MakeClient(reg.url(), "alice", "secret");
  Call call;
  ASSERT_TRUE(client->HeadManifest(call, "lib/app", "v1").ok());
  ASSERT_TRUE(client->HeadManifest(call, "lib/other", "v1").ok());
  auto mounted = client->MountBlob(call, "lib/app", Sha256Of("x"), "base/jdk");
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString();
  EXPECT_TRUE(mounted->mounted);
  std::lock_guard lock(reg.mu);
  ASSERT_EQ(reg.token_requests, 3);
  EXPECT_EQ(QueryValues(reg.token_queries[1], "scope"),
            std::vector<std::string>{"repository:lib/other:pull"});
  auto mount_scopes = QueryValues(reg.token_queries[2], "scope");
  EXPECT_EQ(std::set<std::string>(mount_scopes.begin(), mount_scopes.end()),
            (std::set<std::string>{"repository:lib/app:pull,push", "repository:base/jdk:pull"}));
}

TEST(BearerTest, RevokedTokenIsRefreshedOn401) {
  TokenRegistry reg;
  auto client = MakeClient(reg.url(), "alice", "secret");
  Call call;
  ASSERT_TRUE(client->HeadManifest(call, "lib/app", "v1").ok());
  {
    std::lock_guard lock(reg.mu);
    reg.tokens.clear();  // the registry forgets every token
  }
  auto again = client->HeadManifest(call, "lib/app", "v1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  std::lock_guard lock(reg.mu);
  EXPECT_EQ(reg.token_requests, 2);
  EXPECT_EQ(reg.registry_auth.back(), "Bearer tok2");
}

TEST(BearerTest, TokenIsRefreshedWhenItExpires) {
  TokenRegistry reg;
  reg.expires_in = 60;
  FakeClock clock;
  auto client = MakeClient(reg.url(), "alice", "secret", 10, 64 * 1024, clock);
  Call call;
  ASSERT_TRUE(client->HeadManifest(call, "lib/app", "v1").ok());
  ASSERT_TRUE(client->HeadManifest(call, "lib/app", "v1").ok());
  {
    std::lock_guard lock(reg.mu);
    EXPECT_EQ(reg.token_requests, 1);
  }
  // Cached until shortly before it expires (60 s less a 10 s margin)...
  clock.Advance(49s);
  ASSERT_TRUE(client->HeadManifest(call, "lib/app", "v1").ok());
  {
    std::lock_guard lock(reg.mu);
    EXPECT_EQ(reg.token_requests, 1);
  }
  // ...then fetched again.
  clock.Advance(2s);
  ASSERT_TRUE(client->HeadManifest(call, "lib/app", "v1").ok());
  std::lock_guard lock(reg.mu);
  EXPECT_EQ(reg.token_requests, 2);
  // Not a 401 round trip: the expired token was replaced before sending.
  size_t unauthorized = 0;
  for (const auto& a : reg.registry_auth) unauthorized += a.empty() ? 1 : 0;
  EXPECT_EQ(unauthorized, 1u) << "only the first probe went without a token";
}

TEST(BearerTest, AccessTokenFieldAndAnonymousTokens) {
  TokenRegistry reg;
  reg.use_access_token_field = true;
  reg.anonymous = true;
  auto client = MakeClient(reg.url());
  Call call;
  ASSERT_TRUE(client->HeadManifest(call, "lib/app", "v1").ok());
  std::lock_guard lock(reg.mu);
  EXPECT_EQ(reg.token_auth[0], "") << "no credentials: no Basic to the realm";
  EXPECT_TRUE(QueryValues(reg.token_queries[0], "account").empty());
}

TEST(BearerTest, WrongPasswordIsAnAuthFailure) {
  TokenRegistry reg;
  auto client = MakeClient(reg.url(), "alice", "wrong");
  Call call;
  Status s = client->Ping(call);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kAuth) << s.ToString();
  EXPECT_EQ(call.error.http_status, 401);
  EXPECT_NE(s.message().find("/token"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("wrong"), std::string::npos) << "the password never shows";

  auto head = client->HeadManifest(call, "lib/app", "v1");
  EXPECT_FALSE(head.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kAuth);
}

TEST(BearerTest, ScopeNamedInTheChallengeIsAdded) {
  TokenRegistry reg;
  reg.honour_star = false;  // this registry wants "delete", not "*"
  auto client = MakeClient(reg.url(), "alice", "secret");
  Call call;
  Status s = client->DeleteManifest(call, "lib/app", Sha256Of("m"));
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::lock_guard lock(reg.mu);
  ASSERT_EQ(reg.token_requests, 2);
  auto scopes = QueryValues(reg.token_queries[1], "scope");
  EXPECT_EQ(std::set<std::string>(scopes.begin(), scopes.end()),
            (std::set<std::string>{"repository:lib/app:*", "repository:lib/app:delete"}));
}

TEST(BearerTest, RedirectedBlobGetsNoAuthorization) {
  std::string blob = testing::RandomBytes(300000, 1);
  std::mutex mu;
  std::vector<std::string> storage_auth;
  FakeServer storage([&](const FakeRequest& r) {
    std::lock_guard lock(mu);
    storage_auth.push_back(r.Header("authorization"));
    return FakeResponse{200, {}, blob};
  });
  TokenRegistry reg;
  reg.redirect_blobs_to = storage.url() + "/bucket/blob?X-Amz-Signature=abc";
  auto client = MakeClient(reg.url(), "alice", "secret");
  Call call;
  std::string got;
  auto n = client->GetBlob(call, "lib/app", Sha256Of(blob), 0, [&](std::span<const char> d) {
    got.append(d.data(), d.size());
    return Status::OK();
  });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, blob.size());
  EXPECT_EQ(got, blob);
  std::lock_guard lock(mu);
  ASSERT_EQ(storage_auth.size(), 1u);
  EXPECT_EQ(storage_auth[0], "") << "credentials must not follow a redirect to another host";
  std::lock_guard lock2(reg.mu);
  EXPECT_EQ(reg.registry_auth.back(), "Bearer tok1");
}

TEST(BearerTest, DownloadWithWrongBytesIsADigestMismatch) {
  FakeServer storage([&](const FakeRequest&) { return FakeResponse{200, {}, "not the blob"}; });
  TokenRegistry reg;
  reg.redirect_blobs_to = storage.url() + "/b";
  auto client = MakeClient(reg.url(), "alice", "secret");
  Call call;
  auto n = client->GetBlob(call, "lib/app", Sha256Of("the blob"), 0,
                           [](std::span<const char>) { return Status::OK(); });
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kDigestMismatch);
  EXPECT_EQ(call.error.kind, ErrorKind::kDigestMismatch);
}

// ---- uploads against a registry that keeps the bytes of a cut PATCH ------------

// An upload endpoint that follows the OCI spec strictly: relative Locations,
// 416 for a chunk that does not start at the session's size, and a PATCH cut
// off mid-body keeps what arrived (as Pier does).
class ResumableRegistry {
 public:
  ResumableRegistry() : server_([this](const FakeRequest& r) { return Handle(r); }) {}
  std::string url() const { return server_.url(); }
  int incomplete_requests() const { return server_.incomplete_requests(); }
  int connections() const { return server_.connections(); }

  std::mutex mu;
  std::map<std::string, std::string> sessions;
  std::map<std::string, std::string> blobs;  // digest -> bytes
  int next = 0;

 private:
  FakeResponse Session(int status, const std::string& uuid) {
    FakeResponse r;
    r.status = status;
    r.Set("Location", "/v2/lib/app/blobs/uploads/" + uuid);
    size_t n = sessions[uuid].size();
    r.Set("Range", "0-" + std::to_string(n == 0 ? 0 : n - 1));
    r.Set("Docker-Upload-UUID", uuid);
    return r;
  }

  FakeResponse Handle(const FakeRequest& r) {
    std::lock_guard lock(mu);
    const std::string prefix = "/v2/lib/app/blobs/uploads/";
    if (r.Path() == "/v2/") return FakeResponse{200, {}, "{}"};
    if (r.method == "POST" && r.Path() == prefix) {
      std::string uuid = "u" + std::to_string(++next);
      sessions[uuid];
      return Session(202, uuid);
    }
    if (r.Path().rfind(prefix, 0) == 0) {
      std::string uuid = r.Path().substr(prefix.size());
      auto it = sessions.find(uuid);
      if (it == sessions.end()) {
        return FakeResponse{
            404, {}, R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown"}]})"};
      }
      if (r.method == "GET") return Session(204, uuid);
      if (r.method == "PATCH") {
        std::string cr = r.Header("content-range");
        uint64_t start = std::stoull(cr.substr(0, cr.find('-')));
        if (start != it->second.size()) {
          FakeResponse bad = Session(416, uuid);
          bad.body = R"({"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"range"}]})";
          return bad;
        }
        it->second += r.body;  // also when the body was cut short
        return Session(202, uuid);
      }
      if (r.method == "PUT") {
        it->second += r.body;
        std::string want = QueryValues(r.Query(), "digest").at(0);
        std::string got = Sha256Of(it->second).str();
        if (got != want) {
          return FakeResponse{
              400, {}, R"({"errors":[{"code":"DIGEST_INVALID","message":"digest did not match"}]})"};
        }
        blobs[got] = it->second;
        sessions.erase(it);
        FakeResponse created;
        created.status = 201;
        created.Set("Docker-Content-Digest", got);
        created.Set("Location", "/v2/lib/app/blobs/" + got);
        return created;
      }
    }
    return FakeResponse{404, {}, ""};
  }

  FakeServer server_;
};

TEST(ResumeTest, CutPatchResumesFromTheCommittedOffset) {
  TempDir dir;
  const uint64_t kSize = 3 * 1024 * 1024;
  std::string blob = testing::RandomBytes(kSize, 7);
  BlobFile file(dir.path() / "blob", blob);
  Digest digest = Sha256Of(blob);
  ResumableRegistry reg;
  auto client = MakeClient(reg.url(), "", "", 10, 16 * 1024);

  Call call;
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(session->location, reg.url() + "/v2/lib/app/blobs/uploads/u1")
      << "relative Location made absolute";
  EXPECT_EQ(session->offset, 0u);

  auto first = client->UploadChunk(call, "lib/app", session->location, file.Slice(0, 1024 * 1024));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->offset, 1024u * 1024);

  // The second chunk is cut off mid-body by a stop request.
  std::stop_source source;
  StopAfterLimiter limiter(&source, 512 * 1024);
  Call cut;
  cut.stop = source.get_token();
  cut.limiter = &limiter;
  auto second =
      client->UploadChunk(cut, "lib/app", first->location, file.Slice(first->offset, kSize - first->offset));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(cut.error.kind, ErrorKind::kCancelled) << second.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return reg.incomplete_requests() == 1; }));

  auto status = client->GetUploadStatus(call, "lib/app", first->location);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_GT(status->offset, 1024u * 1024) << "the registry kept part of the cut chunk";
  EXPECT_LT(status->offset, kSize);

  // Sending from a stale offset is refused by this registry...
  auto stale = client->UploadChunk(call, "lib/app", status->location, file.Slice(first->offset, 1000));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Code::kOutOfRange);
  EXPECT_EQ(call.error.http_status, 416);

  // ...and continuing from the committed one completes the blob.
  auto rest = client->UploadChunk(call, "lib/app", status->location,
                                  file.Slice(status->offset, kSize - status->offset));
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->offset, kSize);
  auto done = client->FinishUpload(call, "lib/app", rest->location, digest, nullptr);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(*done, digest);
  std::lock_guard lock(reg.mu);
  EXPECT_EQ(reg.blobs[digest.str()], blob);
}

TEST(ResumeTest, WrongDigestOnCloseIsADigestMismatch) {
  TempDir dir;
  std::string blob = testing::RandomBytes(1000, 3);
  BlobFile file(dir.path() / "blob", blob);
  ResumableRegistry reg;
  auto client = MakeClient(reg.url());
  Call call;
  auto r = client->UploadBlob(call, "lib/app", Sha256Of("something else"), file.Slice(0, blob.size()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kDigestMismatch);
  EXPECT_EQ(call.error.registry_code, "DIGEST_INVALID");
  EXPECT_EQ(r.status().code(), Code::kDigestMismatch);
}

TEST(ResumeTest, UnknownSessionIsNotFound) {
  ResumableRegistry reg;
  auto client = MakeClient(reg.url());
  Call call;
  auto st = client->GetUploadStatus(call, "lib/app", "/v2/lib/app/blobs/uploads/nope");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Code::kNotFound);
  EXPECT_EQ(call.error.registry_code, "BLOB_UPLOAD_UNKNOWN");
}

// ---- pacing and progress ---------------------------------------------------------

class CountingLimiter : public RateLimiter {
 public:
  bool Acquire(size_t bytes, const std::stop_token&) override {
    sizes.push_back(bytes);
    return true;
  }
  std::vector<size_t> sizes;
};

TEST(TransferTest, LimiterPacesEveryWriteAndProgressCountsBytes) {
  TempDir dir;
  const uint64_t kSize = 1024 * 1024 + 123;
  std::string blob = testing::RandomBytes(kSize, 9);
  BlobFile file(dir.path() / "blob", blob);
  ResumableRegistry reg;
  const size_t kIo = 16 * 1024;
  auto client = MakeClient(reg.url(), "", "", 10, kIo);
  CountingLimiter limiter;
  std::vector<uint64_t> progress;
  Call call;
  call.limiter = &limiter;
  call.progress = [&](uint64_t n) { progress.push_back(n); };
  auto r = client->UploadBlob(call, "lib/app", Sha256Of(blob), file.Slice(0, kSize));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  uint64_t sum = 0;
  for (size_t s : limiter.sizes) {
    EXPECT_LE(s, kIo);
    EXPECT_GT(s, 0u);
    sum += s;
  }
  EXPECT_EQ(sum, kSize);
  EXPECT_EQ(limiter.sizes.size(), (kSize + kIo - 1) / kIo);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), kSize);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
}

// On a slow link one request lasts seconds: body_acked reports the body's
// bytes as the peer acknowledges them, before the answer. What the first
// sample found acknowledged (buffers on the way fill at memory speed) is
// left out. The peer reads slowly and answers only once something was
// reported (or gives up at a deadline).
TEST(TransferTest, BodyAckedReportsAsThePeerTakesTheBodyIn) {
  TempDir dir;
  const uint64_t kSize = 2 * 1024 * 1024;
  std::string blob = testing::RandomBytes(kSize, 11);
  BlobFile file(dir.path() / "blob", blob);
  std::mutex mu;
  std::condition_variable cv;
  uint64_t reported = 0;
  bool answered_when_allowed = false;
  FakeServer peer(
      [&](const FakeRequest& r) {
        if (r.method != "PUT") return FakeResponse{200, {}, "{}"};  // the auth probe
        std::unique_lock lock(mu);
        answered_when_allowed = cv.wait_for(lock, 10s, [&] { return reported > 0; });
        FakeResponse created;
        created.status = 201;
        return created;
      },
      /*slow_read=*/true);
  auto client = MakeClient(peer.url());
  std::vector<uint64_t> samples;
  Call call;
  call.body_acked = [&](uint64_t n) {
    samples.push_back(n);
    std::lock_guard lock(mu);
    reported = n;
    cv.notify_all();
  };
  FileSlice body = file.All();
  auto r = client->FinishUpload(call, "lib/app", "/v2/lib/app/blobs/uploads/s1", Sha256Of(blob), &body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::lock_guard lock(mu);
  EXPECT_TRUE(answered_when_allowed) << "nothing was reported before the answer";
  ASSERT_FALSE(samples.empty());
  EXPECT_TRUE(std::is_sorted(samples.begin(), samples.end()));
  EXPECT_GT(samples.front(), 0u);
  EXPECT_LE(samples.back(), kSize);
}

// ---- keep-alive ---------------------------------------------------------------------

TEST(TransferTest, KeepAliveReusesOneConnection) {
  ResumableRegistry reg;
  auto client = MakeClient(reg.url());
  Call call;
  for (int i = 0; i < 5; ++i) {
    auto r = client->StartUpload(call, "lib/app");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  EXPECT_EQ(reg.connections(), 1);
  EXPECT_EQ(client->connections_opened(), 1u);
}

TEST(TransferTest, ConnectionDroppedWhileIdleIsNotAFailure) {
  std::atomic<int> answered{0};
  FakeServer server([&](const FakeRequest&) {
    FakeResponse r{200, {}, "{}"};
    r.drop_silently = true;  // announces keep-alive, then closes
    ++answered;
    return r;
  });
  auto client = MakeClient(server.url());
  Call call;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->Ping(call).ok()) << i;
    // The server has dropped the kept-alive connection before the next call.
    ASSERT_TRUE(WaitUntil([&] { return server.closed() == i + 1; })) << i;
  }
  EXPECT_EQ(answered, 3);
}

// ---- lists ---------------------------------------------------------------------------

// Serves a sorted list in pages of n with Link headers, alternating the
// relative and absolute forms registries use.
TEST(ListTest, TagsFollowLinkPagesOfTwo) {
  std::vector<std::string> all = {"1.0", "1.1", "2.0", "latest", "v3"};
  std::vector<std::string> targets;
  std::string self;  // the server's URL, set once it listens
  std::mutex mu;
  FakeServer server([&](const FakeRequest& r) {
    std::lock_guard lock(mu);
    if (r.Path() == "/v2/") return FakeResponse{200, {}, "{}"};
    targets.push_back(r.target);
    size_t n = std::stoul(QueryValues(r.Query(), "n").at(0));
    auto last = QueryValues(r.Query(), "last");
    size_t from = last.empty() ? 0 : std::upper_bound(all.begin(), all.end(), last[0]) - all.begin();
    std::string body = R"({"name":"lib/app","tags":[)";
    for (size_t i = from; i < std::min(all.size(), from + n); ++i) {
      if (i > from) body += ",";
      body += "\"" + all[i] + "\"";
    }
    body += "]}";
    FakeResponse page{200, {}, body};
    if (from + n < all.size()) {
      std::string next = "/v2/lib/app/tags/list?n=" + std::to_string(n) + "&last=" + all[from + n - 1];
      if (targets.size() % 2 == 0) next = self + next;
      page.Set("Link", "<" + next + ">; rel=\"next\"");
    }
    return page;
  });
  {
    std::lock_guard lock(mu);
    self = server.url();
  }
  auto client = MakeClient(server.url());
  Call call;
  auto tags = client->ListTags(call, "lib/app", 2);
  ASSERT_TRUE(tags.ok()) << tags.status().ToString();
  EXPECT_EQ(*tags, all);
  std::lock_guard lock(mu);
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0], "/v2/lib/app/tags/list?n=2");
  EXPECT_EQ(targets[1], "/v2/lib/app/tags/list?n=2&last=1.1");
  EXPECT_EQ(targets[2], "/v2/lib/app/tags/list?n=2&last=latest");
}

TEST(ListTest, LinkLoopEndsAndNullTagsAreEmpty) {
  FakeServer server([&](const FakeRequest& r) {
    if (r.Path() == "/v2/") return FakeResponse{200, {}, "{}"};
    FakeResponse page{200, {}, R"({"name":"lib/app","tags":null})"};
    page.Set("Link", "<" + r.target + ">; rel=\"next\"");  // points at itself
    return page;
  });
  auto client = MakeClient(server.url());
  Call call;
  auto tags = client->ListTags(call, "lib/app", 2);
  ASSERT_TRUE(tags.ok()) << tags.status().ToString();
  EXPECT_TRUE(tags->empty());
}

// ---- throttling and errors --------------------------------------------------------------

TEST(ErrorsTest, ThrottledWithRetryAfter) {
  FakeServer server([&](const FakeRequest& r) {
    if (r.Path() == "/v2/") return FakeResponse{200, {}, "{}"};
    FakeResponse t{429, {}, R"({"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests"}]})"};
    t.Set("Retry-After", "3");
    return t;
  });
  auto client = MakeClient(server.url());
  Call call;
  auto r = client->HeadBlob(call, "lib/app", Sha256Of("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kThrottled);
  EXPECT_EQ(call.error.http_status, 429);
  EXPECT_EQ(call.error.retry_after_seconds.value_or(0), 3u);
  EXPECT_TRUE(call.error.Transient());
  EXPECT_NE(r.status().message().find("HEAD blob lib/app@sha256:"), std::string::npos)
      << r.status().message();
}

TEST(ErrorsTest, ServerErrorAndNotARegistry) {
  FakeServer server([&](const FakeRequest& r) {
    if (r.Path() == "/v2/") return FakeResponse{404, {}, "<html>nothing here</html>"};
    return FakeResponse{500, {}, ""};
  });
  auto client = MakeClient(server.url());
  Call call;
  Status s = client->Ping(call);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kNotFound);
  EXPECT_NE(s.message().find("nothing here"), std::string::npos) << s.message();
}

TEST(ErrorsTest, BadNamesAreRefusedBeforeSending) {
  FakeServer server([&](const FakeRequest&) { return FakeResponse{200, {}, "{}"}; });
  auto client = MakeClient(server.url());
  Call call;
  EXPECT_EQ(client->HeadManifest(call, "Lib/App", "v1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(call.error.kind, ErrorKind::kLocal);
  EXPECT_FALSE(client->HeadManifest(call, "lib/app", "bad tag").ok());
  EXPECT_FALSE(client->HeadManifest(call, "lib/app", "sha256:short").ok());
  EXPECT_FALSE(client->HeadManifest(call, "../etc", "v1").ok());
  // The store's rule (base/names.h): a separator is followed by [a-z0-9], so
  // "a-.b" is refused here as the store would refuse it.
  EXPECT_EQ(client->HeadManifest(call, "a-.b", "v1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(call.error.kind, ErrorKind::kLocal);
  EXPECT_FALSE(client->HeadManifest(call, "lib/a__.b", "v1").ok());
  EXPECT_FALSE(client->UploadChunk(call, "lib/app", "http://x\r\nInjected: 1", FileSlice{0, 0, 10}).ok());
  EXPECT_EQ(server.connections(), 0);
  // A Location with a line break is refused by the transport, not sent.
  auto injected =
      client->UploadChunk(call, "lib/app", server.url() + "/up\r\nInjected: 1", FileSlice{0, 0, 10});
  EXPECT_FALSE(injected.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kLocal) << injected.status().ToString();
}

TEST(ErrorsTest, UnreachableIsANetworkError) {
  auto client = MakeClient("http://127.0.0.1:" + std::to_string(testing::FreePort()));
  Call call;
  Status s = client->Ping(call);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kNetwork) << s.ToString();
  EXPECT_TRUE(call.error.Transient());
}

TEST(ErrorsTest, CreateRejectsBadOptions) {
  ClientOptions o;
  o.url = "ftp://x";
  EXPECT_FALSE(RegistryClient::Create(o).ok());
  o.url = "https://x?y=1";
  EXPECT_FALSE(RegistryClient::Create(o).ok());
  o.url = "registry.example.com";  // https assumed
  EXPECT_TRUE(RegistryClient::Create(o).ok());
  o.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(RegistryClient::Create(o).status().code(), Code::kInvalidArgument);
}

// ---- interruption and stalls ---------------------------------------------------------

TEST(InterruptTest, NoProgressTimeoutWhenTheServerNeverAnswers) {
  SilentListener silent;
  auto client = MakeClient(silent.url(), "", "", /*timeout_seconds=*/1);
  Call call;
  auto start = Clock::now();
  Status s = client->Ping(call);
  double took = SecondsSince(start);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kTimeout) << s.ToString();
  EXPECT_GE(took, 0.9);
  // A bound against hanging, not a speed bar (ctest -j under ASan is slow).
  EXPECT_LT(took, 20.0) << "the 1 s timeout, not some longer default";
}

TEST(InterruptTest, SlowButMovingIsNotTimedOut) {
  std::string blob = "abcdef";
  FakeServer server([&](const FakeRequest& r) {
    if (r.Path() == "/v2/") return FakeResponse{200, {}, "{}"};
    FakeResponse slow{200, {}, blob};
    slow.trickle_ms = 400;  // 2.4 s in all, one byte at a time
    return slow;
  });
  auto client = MakeClient(server.url(), "", "", /*timeout_seconds=*/1);
  Call call;
  std::string got;
  auto start = Clock::now();
  auto n = client->GetBlob(call, "lib/app", Sha256Of(blob), 0, [&](std::span<const char> d) {
    got.append(d.data(), d.size());
    return Status::OK();
  });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(got, blob);
  EXPECT_GT(SecondsSince(start), 2.0) << "longer than the no-progress timeout, and still fine";
}

TEST(InterruptTest, CancelWhileWaitingForAnAnswer) {
  SilentListener silent;
  auto client = MakeClient(silent.url(), "", "", /*timeout_seconds=*/30);
  std::stop_source source;
  Call call;
  call.stop = source.get_token();
  std::atomic<Clock::time_point> stopped_at{Clock::time_point::max()};
  std::thread stopper([&] {
    // Once the client is connected and waiting for an answer.
    EXPECT_TRUE(WaitUntil([&] { return silent.Connected(); }));
    stopped_at = Clock::now();
    source.request_stop();
  });
  Status s = client->Ping(call);
  const auto returned = Clock::now();
  stopper.join();
  EXPECT_FALSE(s.ok());
  // Cancelled, not the 30 s no-progress timeout; well before it.
  EXPECT_EQ(call.error.kind, ErrorKind::kCancelled) << s.ToString();
  EXPECT_LT(returned - stopped_at.load(), 15s);
}

TEST(InterruptTest, CancelAndTimeoutWhileABodyIsStuck) {
  // The registry answers /v2/, but the upload URL points at a peer that
  // never reads: the PATCH's writes block once the socket buffers are full.
  FakeServer server([&](const FakeRequest&) { return FakeResponse{200, {}, "{}"}; });
  SilentListener sink;
  TempDir dir;
  const uint64_t kSize = 256ull * 1024 * 1024;
  BlobFile file(dir.path() / "sparse", kSize);

  {
    auto client = MakeClient(server.url(), "", "", /*timeout_seconds=*/30);
    std::stop_source source;
    std::atomic<uint64_t> sent{0};
    Call call;
    call.stop = source.get_token();
    call.progress = [&](uint64_t n) { sent = n; };
    std::atomic<Clock::time_point> stopped_at{Clock::time_point::max()};
    std::thread stopper([&] {
      // Once bytes are moving (then the socket buffers fill and it blocks).
      EXPECT_TRUE(WaitUntil([&] { return sent.load() > 0; }));
      stopped_at = Clock::now();
      source.request_stop();
    });
    auto r = client->UploadChunk(call, "lib/app", sink.url() + "/upload", file.Slice(0, kSize));
    const auto returned = Clock::now();
    stopper.join();
    ASSERT_FALSE(r.ok());
    // Cancelled, not the 30 s no-progress timeout; well before it.
    EXPECT_EQ(call.error.kind, ErrorKind::kCancelled) << r.status().ToString();
    EXPECT_LT(returned - stopped_at.load(), 15s);
    EXPECT_GT(sent.load(), 0u);
    EXPECT_LT(sent.load(), kSize);
  }
  {
    auto client = MakeClient(server.url(), "", "", /*timeout_seconds=*/1);
    Call call;
    auto start = Clock::now();
    auto r = client->UploadChunk(call, "lib/app", sink.url() + "/upload", file.Slice(0, kSize));
    double took = SecondsSince(start);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(call.error.kind, ErrorKind::kTimeout) << r.status().ToString();
    EXPECT_LT(took, 20.0) << "the 1 s timeout, not some longer default";
  }
}

TEST(InterruptTest, StopWhileThrottledSendsNothing) {
  TempDir dir;
  std::string blob = testing::RandomBytes(100000, 5);
  BlobFile file(dir.path() / "blob", blob);
  ResumableRegistry reg;
  auto client = MakeClient(reg.url());
  Call call;
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok());
  // Stop is requested while the limiter holds the first piece back.
  std::stop_source source;
  struct StopWhileWaiting : RateLimiter {
    std::stop_source* source;
    bool Acquire(size_t, const std::stop_token& stop) override {
      source->request_stop();
      return !stop.stop_requested();
    }
  } limiter;
  limiter.source = &source;
  Call stopped;
  stopped.stop = source.get_token();
  stopped.limiter = &limiter;
  auto r = client->UploadChunk(stopped, "lib/app", session->location, file.Slice(0, blob.size()));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(stopped.error.kind, ErrorKind::kCancelled);
  auto st = client->GetUploadStatus(call, "lib/app", session->location);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->offset, 0u);
  EXPECT_EQ(reg.incomplete_requests(), 0);
}

}  // namespace
}  // namespace pier::client

namespace pier::client {
namespace {

// A body with no descriptor (a blob in S3) goes out through read_at, chunk
// by chunk, in order; a source that fails or ends early fails the request
// as a local error, and nothing claims the blob.
TEST(ReadAtBodyTest, ChunkedUploadFromAReaderAndItsFailures) {
  ResumableRegistry reg;
  auto client = MakeClient(reg.url());
  std::string blob(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 7919) >> 3);
  const Digest digest = Sha256Of(blob);
  std::vector<uint64_t> asked;
  auto from = [&](uint64_t off, uint64_t len) {
    FileSlice s{-1, off, len};
    s.read_at = [&](uint64_t at, std::span<char> out) -> Result<size_t> {
      asked.push_back(at);
      const size_t n = std::min<size_t>(out.size(), blob.size() - std::min<size_t>(at, blob.size()));
      std::copy_n(blob.data() + at, n, out.data());
      return n;
    };
    return s;
  };
  Call call;
  auto session = client->StartUpload(call, "lib/app");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto first = client->UploadChunk(call, "lib/app", session->location, from(0, 1 << 20));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->offset, 1u << 20);
  FileSlice rest = from(first->offset, blob.size() - first->offset);
  auto done = client->FinishUpload(call, "lib/app", first->location, digest, &rest);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(std::is_sorted(asked.begin(), asked.end())) << "reads go forward";
  {
    std::lock_guard lock(reg.mu);
    EXPECT_TRUE(reg.blobs[digest.str()] == blob);
  }

  // A failing source: a local error naming the reason.
  FileSlice broken{-1, 0, 1000};
  broken.read_at = [](uint64_t, std::span<char>) -> Result<size_t> { return Status::Unavailable("S3 said 503"); };
  auto r = client->UploadBlob(call, "lib/app", Sha256Of("x"), broken);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kLocal);
  EXPECT_NE(r.status().message().find("S3 said 503"), std::string::npos) << r.status().message();
  // A source shorter than the slice.
  FileSlice shorter{-1, 0, 1000};
  shorter.read_at = [](uint64_t, std::span<char>) -> Result<size_t> { return size_t{0}; };
  r = client->UploadBlob(call, "lib/app", Sha256Of("y"), shorter);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kLocal);
}

}  // namespace
}  // namespace pier::client
