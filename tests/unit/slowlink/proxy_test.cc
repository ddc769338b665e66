// End-to-end checks of the proxy, in-process: real sockets on loopback,
// blocking peers from harness.h, the proxy on its own io_context thread.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/unit/slowlink/harness.h"

namespace slowlink_test {
namespace {

using pier::slowlink::Config;

Config Shape(std::function<void(Config&)> f = nullptr) {
  Config c;
  if (f) f(c);
  return c;
}

// Sends n bytes on a fresh connection, half-closes, and returns when the
// sink has seen the connection end.
void SendThrough(const ProxyRunner& proxy, const Peer& sink, size_t index, uint64_t n) {
  Fd c = ConnectTo(proxy.port());
  ASSERT_GE(c.get(), 0);
  EXPECT_EQ(SendPattern(c.get(), n), n);
  ::shutdown(c.get(), SHUT_WR);
  ASSERT_TRUE(sink.WaitEnded(index));
}

TEST(SlowlinkProxyTest, ForwardsBothWaysExactly) {
  Peer echo(Peer::Mode::kEcho);
  ProxyRunner proxy(Shape(), echo.port());
  constexpr uint64_t kSize = 3'000'000;
  Fd c = ConnectTo(proxy.port());
  ASSERT_GE(c.get(), 0);
  std::thread sender([&] {
    EXPECT_EQ(SendPattern(c.get(), kSize), kSize);
    ::shutdown(c.get(), SHUT_WR);
  });
  std::vector<char> buf(64 * 1024);
  uint64_t got = 0;
  bool same = true;
  for (ssize_t r; (r = ::recv(c.get(), buf.data(), buf.size(), 0)) > 0;) {
    for (ssize_t i = 0; i < r; ++i) same &= buf[i] == PatternByte(got + i);
    got += r;
  }
  sender.join();
  EXPECT_EQ(got, kSize);  // ended by EOF after everything came back
  EXPECT_TRUE(same);
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_active", 0));
  auto s = ReadStats(proxy.stats_path());
  EXPECT_EQ(s["bytes_up"], kSize);
  EXPECT_EQ(s["bytes_down"], kSize);
  EXPECT_EQ(s["connections_accepted"], 1u);
  EXPECT_EQ(s["connections_cut"], 0u);
}

TEST(SlowlinkProxyTest, UncappedIsFast) {
  Peer counter(Peer::Mode::kCounter);
  ProxyRunner proxy(Shape(), counter.port());
  constexpr uint64_t kSize = 256 << 20;
  const auto start = Clock::now();
  Fd c = ConnectTo(proxy.port());
  EXPECT_EQ(SendZeros(c.get(), kSize), kSize);
  ::shutdown(c.get(), SHUT_WR);
  ASSERT_TRUE(counter.WaitEnded(0));
  const double secs = Seconds(counter.connections()[0].last_byte - start);
  std::printf("uncapped: %.0f MB/s\n", kSize / secs / 1e6);
  EXPECT_EQ(counter.connections()[0].bytes, kSize);
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "bytes_up", kSize));
  // Only "it is not throttled": speed belongs to bench/, not to ctest (upper
  // bounds here are generous "not stuck" deadlines, never performance bars).
  EXPECT_LT(secs, 20.0);
}

TEST(SlowlinkProxyTest, StatsFileMatchesWhatTheSinkReceivedAndResets) {
  Peer sink(Peer::Mode::kSink);
  ProxyRunner proxy(Shape(), sink.port());
  SendThrough(proxy, sink, 0, 1'234'567);
  SendThrough(proxy, sink, 1, 7);
  ASSERT_EQ(sink.TotalBytes(), 1'234'574u);
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "bytes_up", sink.TotalBytes()));
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_accepted", 2));
  EXPECT_EQ(proxy.counters().bytes_up.load(), 1'234'574u);

  proxy.ResetStats();
  auto s = ReadStats(proxy.stats_path());  // written at once, no waiting
  EXPECT_EQ(s["bytes_up"], 0u);
  EXPECT_EQ(s["connections_accepted"], 0u);
  EXPECT_EQ(s["resets"], 1u);
  SendThrough(proxy, sink, 2, 1000);
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "bytes_up", 1000));
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_accepted", 1));
}

