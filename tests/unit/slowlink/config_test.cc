#include "bench/slowlink/config.h"

#include <gtest/gtest.h>

#include <vector>

namespace pier::slowlink {
namespace {

ParseResult Parse(std::vector<std::string_view> args) { return ParseFlags(args); }

TEST(SlowlinkConfigTest, ParsesEveryFlag) {
  auto r = Parse({"--listen", "127.0.0.1:0", "--target=127.0.0.1:5000", "--rate", "1000000",
                  "--rate-per-conn=500000", "--latency-ms", "40", "--cut-after", "1048576", "--cut-every",
                  "3", "--stats-file", "/tmp/s.json", "--direction", "both"});
  ASSERT_TRUE(r.config) << r.error;
  const Config& c = *r.config;
  EXPECT_EQ(c.listen.address().to_string(), "127.0.0.1");
  EXPECT_EQ(c.listen.port(), 0);
  EXPECT_EQ(c.target.port(), 5000);
  EXPECT_EQ(c.rate, 1'000'000u);
  EXPECT_EQ(c.rate_per_conn, 500'000u);
  EXPECT_EQ(c.latency, std::chrono::milliseconds(40));
  EXPECT_EQ(c.cut_after, 1'048'576u);
  EXPECT_EQ(c.cut_every, 3u);
  EXPECT_EQ(c.stats_file, "/tmp/s.json");
  EXPECT_TRUE(c.limit_down);
}

TEST(SlowlinkConfigTest, DefaultsAreAnUnshapedLink) {
  auto r = Parse({"--listen", "127.0.0.1:7000", "--target", "[::1]:5000"});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->rate, 0u);
  EXPECT_EQ(r.config->rate_per_conn, 0u);
  EXPECT_EQ(r.config->latency.count(), 0);
  EXPECT_FALSE(r.config->cut_after);
  EXPECT_EQ(r.config->cut_every, 1u);
  EXPECT_FALSE(r.config->limit_down);
  EXPECT_TRUE(r.config->target.address().is_v6());
}

TEST(SlowlinkConfigTest, CutAfterZeroIsAllowed) {
  auto r = Parse({"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cut-after", "0"});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->cut_after, 0u);
}

TEST(SlowlinkConfigTest, CutDownAfterCutsDownloads) {
  auto r = Parse({"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cut-down-after", "5000000", "--cut-every", "2"});
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->cut_down_after, 5'000'000u);
  EXPECT_FALSE(r.config->cut_after);
  EXPECT_EQ(r.config->cut_every, 2u);
  EXPECT_FALSE(Parse({"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cut-down-after", "0"}).config);
}

TEST(SlowlinkConfigTest, Help) { EXPECT_TRUE(Parse({"--help"}).help); }

TEST(SlowlinkConfigTest, RejectsBadInput) {
  const std::vector<std::vector<std::string_view>> bad = {
      {},
      {"--listen", "127.0.0.1:0"},
      {"--target", "127.0.0.1:1"},
      {"--listen", "localhost:0", "--target", "127.0.0.1:1"},
      {"--listen", "127.0.0.1", "--target", "127.0.0.1:1"},
      {"--listen", "127.0.0.1:70000", "--target", "127.0.0.1:1"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--rate", "0"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--rate", "1M"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--rate", "-5"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--rate"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--latency-ms", "600000"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--direction", "down"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cut-every", "2"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--cut-after", "1", "--cut-every", "0"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--bogus", "1"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--bogus=1"},
      {"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "stray"},
      {"--listen", "127.0.0.1:0", "--listen", "127.0.0.1:1", "--target", "127.0.0.1:1"},
  };
  for (const auto& args : bad) {
    auto r = Parse(args);
    std::string joined;
    for (auto a : args) joined += std::string(a) + " ";
    EXPECT_FALSE(r.config) << joined;
    EXPECT_FALSE(r.error.empty()) << joined;
  }
}

TEST(SlowlinkConfigTest, UsageNamesEveryFlag) {
  const std::string u = Usage("slowlink");
  for (const char* flag : {"--listen", "--target", "--rate ", "--rate-per-conn", "--latency-ms",
                           "--cut-after", "--cut-every", "--stats-file", "--direction"}) {
    EXPECT_NE(u.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace pier::slowlink
