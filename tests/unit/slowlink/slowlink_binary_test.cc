// Drives the slowlink executable the way scripts do: the first stdout line,
// the stats file, signals, exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "tests/unit/slowlink/harness.h"

extern char** environ;

namespace slowlink_test {
namespace {

#ifndef SLOWLINK_BINARY
#define SLOWLINK_BINARY ""
#endif

// A running slowlink process with its stdout and stderr on pipes.
class Process {
 public:
  explicit Process(std::vector<std::string> args) {
    args.insert(args.begin(), SLOWLINK_BINARY);
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) std::abort();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_ = Fd(out[0]);
    err_ = Fd(err[0]);
  }
  ~Process() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  void Signal(int sig) { ::kill(pid_, sig); }

  // The first stdout line (without '\n'), or "" after the timeout.
  std::string FirstLine(Clock::duration timeout = 5s) {
    std::string line;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      pollfd p{out_.get(), POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      char c;
      if (::read(out_.get(), &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    return "";
  }
  // Exit status after waiting at most `timeout`; nullopt if still running.
  std::optional<int> Wait(Clock::duration timeout = 5s) {
    WaitFor(
        [&] {
          int status;
          if (::waitpid(pid_, &status, WNOHANG) == pid_)
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
          return status_.has_value();
        },
        timeout);
    return status_;
  }
  std::string Stderr() {
    std::string s;
    char buf[4096];
    for (ssize_t r; (r = ::read(err_.get(), buf, sizeof buf)) > 0;) s.append(buf, r);
    return s;
  }

 private:
  pid_t pid_ = -1;
  Fd out_, err_;
  std::optional<int> status_;
};

TEST(SlowlinkBinaryTest, BadFlagsPrintUsageAndExit2) {
  Process p({"--listen", "127.0.0.1:0", "--target", "127.0.0.1:1", "--rate", "fast"});
  ASSERT_TRUE(p.started()) << SLOWLINK_BINARY;
  EXPECT_EQ(p.Wait(), 2);
  const std::string err = p.Stderr();
  EXPECT_NE(err.find("--rate"), std::string::npos) << err;
  EXPECT_NE(err.find("usage:"), std::string::npos) << err;
}

TEST(SlowlinkBinaryTest, HelpExits0) {
  Process p({"--help"});
  EXPECT_EQ(p.Wait(), 0);
}

TEST(SlowlinkBinaryTest, ListensReportsAndExitsOnSignals) {
  Peer sink(Peer::Mode::kSink);
  TempDir dir;
  const auto stats = dir.path() / "stats.json";
  Process p({"--listen", "127.0.0.1:0", "--target", "127.0.0.1:" + std::to_string(sink.port()),
             "--stats-file", stats.string(), "--latency-ms", "5"});
  ASSERT_TRUE(p.started());
  const std::string line = p.FirstLine();
  ASSERT_TRUE(line.starts_with("listening 127.0.0.1:")) << line;
  const int port = std::stoi(line.substr(line.rfind(':') + 1));
  ASSERT_GT(port, 0);
  EXPECT_EQ(ReadStats(stats)["bytes_up"], 0u);  // written before the line

  Fd c = ConnectTo(static_cast<uint16_t>(port));
  EXPECT_EQ(SendPattern(c.get(), 500'000), 500'000u);
  ::shutdown(c.get(), SHUT_WR);
  ASSERT_TRUE(sink.WaitEnded(0));
  EXPECT_EQ(sink.connections()[0].bytes, 500'000u);
  p.Signal(SIGUSR1);
  EXPECT_TRUE(WaitStat(stats, "bytes_up", 500'000));
  EXPECT_TRUE(WaitStat(stats, "connections_accepted", 1));

  p.Signal(SIGUSR2);
  EXPECT_TRUE(WaitStat(stats, "resets", 1));
  EXPECT_EQ(ReadStats(stats)["bytes_up"], 0u);

  Fd c2 = ConnectTo(static_cast<uint16_t>(port));
  EXPECT_EQ(SendPattern(c2.get(), 1000), 1000u);
  ASSERT_TRUE(WaitFor([&] { return sink.TotalBytes() == 501'000; }));
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
  auto s = ReadStats(stats);  // final stats, written at exit
  EXPECT_EQ(s["bytes_up"], 1000u);
  EXPECT_EQ(s["connections_accepted"], 1u);
}

TEST(SlowlinkBinaryTest, CannotListenExits1) {
  Peer busy(Peer::Mode::kSink);
  Process p({"--listen", "127.0.0.1:" + std::to_string(busy.port()), "--target", "127.0.0.1:1"});
  EXPECT_EQ(p.Wait(), 1);
  EXPECT_NE(p.Stderr().find("cannot listen"), std::string::npos);
}

}  // namespace
}  // namespace slowlink_test