TEST(SlowlinkProxyTest, TotalRateCapsAConnection) {
  Peer sink(Peer::Mode::kSink);
  ProxyRunner proxy(Shape([](Config& c) { c.rate = 1'000'000; }), sink.port());
  const auto start = Clock::now();
  SendThrough(proxy, sink, 0, 2'000'000);
  const auto got = sink.connections()[0];
  const double secs = Seconds(got.last_byte - start);
  EXPECT_EQ(got.bytes, 2'000'000u);
  EXPECT_TRUE(got.pattern_ok);
  EXPECT_GE(secs, 1.8);
  EXPECT_LE(secs, 6.0);  // not stuck
}

// Runs `conns` parallel connections of `each` bytes; returns seconds until
// the sink had every byte.
double Parallel(const ProxyRunner& proxy, const Peer& sink, int conns, uint64_t each) {
  const auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < conns; ++i) {
    clients.emplace_back([&] {
      Fd c = ConnectTo(proxy.port());
      EXPECT_EQ(SendPattern(c.get(), each), each);
      ::shutdown(c.get(), SHUT_WR);
      EXPECT_TRUE(WaitFor([&] { return sink.TotalBytes() == conns * each; }));
    });
  }
  for (auto& t : clients) t.join();
  Clock::time_point last{};
  for (const auto& c : sink.connections()) last = std::max(last, c.last_byte);
  return Seconds(last - start);
}

