#pragma once
// The test side of the HTTP server tests: a tiny blocking HTTP/1.1 client
// (POSIX sockets, OpenSSL for TLS) whose sockets time out so no test can
// hang, and a self-signed certificate maker for the TLS server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pier::http {

// ---- a tiny blocking HTTP client ------------------------------------------

struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return "";
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return true;
    return false;
  }
};

inline std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Client {
 public:
  explicit Client(uint16_t port, SSL_CTX* tls = nullptr, int timeout_seconds = 10) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv{timeout_seconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    if (tls) {
      ssl_ = SSL_new(tls);
      SSL_set_fd(ssl_, fd_);
      if (SSL_connect(ssl_) != 1) return;
    }
    connected_ = true;
  }
  ~Client() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                       : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // Reads one response. `head`: the response has no body whatever it says.
  std::optional<RawResponse> Read(bool head = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (Fill() <= 0) return std::nullopt;
    }
    std::string header = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    RawResponse r;
    size_t line_end = header.find("\r\n");
    std::string status_line = header.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? header.size() : line_end + 2;
    while (pos < header.size()) {
      size_t next = header.find("\r\n", pos);
      if (next == std::string::npos) next = header.size();
      std::string line = header.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t v = line.find_first_not_of(" \t", colon + 1);
        r.headers.emplace_back(Lower(line.substr(0, colon)), v == std::string::npos ? "" : line.substr(v));
      }
      pos = next + 2;
    }
    if (head || r.status < 200 || r.status == 204 || r.status == 304) return r;
    if (r.HasHeader("content-length")) {
      size_t length = std::stoull(r.Header("content-length"));
      while (buffer_.size() < length) {
        if (Fill() <= 0) return std::nullopt;
      }
      r.body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else {
      while (Fill() > 0) {
      }
      r.body = std::move(buffer_);
      buffer_.clear();
    }
    return r;
  }

  // Reads until the server closes. Returns what arrived meanwhile, or
  // nullopt if the connection stayed open until the receive timeout.
  std::optional<std::string> ReadToClose() {
    for (;;) {
      ssize_t n = Fill();
      if (n == 0) break;
      if (n < 0) {
        if (errno == ECONNRESET || errno == EPIPE) break;
        return std::nullopt;
      }
    }
    std::string rest = std::move(buffer_);
    buffer_.clear();
    return rest;
  }

 private:
  ssize_t Fill() {
    char chunk[64 * 1024];
    ssize_t n;
    if (ssl_) {
      int r = SSL_read(ssl_, chunk, sizeof chunk);
      if (r > 0) {
        n = r;
      } else {
        int err = SSL_get_error(ssl_, r);
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        if (err == SSL_ERROR_SYSCALL && errno == 0) return 0;  // EOF without close_notify
        if (errno == 0) errno = ECONNRESET;
        return -1;
      }
    } else {
      n = ::recv(fd_, chunk, sizeof chunk, 0);
    }
    if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
    return n;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  std::string buffer_;
};

// Writes a fresh self-signed P-256 certificate and key as PEM files.
inline void MakeSelfSigned(const std::filesystem::path& cert, const std::filesystem::path& key) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  ASSERT_NE(pkey, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASSERT_GT(X509_sign(x, pkey, EVP_sha256()), 0);
  FILE* f = std::fopen(cert.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

}  // namespace pier::http
