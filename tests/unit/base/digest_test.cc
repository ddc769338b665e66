#include "base/digest.h"

#include <gtest/gtest.h>

namespace pier {
namespace {

const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kAbcSha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(DigestParse, AcceptsSha256) {
  auto d = Digest::Parse("sha256:" + kAbcSha);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_EQ(d->hex, kAbcSha);
  EXPECT_EQ(d->str(), "sha256:" + kAbcSha);
}

TEST(DigestParse, RejectsUpperCaseHex) {
  std::string upper = kAbcSha;
  upper[0] = 'B';
  EXPECT_EQ(Digest::Parse("sha256:" + upper).status().code(), Code::kInvalidArgument);
}

TEST(DigestParse, RejectsWrongLength) {
  EXPECT_EQ(Digest::Parse("sha256:" + kAbcSha.substr(1)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Digest::Parse("sha256:" + kAbcSha + "0").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Digest::Parse("sha256:abc").status().code(), Code::kInvalidArgument);
}

TEST(DigestParse, Sha512IsUnsupportedWhenWellFormed) {
  EXPECT_EQ(Digest::Parse("sha512:" + kAbcSha + kAbcSha).status().code(), Code::kUnsupported);
  EXPECT_EQ(Digest::Parse("sha512:" + kAbcSha).status().code(), Code::kInvalidArgument);
}

TEST(DigestParse, OtherWellFormedAlgorithmsAreUnsupported) {
  EXPECT_EQ(Digest::Parse("blake3:abcDEF012=_-").status().code(), Code::kUnsupported);
  EXPECT_EQ(Digest::Parse("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564").status().code(),
            Code::kUnsupported);
}

TEST(DigestParse, RejectsGarbage) {
  for (const char* bad : {"", "sha256", ":", ":abc", "sha256:", "SHA256:abc", "sha256:x", "a..b:abc",
                          "+a:abc", "a+:abc", "alg:ab/cd", "alg:ab cd", "alg:abc\n"}) {
    EXPECT_EQ(Digest::Parse(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  std::string nonhex(64, 'g');
  EXPECT_EQ(Digest::Parse("sha256:" + nonhex).status().code(), Code::kInvalidArgument);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Of("").hex, kEmptySha);
  EXPECT_EQ(Sha256Of("abc").hex, kAbcSha);
  EXPECT_EQ(Sha256Of("abc").algorithm, "sha256");
}

TEST(Sha256, IncrementalMatchesOneShot) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  Sha256 h;
  for (size_t off = 0; off < data.size(); off += 777) h.Update(std::string_view(data).substr(off, 777));
  EXPECT_EQ(h.Finish(), Sha256Of(data));
}

TEST(Sha256, Movable) {
  Sha256 a;
  a.Update(std::string_view("a"));
  Sha256 b = std::move(a);
  b.Update(std::string_view("bc"));
  Sha256 c;
  c = std::move(b);
  EXPECT_EQ(c.Finish().hex, kAbcSha);
}

}  // namespace
}  // namespace pier
