// The Docker token flow (what Aliyun ACR runs: 401 Bearer challenge, token
// realm with Basic credentials, scoped JWTs) against a real docker-registry
// configured for token auth. The token realm is a small server in the test
// that signs ES256 JWTs (with Pier's own token service, adapter/auth/token.h)
// using a throw-away key whose certificate is the registry's rootcertbundle
// (the certificate travels in the JWT's x5c).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <set>

#include "adapter/auth/token.h"
#include "adapter/client/registry_client.h"
#include "base/digest.h"
#include "tests/unit/client/registry_process.h"
#include "tests/unit/client/test_util.h"
#include "tests/unit/common/peers.h"

namespace pier::client {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeServer;
using testing::RegistryConfig;
using testing::RegistryProcess;
using testing::TempDir;

constexpr char kService[] = "pier-test-registry";
constexpr char kIssuer[] = "pier-test-issuer";
constexpr char kAliceBasic[] = "Basic YWxpY2U6c2VjcmV0";  // alice:secret

// Signs registry tokens with Pier's production token service (ES256 JWTs
// with the certificate in x5c), granting exactly the scopes given.
class TokenIssuer {
 public:
  bool Load(const std::filesystem::path& key_file, const std::filesystem::path& cert_file) {
    auto key = auth::TokenKey::Load(key_file, cert_file);
    if (!key.ok()) return false;
    auth::TokenOptions options;
    options.issuer = kIssuer;
    options.service = kService;
    // Issue() takes the grants as given; the authorizer only matters to Grant().
    auto open = std::make_shared<auth::Authorizer>(std::nullopt, std::vector<auth::AclRule>{}, false);
    service_ = std::make_unique<auth::TokenService>(*key, open, options);
    return true;
  }

  // A token granting `scopes` ("repository:a/b:pull,push", "registry:catalog:*").
  std::string Issue(const std::string& subject, const std::vector<std::string>& scopes) const {
    std::vector<auth::Scope> granted;
    for (const std::string& s : scopes) {
      auto parsed = auth::ParseScope(s);
      if (parsed.ok()) granted.push_back(*parsed);
    }
    auth::Identity who;
    who.anonymous = false;
    who.user = subject;
    auto token = service_->Issue(who, granted);
    return token.ok() ? token->token : "";
  }

 private:
  std::unique_ptr<auth::TokenService> service_;
};

class DockerRegistryTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string openssl = testing::FindProgram("openssl");
    if (openssl.empty()) PIER_MISSING_PEER("openssl is not installed");
    auto key = dir_.path() / "token.key";
    auto cert = dir_.path() / "token.crt";
    std::string cmd = openssl +
                      " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
                      "/CN=pier-test-token-signer -keyout " +
                      key.string() + " -out " + cert.string() + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    ASSERT_TRUE(issuer_.Load(key, cert));
    realm_ = std::make_unique<FakeServer>([this](const FakeRequest& r) { return Token(r); });
    RegistryConfig config;
    config.token_realm = realm_->url() + "/token";
    config.token_service = kService;
    config.token_issuer = kIssuer;
    config.token_root_cert_file = cert.string();
    std::string why;
    registry_ = RegistryProcess::Start(dir_.path() / "registry", config, &why);
    if (!registry_) {
      if (why.find("not installed") != std::string::npos) PIER_MISSING_PEER(why);
      FAIL() << why;
    }
  }

  void TearDown() override {
    if (HasFailure() && registry_) std::cerr << "---- docker-registry log ----\n" << registry_->log() << "\n";
  }

  FakeResponse Token(const FakeRequest& r) {
    std::lock_guard lock(mu_);
    ++token_requests_;
    if (r.Path() != "/token" || r.Header("authorization") != kAliceBasic) {
      return FakeResponse{401, {}, R"({"details":"authentication failed"})"};
    }
    std::vector<std::string> granted;
    for (const std::string& s : testing::QueryValues(r.Query(), "scope")) {
      asked_.insert(s);
      // A read-only account: push is dropped from what it asks.
      if (read_only_ && s.rfind("repository:", 0) == 0) {
        granted.push_back(s.substr(0, s.rfind(':') + 1) + "pull");
      } else {
        granted.push_back(s);
      }
    }
    FakeResponse ok{200, {{"Content-Type", "application/json"}}, ""};
    ok.body = R"({"token":")" + issuer_.Issue("alice", granted) + R"(","expires_in":300})";
    return ok;
  }

  std::unique_ptr<RegistryClient> Client(const std::string& password = "secret") {
    ClientOptions o;
    o.url = registry_->url();
    o.username = "alice";
    o.password = password;
    auto c = RegistryClient::Create(o);
    EXPECT_TRUE(c.ok());
    return std::move(c).value();
  }

  TempDir dir_;
  TokenIssuer issuer_;
  std::unique_ptr<FakeServer> realm_;
  std::unique_ptr<RegistryProcess> registry_;
  std::mutex mu_;
  int token_requests_ = 0;
  std::set<std::string> asked_;
  bool read_only_ = false;
};

