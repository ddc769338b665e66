#pragma once
// Test harness for slowlink: plain blocking-socket peers (sink, echo,
// source) on 127.0.0.1:0 that record what arrived and how each connection
// ended, a client helper, an in-process proxy on its own io_context
// thread, and a reader for the stats file. Every blocking call has a
// timeout so a broken proxy fails tests instead of hanging them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/slowlink/config.h"
#include "bench/slowlink/proxy.h"

#include "tests/unit/common/temp_dir.h"
#include "tests/unit/common/wait.h"

namespace slowlink_test {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Polls `pred` until it holds or `timeout` passes (tests/unit/common/wait.h).
inline bool WaitFor(const std::function<bool()>& pred, Clock::duration timeout = 5s) {
  return pier::testing::WaitUntil(pred, std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
}

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

inline void SetTimeouts(int fd, std::chrono::milliseconds t = 10s) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

inline Fd ConnectTo(uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  SetTimeouts(fd.get());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fd.reset();
  return fd;
}

// A byte pattern that catches reordering and loss: byte i of a stream.
inline char PatternByte(uint64_t i) { return static_cast<char>((i * 2654435761u) >> 13); }

// Sends n pattern bytes (stream offsets from `offset`); returns how many
// the kernel accepted before an error.
inline uint64_t SendPattern(int fd, uint64_t n, uint64_t offset = 0) {
  std::vector<char> buf(64 * 1024);
  uint64_t sent = 0;
  while (sent < n) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(buf.size(), n - sent));
    for (size_t i = 0; i < len; ++i) buf[i] = PatternByte(offset + sent + i);
    const ssize_t r = ::send(fd, buf.data(), len, MSG_NOSIGNAL);
    if (r <= 0) break;
    sent += static_cast<uint64_t>(r);
  }
  return sent;
}

enum class End { kOpen, kEof, kReset, kOtherError };

// What one accepted connection saw.
struct Received {
  uint64_t bytes = 0;
  bool pattern_ok = true;  // bytes matched PatternByte (Sink only)
  End end = End::kOpen;
  Clock::time_point last_byte{};
};

// Sends n zero bytes as fast as possible; returns how many were accepted.
inline uint64_t SendZeros(int fd, uint64_t n) {
  static const std::vector<char> zeros(256 * 1024);
  uint64_t sent = 0;
  while (sent < n) {
    const ssize_t r = ::send(fd, zeros.data(), std::min<uint64_t>(zeros.size(), n - sent), MSG_NOSIGNAL);
    if (r <= 0) break;
    sent += static_cast<uint64_t>(r);
  }
  return sent;
}

// A server on 127.0.0.1:0. Sink counts and checks bytes (Counter only
// counts); Echo sends back what it reads; Source writes `source_bytes`
// pattern bytes, then closes.
class Peer {
 public:
  enum class Mode { kSink, kCounter, kEcho, kSource };

