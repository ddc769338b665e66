#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "adapter/auth/auth.h"

namespace pier::auth {
namespace {

// Made with `htpasswd -nbB alice wonderland` and `htpasswd -nbB -C 4 bob 's3cret:with:colons'`.
constexpr char kAlice[] = "alice:$2y$05$GUucEpfdHZr68y.LxdpeAecCYRUHV9fXaUi9ZZT3Ym5mAC3uH6Z7G";
constexpr char kBob[] = "bob:$2y$04$bQMDssRzTO6L9.cfBGK9ZOt1AkRx30cLpTbOdxmIXahbAyQRg9E3C";
// `openssl passwd -6 -salt saltsalt hunter2`, `openssl passwd -5 -salt abc pw5`.
constexpr char kDave[] =
    "dave:$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/GZ6Nej73/TFug6pIPSqbJoCT6dfnj.";
constexpr char kErin[] = "erin:$5$abc$hzrSCW5v7voPgQ.tX/hn5IklZAdaK45cfNwoEEPGhA5";
// crypt("roundpw", "$6$rounds=5000$abcd$").
constexpr char kFrank[] =
    "frank:$6$rounds=5000$abcd$i5Zv/fq7pY3syUKgiXscDbn1a0h1S5rLlKwbjJjqbR4DS1nKQLuN/IA.bFFMoOtpp/"
    "lt.hmU.BWpe.q5X/"
    "tKp1";

std::string Lines(std::initializer_list<std::string> lines, const char* eol = "\n") {
  std::string out;
  for (const auto& l : lines) out += l + eol;
  return out;
}

TEST(Htpasswd, ParsesAndVerifiesBcrypt) {
  auto h = Htpasswd::Parse(Lines({kAlice, kBob}));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->size(), 2u);
  EXPECT_TRUE(h->Verify("alice", "wonderland"));
  EXPECT_TRUE(h->Verify("bob", "s3cret:with:colons"));
  EXPECT_FALSE(h->Verify("alice", "wonderland2"));
  EXPECT_FALSE(h->Verify("alice", "Wonderland"));
  EXPECT_FALSE(h->Verify("alice", ""));
  EXPECT_FALSE(h->Verify("bob", "wonderland"));
}

TEST(Htpasswd, BcryptVariants2a2b) {
  std::string b = std::string(kAlice).replace(7, 2, "2b");
  std::string a = std::string(kBob).replace(5, 2, "2a");
  auto h = Htpasswd::Parse(Lines({b, a}));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->Verify("alice", "wonderland"));
  EXPECT_TRUE(h->Verify("bob", "s3cret:with:colons"));
  EXPECT_FALSE(h->Verify("alice", "nope"));
}

TEST(Htpasswd, ShaCrypt) {
  auto h = Htpasswd::Parse(Lines({kDave, kErin, kFrank}));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->Verify("dave", "hunter2"));
  EXPECT_TRUE(h->Verify("erin", "pw5"));
  EXPECT_TRUE(h->Verify("frank", "roundpw"));
  EXPECT_FALSE(h->Verify("dave", "hunter3"));
  EXPECT_FALSE(h->Verify("erin", "hunter2"));
  EXPECT_FALSE(h->Verify("frank", "roundpw "));
}

TEST(Htpasswd, UnknownUserAndEmbeddedNul) {
  auto h = Htpasswd::Parse(Lines({kAlice}));
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->Verify("mallory", "wonderland"));
  EXPECT_FALSE(h->Verify("", "wonderland"));
  EXPECT_FALSE(h->Verify("alice", std::string("wonderland\0x", 12)));
  auto empty = Htpasswd::Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_FALSE(empty->Verify("alice", "wonderland"));
}

TEST(Htpasswd, CommentsBlankLinesAndCrlf) {
  std::string text = "# users\r\n\r\n   \r\n" + std::string(kAlice) + "\r\n  # indented comment\r\n" + kDave;
  auto h = Htpasswd::Parse(text);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->size(), 2u);
  EXPECT_TRUE(h->Verify("alice", "wonderland"));
  EXPECT_TRUE(h->Verify("dave", "hunter2"));
}

