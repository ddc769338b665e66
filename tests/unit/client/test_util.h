#pragma once
// Test helpers for the registry client. Peers on 127.0.0.1, POSIX sockets only:
//  - FakeServer: a small threaded HTTP/1.1 server whose answers come from a
//    handler; it hands the handler requests whose body was cut short too
//    (marked incomplete), can trickle a body slowly, take a request in
//    slowly (as over a slow link), and can drop a kept-alive
//    connection without a word;
//  - SilentListener: listens and never accepts or answers (the kernel still
//    completes connects and buffers what is sent);
// and small helpers: TempDir, BlobFile (a blob in an open file), RandomBytes,
// QueryValues, StopAfterLimiter (cuts a transfer after N bytes).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "adapter/client/call.h"
#include "base/digest.h"

#include "tests/unit/common/temp_dir.h"

namespace pier::client::testing {

struct FakeRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool complete = true;  // false: the connection ended before the announced body did

  std::string Header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return "";
  }
  std::string Path() const { return target.substr(0, target.find('?')); }
  std::string Query() const {
    size_t q = target.find('?');
    return q == std::string::npos ? "" : target.substr(q + 1);
  }
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;          // Connection: close after this answer
  bool drop_silently = false;  // keep-alive announced, but the socket closes after this answer
  int trickle_ms = 0;          // > 0: send the body one byte every trickle_ms
  bool head = false;           // answer to HEAD: announce body.size() but send no body

  FakeResponse& Set(std::string n, std::string v) {
    headers.emplace_back(std::move(n), std::move(v));
    return *this;
  }
};

using FakeHandler = std::function<FakeResponse(const FakeRequest&)>;

class FakeServer {
 public:
  // `slow_read`: request bytes are taken in as over a slow link (a 16 KiB
  // receive buffer, reads of 8 KiB 5 ms apart: about 1.6 MB/s), so the
  // client's TCP stack sees a body acknowledged bit by bit.
  explicit FakeServer(FakeHandler handler, bool slow_read = false)
      : handler_(std::move(handler)), slow_read_(slow_read) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int small = 16 * 1024;  // before listen: accepted sockets and their window follow it
    if (slow_read_) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~FakeServer() {
    stop_ = true;
    acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
    ::close(fd_);
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  // Connections this server has closed so far.
  int closed() const { return closed_.load(); }
  // Requests whose body was cut short, handled so far.
  int incomplete_requests() const { return incomplete_.load(); }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++connections_;
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, c] {
        Serve(c);
        ::close(c);
        ++closed_;
      });
    }
  }

  // Reads into buf until it holds `want` bytes or the peer/stop ends it.
  bool Fill(int c, std::string& buf, size_t want) {
    char tmp[65536];
    while (buf.size() < want) {
      if (stop_) return false;
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(c, tmp, slow_read_ ? 8192 : sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
      if (slow_read_) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the link's pace
    }
    return true;
  }

  bool SendAll(int c, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(c, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  void Serve(int c) {
    std::string buf;
    while (!stop_) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        size_t before = buf.size();
        if (!Fill(c, buf, before + 1)) return;
      }
      FakeRequest req;
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t line_end = head.find("\r\n");
      std::string line = head.substr(0, line_end);
      size_t sp1 = line.find(' ');
      size_t sp2 = line.find(' ', sp1 + 1);
      req.method = line.substr(0, sp1);
      req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string h = head.substr(pos, e - pos);
        size_t colon = h.find(':');
        if (colon != std::string::npos) {
          std::string name = h.substr(0, colon);
          for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          size_t v = colon + 1;
          while (v < h.size() && h[v] == ' ') ++v;
          req.headers.emplace_back(name, h.substr(v));
        }
        pos = e + 2;
      }
      size_t length = 0;
      if (std::string cl = req.Header("content-length"); !cl.empty()) length = std::stoull(cl);
      bool got = Fill(c, buf, length);
      req.body = buf.substr(0, std::min(length, buf.size()));
      buf.erase(0, req.body.size());
      req.complete = got;
      if (!got) ++incomplete_;
      FakeResponse r = handler_(req);
      if (!got) return;  // nobody to answer
      r.head = r.head || req.method == "HEAD";
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\n";
      bool has_length = false;
      for (const auto& [n, v] : r.headers) {
        out += n + ": " + v + "\r\n";
        if (n == "Content-Length") has_length = true;
      }
      if (!has_length) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
      if (r.close) out += "Connection: close\r\n";
      out += "\r\n";
      if (r.trickle_ms > 0 && !r.head) {
        if (!SendAll(c, out)) return;
        for (char ch : r.body) {
          if (stop_) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(r.trickle_ms));
          if (!SendAll(c, std::string(1, ch))) return;
        }
      } else {
        if (!r.head) out += r.body;
        if (!SendAll(c, out)) return;
      }
      if (r.close || r.drop_silently) return;
    }
  }

  FakeHandler handler_;
  bool slow_read_ = false;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> closed_{0};
  std::atomic<int> incomplete_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// Listens on 127.0.0.1 and never accepts: connects succeed (the kernel's
