// The Docker token flow (what Aliyun ACR runs: 401 Bearer challenge, token
// realm with Basic credentials, scoped JWTs) against a real docker-registry
// configured for token auth. The token realm is a small server in the test
// that signs ES256 JWTs with a throw-away key whose certificate is the
// registry's rootcertbundle (the certificate travels in the JWT's x5c).
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <set>

#include "adapter/client/registry_client.h"
#include "cache/digest.h"
#include "tests/unit/client/registry_process.h"
#include "tests/unit/client/test_util.h"

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

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string Base64Url(const std::string& s) {
  std::string b = Base64(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  for (char& c : b) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

// Signs registry tokens: ES256 JWTs with the certificate in x5c.
class TokenIssuer {
 public:
  bool Load(const std::filesystem::path& key_file, const std::filesystem::path& cert_file) {
    FILE* k = std::fopen(key_file.c_str(), "r");
    if (k == nullptr) return false;
    key_ = PEM_read_PrivateKey(k, nullptr, nullptr, nullptr);
    std::fclose(k);
    FILE* c = std::fopen(cert_file.c_str(), "r");
    if (c == nullptr) return false;
    X509* cert = PEM_read_X509(c, nullptr, nullptr, nullptr);
    std::fclose(c);
    if (key_ == nullptr || cert == nullptr) return false;
    unsigned char* der = nullptr;
    int len = i2d_X509(cert, &der);
    cert_der_b64_ = Base64(der, static_cast<size_t>(len));
    OPENSSL_free(der);
    X509_free(cert);
    return true;
  }
  ~TokenIssuer() { EVP_PKEY_free(key_); }

  // A token granting `scopes` ("repository:a/b:pull,push", "registry:catalog:*").
  std::string Issue(const std::string& subject, const std::vector<std::string>& scopes) const {
    std::string header = R"({"typ":"JWT","alg":"ES256","x5c":[")" + cert_der_b64_ + R"("]})";
    std::string access = "[";
    for (size_t i = 0; i < scopes.size(); ++i) {
      const std::string& s = scopes[i];
      size_t first = s.find(':');
      size_t last = s.rfind(':');
      if (first == std::string::npos || first == last) continue;
      std::string actions = "[";
      std::string list = s.substr(last + 1);
      size_t p = 0;
      while (p <= list.size()) {
        size_t comma = list.find(',', p);
        if (actions.size() > 1) actions += ",";
        actions += "\"" + list.substr(p, comma == std::string::npos ? std::string::npos : comma - p) + "\"";
        if (comma == std::string::npos) break;
        p = comma + 1;
      }
      actions += "]";
      if (access.size() > 1) access += ",";
      access += R"({"type":")" + s.substr(0, first) + R"(","name":")" +
                s.substr(first + 1, last - first - 1) + R"(","actions":)" + actions + "}";
    }
    access += "]";
    long now = static_cast<long>(std::time(nullptr));
    std::string claims = R"({"iss":")" + std::string(kIssuer) + R"(","sub":")" + subject + R"(","aud":")" +
                         kService + R"(","exp":)" + std::to_string(now + 300) + R"(,"nbf":)" +
                         std::to_string(now - 10) + R"(,"iat":)" + std::to_string(now) + R"(,"jti":")" +
                         std::to_string(++serial_) + R"(","access":)" + access + "}";
    std::string input = Base64Url(header) + "." + Base64Url(claims);
    return input + "." + Base64Url(Sign(input));
  }

 private:
  // ES256: the DER ECDSA signature re-encoded as r || s, 32 bytes each.
  std::string Sign(const std::string& input) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    std::string der;
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1) {
      der.resize(len);
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size());
      der.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    std::string raw(64, '\0');
    if (sig != nullptr) {
      const BIGNUM* r = nullptr;
      const BIGNUM* s = nullptr;
      ECDSA_SIG_get0(sig, &r, &s);
      BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(sig);
    }
    return raw;
  }

  EVP_PKEY* key_ = nullptr;
  std::string cert_der_b64_;
  mutable int serial_ = 0;
};

class DockerRegistryTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string openssl = testing::FindProgram("openssl");
    if (openssl.empty()) GTEST_SKIP() << "openssl is not installed";
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
      if (why.find("not installed") != std::string::npos) GTEST_SKIP() << why;
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
