// ES256 JWT: base64url, sign/verify round trip, and every way a token must be refused.
#include "adapter/auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <sys/stat.h>

#include <algorithm>

#include "tests/unit/auth/token_test_util.h"

namespace pier::auth {
namespace {

using testing::MakeKey;
using testing::ScratchDir;

TEST(Base64Url, KnownVectorsAndRoundTrip) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n < all.size(); n += 37) {
    std::string out;
    ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode(all.substr(0, n)), &out));
    EXPECT_EQ(out, all.substr(0, n));
  }
  std::string out;
  EXPECT_TRUE(Base64UrlDecode("Zg==", &out));
  EXPECT_EQ(out, "f");
  EXPECT_FALSE(Base64UrlDecode("+/8", &out)) << "standard alphabet is not base64url";
  EXPECT_FALSE(Base64UrlDecode("Z", &out));
  EXPECT_FALSE(Base64UrlDecode("Zm9v!", &out));
  EXPECT_FALSE(Base64UrlDecode("Zh", &out)) << "non-canonical spelling of \"f\"";
  EXPECT_FALSE(Base64UrlDecode("Zm9", &out)) << "non-canonical spelling of \"fo\"";
  EXPECT_TRUE(Base64UrlDecode("Zm8", &out));
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = MakeKey(dir_.path() / "a");
    other_ = MakeKey(dir_.path() / "b");
    ASSERT_TRUE(key_ && other_);
  }
  std::string Sign(std::string_view header, std::string_view payload) {
    auto t = SignEs256(header, payload, key_->pkey());
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : "";
  }

  ScratchDir dir_;
  std::shared_ptr<const TokenKey> key_, other_;
};

constexpr char kHeader[] = R"({"typ":"JWT","alg":"ES256"})";
constexpr char kPayload[] = R"({"sub":"alice","access":[]})";

TEST_F(JwtTest, SignVerifyRoundTrip) {
  std::string token = Sign(kHeader, kPayload);
  ASSERT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  auto v = VerifyEs256(token, key_->pkey());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->header_json, kHeader);
  EXPECT_EQ(v->payload_json, kPayload);
  // The signature part is r || s: 64 bytes, 86 base64url characters.
  EXPECT_EQ(token.size() - token.rfind('.') - 1, 86u);
}

TEST_F(JwtTest, TamperedPayloadRefused) {
  std::string token = Sign(kHeader, kPayload);
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string forged =
      token.substr(0, d1 + 1) + Base64UrlEncode(R"({"sub":"admin","access":[]})") + token.substr(d2);
  auto v = VerifyEs256(forged, key_->pkey());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("signature"), std::string::npos) << v.status().message();
}

TEST_F(JwtTest, TamperedSignatureRefused) {
  std::string token = Sign(kHeader, kPayload);
  // Flip one signature character (position well inside r, so the decoded bytes change).
  size_t pos = token.rfind('.') + 10;
  token[pos] = token[pos] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyEs256(token, key_->pkey()).ok());
  // A truncated signature is refused too.
  std::string good = Sign(kHeader, kPayload);
  EXPECT_FALSE(VerifyEs256(good.substr(0, good.size() - 4), key_->pkey()).ok());
}

TEST_F(JwtTest, OtherKeyRefused) {
  std::string token = Sign(kHeader, kPayload);
  EXPECT_FALSE(VerifyEs256(token, other_->pkey()).ok());
}

TEST_F(JwtTest, AlgNoneAndOthersRefused) {
  std::string payload = Base64UrlEncode(kPayload);
  for (std::string alg : {"none", "None", "HS256", "RS256", "ES384", "es256"}) {
    std::string header = Base64UrlEncode(R"({"typ":"JWT","alg":")" + alg + R"("})");
    auto v = VerifyEs256(header + "." + payload + ".", key_->pkey());
    ASSERT_FALSE(v.ok()) << alg;
    EXPECT_NE(v.status().message().find("ES256"), std::string::npos) << alg << ": " << v.status().message();
  }
  // A valid ES256 signature does not make a header claiming "none" acceptable.
  std::string none = Sign(R"({"alg":"none"})", kPayload);
  EXPECT_FALSE(VerifyEs256(none, key_->pkey()).ok());
  // Header without alg.
  EXPECT_FALSE(VerifyEs256(Sign(R"({"typ":"JWT"})", kPayload), key_->pkey()).ok());
}

TEST_F(JwtTest, MalformedRefused) {
  for (std::string bad : {"", "a", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.", "..", "bm90IGpzb24.e30.AAAA"}) {
    EXPECT_FALSE(VerifyEs256(bad, key_->pkey()).ok()) << bad;
  }
}

TEST_F(JwtTest, OnlyP256Keys) {
  EVP_PKEY* p384 = EVP_EC_gen("P-384");
  ASSERT_NE(p384, nullptr);
  EXPECT_FALSE(SignEs256(kHeader, kPayload, p384).ok());
  EXPECT_FALSE(VerifyEs256(Sign(kHeader, kPayload), p384).ok());
  EVP_PKEY_free(p384);
}

TEST(TokenKey, GeneratedOnceThenReused) {
  ScratchDir dir;
  auto first = TokenKey::LoadOrCreate(dir.path() / "token");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "token" / "token.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ((*first)->cert_file(), dir.path() / "token" / "token.crt");
  auto second = TokenKey::LoadOrCreate(dir.path() / "token");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ((*first)->cert_der_base64(), (*second)->cert_der_base64());
  // Same key: a token signed by the first verifies with the second.
  auto t = SignEs256(kHeader, kPayload, (*first)->pkey());
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(VerifyEs256(*t, (*second)->pkey()).ok());
}

TEST(TokenKey, MismatchedCertificateRefused) {
  ScratchDir dir;
  ASSERT_TRUE(TokenKey::LoadOrCreate(dir.path() / "a").ok());
  ASSERT_TRUE(TokenKey::LoadOrCreate(dir.path() / "b").ok());
  auto mixed = TokenKey::Load(dir.path() / "a" / "token.key", dir.path() / "b" / "token.crt");
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("does not belong"), std::string::npos) << mixed.status().message();
  auto missing = TokenKey::Load(dir.path() / "nope.key", dir.path() / "a" / "token.crt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.key"), std::string::npos);
}

TEST(TokenKey, CertificateMadeForAKeyLeftWithoutOne) {
  ScratchDir dir;
  auto first = TokenKey::LoadOrCreate(dir.path());
  ASSERT_TRUE(first.ok());
  std::filesystem::remove(dir.path() / "token.crt");
  auto again = TokenKey::LoadOrCreate(dir.path());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto t = SignEs256(kHeader, kPayload, (*first)->pkey());
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(VerifyEs256(*t, (*again)->pkey()).ok()) << "the key was kept";
}

}  // namespace
}  // namespace pier::auth