  explicit Peer(Mode mode, uint64_t source_bytes = 0) : mode_(mode), source_bytes_(source_bytes) {
    listener_ = Fd(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_.get(), 64) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      std::abort();
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~Peer() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : workers_) t.join();
  }

  uint16_t port() const { return port_; }

  std::vector<Received> connections() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  // Waits until connection i (0-based, accept order) has ended.
  bool WaitEnded(size_t i, Clock::duration timeout = 5s) const {
    return WaitFor(
        [&] {
          auto c = connections();
          return c.size() > i && c[i].end != End::kOpen;
        },
        timeout);
  }
  uint64_t TotalBytes() const {
    uint64_t total = 0;
    for (const auto& c : connections()) total += c.bytes;
    return total;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(listener_.get(), nullptr, nullptr);
      if (fd < 0) continue;
      SetTimeouts(fd, 100ms);  // short, so ~Peer is not kept waiting
      size_t index;
      {
        std::lock_guard lock(mu_);
        index = received_.size();
        received_.emplace_back();
      }
      workers_.emplace_back([this, fd, index] { Serve(Fd(fd), index); });
    }
  }

  void Serve(Fd fd, size_t index) {
    if (mode_ == Mode::kSource) {
      SendPattern(fd.get(), source_bytes_);
      std::lock_guard lock(mu_);
      received_[index].end = End::kEof;
      return;
    }
    std::vector<char> buf(256 * 1024);
    uint64_t offset = 0;
    End end = End::kOpen;
    while (!stop_ && end == End::kOpen) {
      const ssize_t r = ::recv(fd.get(), buf.data(), buf.size(), 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;  // timeout tick: keep waiting
      if (r == 0) {
        end = End::kEof;
      } else if (r < 0) {
        end = errno == ECONNRESET ? End::kReset : End::kOtherError;
      } else if (mode_ == Mode::kEcho && !EchoBack(fd.get(), buf.data(), static_cast<size_t>(r))) {
        end = End::kOtherError;
      }
      std::lock_guard lock(mu_);
      Received& rec = received_[index];
      if (r > 0) {
        if (mode_ == Mode::kSink) {
          for (ssize_t i = 0; i < r; ++i) rec.pattern_ok &= buf[i] == PatternByte(offset + i);
        }
        offset += r;
        rec.bytes = offset;
        rec.last_byte = Clock::now();
      }
      rec.end = end;
    }
    if (mode_ == Mode::kEcho) ::shutdown(fd.get(), SHUT_WR);
  }

  // Sends all n bytes, riding out send timeouts until the peer stops.
  bool EchoBack(int fd, const char* data, size_t n) {
    while (n > 0 && !stop_) {
      const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (w <= 0) return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    return n == 0;
  }

  Mode mode_;
  uint64_t source_bytes_;
  Fd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // touched by the acceptor thread only until ~Peer
  mutable std::mutex mu_;
  std::vector<Received> received_;
};

using TempDir = pier::testing::TempDir;

// The stats file as key -> number; empty if missing or unreadable.
inline std::map<std::string, uint64_t> ReadStats(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::map<std::string, uint64_t> out;
  size_t pos = 0;
  while ((pos = text.find('"', pos)) != std::string::npos) {
    const size_t end = text.find('"', pos + 1);
    const size_t colon = text.find(':', end);
    if (end == std::string::npos || colon == std::string::npos) break;
    out[text.substr(pos + 1, end - pos - 1)] = std::strtoull(text.c_str() + colon + 1, nullptr, 10);
    pos = colon;
  }
  return out;
}

// Waits until the stats file has key == value.
inline bool WaitStat(const std::filesystem::path& path, const std::string& key, uint64_t value,
                     Clock::duration timeout = 5s) {
  return WaitFor(
      [&] {
        auto s = ReadStats(path);
        return s.count(key) && s[key] == value;
      },
      timeout);
}

// A slowlink Proxy running in-process on its own io_context thread.
class ProxyRunner {
 public:
  // `target` is the peer port; the config's listen/target are filled in.
  ProxyRunner(pier::slowlink::Config config, uint16_t target) {
    config.listen = {boost::asio::ip::make_address("127.0.0.1"), 0};
    config.target = {boost::asio::ip::make_address("127.0.0.1"), target};
    if (config.stats_file.empty()) config.stats_file = (dir_.path() / "stats.json").string();
    stats_path_ = config.stats_file;
    std::string error;
    proxy_ = pier::slowlink::Proxy::Create(io_, config, &error);
    if (!proxy_) std::abort();
    proxy_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ProxyRunner() {
    RunOnIo([this] { proxy_->Stop(); });
    io_.stop();
    thread_.join();
    proxy_.reset();
  }
  uint16_t port() const { return proxy_->local_endpoint().port(); }
  const std::filesystem::path& stats_path() const { return stats_path_; }
  const pier::slowlink::Counters& counters() const { return proxy_->counters(); }
  void ResetStats() {
    RunOnIo([this] { proxy_->ResetStats(); });
  }

 private:
  // Runs f on the proxy's thread and waits for it.
  void RunOnIo(std::function<void()> f) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  TempDir dir_;
  std::filesystem::path stats_path_;
  boost::asio::io_context io_{1};
  std::unique_ptr<pier::slowlink::Proxy> proxy_;
  std::thread thread_;
};

}  // namespace slowlink_test