TEST_F(DockerRegistryTokenTest, PushAndPullWithScopedTokens) {
  auto client = Client();
  Call call;
  Status ping = client->Ping(call);
  ASSERT_TRUE(ping.ok()) << ping.ToString();

  std::string blob = testing::RandomBytes(700000, 21);
  testing::WriteFile(dir_.path() / "blob", blob);
  int fd = ::open((dir_.path() / "blob").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  Digest digest = Sha256Of(blob);
  auto session = client->StartUpload(call, "team/app");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto half = client->UploadChunk(call, "team/app", session->location, FileSlice{fd, 0, 300000});
  ASSERT_TRUE(half.ok()) << half.status().ToString();
  FileSlice rest{fd, half->offset, blob.size() - half->offset};
  auto done = client->FinishUpload(call, "team/app", half->location, digest, &rest);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  ::close(fd);

  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                         digest.str() + R"(","size":)" + std::to_string(blob.size()) + R"(},"layers":[]})";
  auto put =
      client->PutManifest(call, "team/app", "v1", "application/vnd.oci.image.manifest.v1+json", manifest);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto head = client->HeadManifest(call, "team/app", "v1");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->digest, *put);
  auto tags = client->ListTags(call, "team/app");
  ASSERT_TRUE(tags.ok()) << tags.status().ToString();
  EXPECT_EQ(*tags, std::vector<std::string>{"v1"});

  auto mounted = client->MountBlob(call, "team/other", digest, "team/app");
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString();
  EXPECT_TRUE(mounted->mounted);
  auto catalog = client->Catalog(call);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ(*catalog, (std::vector<std::string>{"team/app", "team/other"}));

  std::lock_guard lock(mu_);
  EXPECT_EQ(asked_, (std::set<std::string>{"repository:team/app:pull,push", "repository:team/app:pull",
                                           "repository:team/other:pull,push", "registry:catalog:*"}));
  EXPECT_LE(token_requests_, 6) << "tokens are cached per scope set";
}

TEST_F(DockerRegistryTokenTest, RefusedCredentialsAndMissingPushRightAreAuthFailures) {
  Call call;
  Status wrong = Client("wrong")->Ping(call);
  EXPECT_FALSE(wrong.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kAuth) << wrong.ToString();

  {
    std::lock_guard lock(mu_);
    read_only_ = true;
  }
  auto client = Client();
  auto head = client->HeadBlob(call, "team/app", Sha256Of("x"));
  EXPECT_EQ(head.status().code(), Code::kNotFound) << "pull works: " << head.status().ToString();
  auto push = client->StartUpload(call, "team/app");
  ASSERT_FALSE(push.ok());
  EXPECT_EQ(call.error.kind, ErrorKind::kAuth) << push.status().ToString();
  EXPECT_EQ(call.error.http_status, 401);
  EXPECT_EQ(call.error.registry_code, "UNAUTHORIZED");
}

}  // namespace
}  // namespace pier::client