// backlog), bytes sent are buffered until the buffers fill, nothing answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // True once a client has connected (a connection waits in the backlog).
  bool Connected() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A port nothing listens on (bound and released).
inline uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

using pier::testing::TempDir;

using pier::testing::WriteFile;

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// A blob written to a file and opened for reading, closed at scope end.
class BlobFile {
 public:
  BlobFile(const std::filesystem::path& path, std::string content) : content_(std::move(content)) {
    WriteFile(path, content_);
    fd_ = ::open(path.c_str(), O_RDONLY);
    digest_ = Sha256Of(content_);
  }
  // A sparse file of `size` zero bytes (content and digest not kept).
  BlobFile(const std::filesystem::path& path, uint64_t size) : sparse_size_(size) {
    int w = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (w >= 0 && ::ftruncate(w, static_cast<off_t>(size)) != 0) sparse_size_ = 0;
    if (w >= 0) ::close(w);
    fd_ = ::open(path.c_str(), O_RDONLY);
  }
  ~BlobFile() { ::close(fd_); }
  BlobFile(const BlobFile&) = delete;
  BlobFile& operator=(const BlobFile&) = delete;

  const std::string& content() const { return content_; }
  uint64_t size() const { return content_.empty() ? sparse_size_ : content_.size(); }
  const Digest& digest() const { return digest_; }
  FileSlice Slice(uint64_t offset, uint64_t length) const { return FileSlice{fd_, offset, length}; }
  FileSlice All() const { return Slice(0, size()); }

 private:
  std::string content_;
  uint64_t sparse_size_ = 0;
  int fd_ = -1;
  Digest digest_;
};

// Every value of `key` in a query string, percent-decoded.
inline std::vector<std::string> QueryValues(const std::string& query, const std::string& key) {
  auto unescape = [](const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(s[i] == '+' ? ' ' : s[i]);
      }
    }
    return out;
  };
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= query.size()) {
    size_t amp = query.find('&', i);
    std::string kv = query.substr(i, amp == std::string::npos ? std::string::npos : amp - i);
    size_t eq = kv.find('=');
    if (eq != std::string::npos && kv.substr(0, eq) == key) out.push_back(unescape(kv.substr(eq + 1)));
    if (amp == std::string::npos) break;
    i = amp + 1;
  }
  return out;
}

// Grants every request and asks `source` to stop once `after` bytes were
// granted: the piece that crosses the mark is the last one sent.
class StopAfterLimiter : public RateLimiter {
 public:
  StopAfterLimiter(std::stop_source* source, uint64_t after) : source_(source), after_(after) {}
  bool Acquire(size_t bytes, const std::stop_token& stop) override {
    if (stop.stop_requested()) return false;
    granted_ += bytes;
    if (granted_ >= after_) source_->request_stop();
    return true;
  }

 private:
  std::stop_source* source_;
  uint64_t after_;
  uint64_t granted_ = 0;
};

}  // namespace pier::client::testing
