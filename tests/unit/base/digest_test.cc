#include "base/digest.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

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

namespace pier {
namespace {

// The saved state continues the hash exactly, at every split of the input
// (inside a block, on a block boundary, past 2^32 bits is covered by the
// length field's arithmetic, checked separately below).
TEST(Sha256State, RestoreContinuesAtEverySplit) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  const Digest want = Sha256Of(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    Sha256 h;
    h.Update(std::string_view(data).substr(0, split));
    const std::string saved = h.SaveState();
    EXPECT_LT(saved.size(), 250u);
    auto restored = Sha256::RestoreState(saved);
    ASSERT_TRUE(restored.ok()) << restored.status().message() << " at " << split;
    EXPECT_EQ(restored->bytes(), split);
    restored->Update(std::string_view(data).substr(split));
    ASSERT_EQ(restored->Finish(), want) << "split at " << split;
  }
}

TEST(Sha256State, LargeCountsSurvive) {
  // 5 GiB of zeros would take too long; hash 600 MiB in 1 MiB pieces
  // (past 2^32 bits), save, restore, finish, and compare with a straight run.
  const std::string mib(1 << 20, '\0');
  Sha256 straight, first;
  for (int i = 0; i < 600; ++i) {
    straight.Update(mib);
    first.Update(mib);
  }
  straight.Update(std::string_view("tail"));
  auto restored = Sha256::RestoreState(first.SaveState());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->bytes(), 600ull << 20);
  restored->Update(std::string_view("tail"));
  EXPECT_EQ(restored->Finish(), straight.Finish());
}

TEST(Sha256State, RejectsMalformedStates) {
  Sha256 h;
  h.Update(std::string_view("abc"));
  const std::string good = h.SaveState();
  std::vector<std::string> bad = {"", "sha256v1", "sha256v2" + good.substr(8), good + "00",
                                  good.substr(0, good.size() - 2), "sha256v1:x:" + good.substr(11)};
  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  bad.push_back(upper);
  for (const std::string& s : bad) {
    auto r = Sha256::RestoreState(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kCorruption);
    }
  }
}

}  // namespace
}  // namespace pier