// An entry Pier cannot verify is left out with a warning naming the line;
// everyone else keeps working (one stale line must not lock all users out).
TEST(Htpasswd, UnsupportedSchemeLeavesOutOnlyThatEntry) {
  auto h = Htpasswd::Parse(Lines({"# comment", kAlice, "carol:$apr1$7IiazcwF$B9VpfmPTDVOqMZ/kjyGec."}));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->size(), 1u);
  EXPECT_TRUE(h->Verify("alice", "wonderland"));
  EXPECT_FALSE(h->Verify("carol", "anything"));
  ASSERT_EQ(h->warnings().size(), 1u);
  EXPECT_EQ(h->warnings()[0], "line 3: user carol left out: unsupported hash scheme $apr1$; use htpasswd -B");

  auto sha1 = Htpasswd::Parse("u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n");
  ASSERT_TRUE(sha1.ok());
  EXPECT_EQ(sha1->size(), 0u);
  ASSERT_EQ(sha1->warnings().size(), 1u);
  EXPECT_EQ(sha1->warnings()[0], "line 1: user u left out: unsupported hash scheme {SHA}; use htpasswd -B");

  auto plain = Htpasswd::Parse("u:secretpassword\n");
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->warnings().size(), 1u);
  EXPECT_NE(plain->warnings()[0].find("line 1: user u left out: unsupported hash scheme"), std::string::npos);
  EXPECT_EQ(plain->warnings()[0].find("secretpassword"), std::string::npos) << "must not echo the hash";

  auto md5 = Htpasswd::Parse("u:$1$abc$def\n");
  ASSERT_TRUE(md5.ok());
  ASSERT_EQ(md5->warnings().size(), 1u);
  EXPECT_EQ(md5->warnings()[0], "line 1: user u left out: unsupported hash scheme $1$; use htpasswd -B");
}

TEST(Htpasswd, MalformedLines) {
  auto no_colon = Htpasswd::Parse("alice\n");
  ASSERT_FALSE(no_colon.ok());
  EXPECT_EQ(no_colon.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(no_colon.status().message(), "line 1: expected user:hash");

  auto no_user = Htpasswd::Parse(":$2y$05$GUucEpfdHZr68y.LxdpeAecCYRUHV9fXaUi9ZZT3Ym5mAC3uH6Z7G\n");
  EXPECT_FALSE(no_user.ok());

  auto truncated = Htpasswd::Parse(Lines({kAlice, "x:$2y$05$GUucEpfdHZr68y"}));
  ASSERT_TRUE(truncated.ok());
  EXPECT_TRUE(truncated->Verify("alice", "wonderland"));
  ASSERT_EQ(truncated->warnings().size(), 1u);
  EXPECT_EQ(truncated->warnings()[0], "line 2: user x left out: malformed bcrypt hash");

  auto bad_sha = Htpasswd::Parse("x:$6$salt$short\n");
  ASSERT_TRUE(bad_sha.ok());
  ASSERT_EQ(bad_sha->warnings().size(), 1u);
  EXPECT_NE(bad_sha->warnings()[0].find("malformed sha-crypt"), std::string::npos);

  auto dup = Htpasswd::Parse(Lines({kAlice, kAlice}));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "line 2: duplicate user alice");
  // A duplicate stays an error when one of the two lines is left out: which was meant is unknowable.
  auto dup_left_out = Htpasswd::Parse(Lines({"alice:$apr1$7IiazcwF$B9VpfmPTDVOqMZ/kjyGec.", kAlice}));
  ASSERT_FALSE(dup_left_out.ok());
  EXPECT_EQ(dup_left_out.status().message(), "line 2: duplicate user alice");

  auto reserved = Htpasswd::Parse("anonymous:$2y$05$GUucEpfdHZr68y.LxdpeAecCYRUHV9fXaUi9ZZT3Ym5mAC3uH6Z7G\n");
  ASSERT_FALSE(reserved.ok());
  EXPECT_NE(reserved.status().message().find("reserved"), std::string::npos);
}

TEST(Htpasswd, Load) {
  auto dir = std::filesystem::temp_directory_path() / ("pier-htpasswd-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "ok") << kAlice << "\n" << kErin << "\n";
    std::ofstream(dir / "bad") << kAlice << "\ncarol:$apr1$7IiazcwF$B9VpfmPTDVOqMZ/kjyGec.\n";
  }
  auto ok = Htpasswd::Load(dir / "ok");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->Verify("erin", "pw5"));

  auto bad = Htpasswd::Load(dir / "bad");
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  EXPECT_TRUE(bad->Verify("alice", "wonderland"));
  ASSERT_EQ(bad->warnings().size(), 1u);
  EXPECT_EQ(bad->warnings()[0], (dir / "bad").string() + ": line 2: user carol left out: unsupported hash scheme $apr1$; use htpasswd -B");

  auto missing = Htpasswd::Load(dir / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kIOError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pier::auth