TEST(SlowlinkProxyTest, PerConnectionRateScalesWithConnections) {
  Peer sink(Peer::Mode::kSink);
  ProxyRunner proxy(Shape([](Config& c) { c.rate_per_conn = 500'000; }), sink.port());
  const double secs = Parallel(proxy, sink, 4, 500'000);
  const double aggregate = 4 * 500'000 / secs;
  std::printf("4 connections at 500 kB/s each: %.0f kB/s aggregate\n", aggregate / 1e3);
  EXPECT_EQ(sink.TotalBytes(), 2'000'000u);
  EXPECT_GE(aggregate, 3.2 * 500'000);
  EXPECT_LE(aggregate, 4.5 * 500'000);
}

TEST(SlowlinkProxyTest, TotalRateIsSharedByConnections) {
  Peer sink(Peer::Mode::kSink);
  // Per-connection caps alone would finish in ~0.6 s; the total makes it ~1 s.
  ProxyRunner proxy(Shape([](Config& c) {
                      c.rate = 1'000'000;
                      c.rate_per_conn = 400'000;
                    }),
                    sink.port());
  const double secs = Parallel(proxy, sink, 4, 250'000);
  EXPECT_EQ(sink.TotalBytes(), 1'000'000u);
  EXPECT_GE(secs, 0.85);
  EXPECT_LE(secs, 4.0);  // not stuck
}

TEST(SlowlinkProxyTest, CutAfterDeliversExactlyNThenResets) {
  Peer sink(Peer::Mode::kSink);
  ProxyRunner proxy(Shape([](Config& c) { c.cut_after = 100'000; }), sink.port());
  Fd c = ConnectTo(proxy.port());
  const uint64_t sent = SendPattern(c.get(), 4'000'000);  // stops early when the reset lands
  ASSERT_TRUE(sink.WaitEnded(0));
  const auto got = sink.connections()[0];
  EXPECT_EQ(got.bytes, 100'000u);
  EXPECT_TRUE(got.pattern_ok);
  EXPECT_EQ(got.end, End::kReset);
  // The client sees the reset too: either its send failed or its next recv does.
  char byte;
  if (sent == 4'000'000u) {
    EXPECT_LT(::recv(c.get(), &byte, 1, 0), 0);
    EXPECT_EQ(errno, ECONNRESET);
  }
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_cut", 1));
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_active", 0));
  auto s = ReadStats(proxy.stats_path());
  EXPECT_EQ(s["bytes_up"], 100'000u);
  EXPECT_EQ(s["connections_accepted"], 1u);
}

TEST(SlowlinkProxyTest, CutAfterZeroResetsAtOnce) {
  Peer sink(Peer::Mode::kSink);
  ProxyRunner proxy(Shape([](Config& c) { c.cut_after = 0; }), sink.port());
  Fd c = ConnectTo(proxy.port());
  char byte;
  EXPECT_LT(::recv(c.get(), &byte, 1, 0), 0);
  EXPECT_EQ(errno, ECONNRESET);
  ASSERT_TRUE(sink.WaitEnded(0));
  EXPECT_EQ(sink.connections()[0].bytes, 0u);
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_cut", 1));
}

TEST(SlowlinkProxyTest, CutEveryKCutsOnlyEveryKthConnection) {
  Peer sink(Peer::Mode::kSink);
  ProxyRunner proxy(Shape([](Config& c) {
                      c.cut_after = 100'000;
                      c.cut_every = 2;
                    }),
                    sink.port());
  for (size_t i = 0; i < 4; ++i) {
    Fd c = ConnectTo(proxy.port());
    SendPattern(c.get(), 300'000);
    ::shutdown(c.get(), SHUT_WR);
    ASSERT_TRUE(sink.WaitEnded(i));
  }
  const auto got = sink.connections();
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const bool cut = (i + 1) % 2 == 0;
    EXPECT_EQ(got[i].bytes, cut ? 100'000u : 300'000u) << "connection " << i + 1;
    EXPECT_EQ(got[i].end, cut ? End::kReset : End::kEof) << "connection " << i + 1;
    EXPECT_TRUE(got[i].pattern_ok);
  }
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_active", 0));
  auto s = ReadStats(proxy.stats_path());
  EXPECT_EQ(s["connections_accepted"], 4u);
  EXPECT_EQ(s["connections_cut"], 2u);
  EXPECT_EQ(s["bytes_up"], 800'000u);
}

TEST(SlowlinkProxyTest, LatencyDelaysEachDirection) {
  Peer echo(Peer::Mode::kEcho);
  ProxyRunner proxy(Shape([](Config& c) { c.latency = std::chrono::milliseconds(100); }), echo.port());
  Fd c = ConnectTo(proxy.port());
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    ASSERT_EQ(::send(c.get(), "ping", 4, MSG_NOSIGNAL), 4);
    char buf[4];
    ASSERT_EQ(::recv(c.get(), buf, 4, MSG_WAITALL), 4);
    const double rtt = Seconds(Clock::now() - start);
    EXPECT_GE(rtt, 0.200);  // 100 ms there, 100 ms back
    EXPECT_LT(rtt, 2.0);  // not stuck
  }
}

TEST(SlowlinkProxyTest, LatencyDoesNotCapThroughput) {
  Peer sink(Peer::Mode::kSink);
  ProxyRunner proxy(Shape([](Config& c) { c.latency = std::chrono::milliseconds(40); }), sink.port());
  constexpr uint64_t kSize = 32 << 20;
  const auto start = Clock::now();
  SendThrough(proxy, sink, 0, kSize);
  const double secs = Seconds(sink.connections()[0].last_byte - start);
  EXPECT_EQ(sink.connections()[0].bytes, kSize);
  EXPECT_GE(secs, 0.040);
  EXPECT_LT(secs, 10.0);  // a sleep per 64 KiB read would take > 20 s
}

double Download(uint16_t port, uint64_t expect) {
  const auto start = Clock::now();
  Fd c = ConnectTo(port);
  std::vector<char> buf(64 * 1024);
  uint64_t got = 0;
  for (ssize_t r; (r = ::recv(c.get(), buf.data(), buf.size(), 0)) > 0;) got += r;
  EXPECT_EQ(got, expect);
  return Seconds(Clock::now() - start);
}

TEST(SlowlinkProxyTest, RatesApplyDownOnlyWithDirectionBoth) {
  Peer source(Peer::Mode::kSource, 1'000'000);
  double up_only_secs = 0;
  {
    ProxyRunner up_only(Shape([](Config& c) { c.rate = 2'000'000; }), source.port());
    up_only_secs = Download(up_only.port(), 1'000'000);
  }
  {
    ProxyRunner both(Shape([](Config& c) {
                       c.rate = 2'000'000;
                       c.limit_down = true;
                     }),
                     source.port());
    const double secs = Download(both.port(), 1'000'000);  // (1 MB - 64 KiB burst) / 2 MB/s
    EXPECT_GE(secs, 0.4);
    EXPECT_LE(secs, 3.0);  // not stuck
    // Up-only leaves downloads alone: compared with the capped run, not a clock.
    EXPECT_LT(up_only_secs, secs / 2);
    EXPECT_TRUE(WaitStat(both.stats_path(), "bytes_down", 1'000'000));
  }
}

TEST(SlowlinkProxyTest, UnreachableTargetResetsTheClientAndKeepsServing) {
  uint16_t dead_port;
  {
    Peer gone(Peer::Mode::kSink);
    dead_port = gone.port();
  }
  ProxyRunner proxy(Shape(), dead_port);
  for (int i = 0; i < 2; ++i) {
    Fd c = ConnectTo(proxy.port());
    ASSERT_GE(c.get(), 0);
    char byte;
    EXPECT_LE(::recv(c.get(), &byte, 1, 0), 0);
  }
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_accepted", 2));
  EXPECT_TRUE(WaitStat(proxy.stats_path(), "connections_active", 0));
}

}  // namespace
}  // namespace slowlink_test
