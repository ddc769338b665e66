// The one translation unit of the client that instantiates Asio and Beast:
// connections, TLS, the keep-alive pool, the watchdog and the response
// parser. Each connection owns a small io_context that only the thread
// using the connection runs, so a blocking call is a loop of run_one()
// around one async operation at a time; that is what lets a stop request
// (posted from any thread) and the no-progress watchdog close the socket
// under an operation in flight.
#include "adapter/client/transport.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>
#include <cstddef>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <vector>

#include "base/text.h"
#include "base/log.h"

namespace pier::client {

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "";
}

bool HttpResponse::Has(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return true;
  }
  return false;
}

std::vector<std::string> HttpResponse::HeaderAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (n == name) out.push_back(v);
  }
  return out;
}

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kHeaderLimit = 64 * 1024;
constexpr size_t kReadSize = 64 * 1024;

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool IsIpLiteral(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Status Fail(Call& call, ErrorKind kind, std::string message) {
  call.error.kind = kind;
  return kind == ErrorKind::kLocal ? Status::InvalidArgument(std::move(message))
                                   : Status::IOError(std::move(message));
}

// Streams a response into an HttpResponse: header fields, then the body
// either into the caller's sink (2xx with a sink) or into a bounded buffer.
class ResponseParser final : public bhttp::basic_parser<false> {
 public:
  ResponseParser(HttpResponse* out, const BodySink* sink, size_t limit, Call* call)
      : out_(out), sink_(sink), limit_(limit), call_(call) {}

  Status sink_status;      // the sink's refusal, when it refused
  bool too_large = false;  // a 2xx buffered body passed the limit

 private:
  void on_request_impl(bhttp::verb, std::string_view, std::string_view, int, error_code&) override {}
  void on_response_impl(int code, std::string_view, int, error_code&) override { out_->status = code; }
  void on_field_impl(bhttp::field, std::string_view name, std::string_view value, error_code&) override {
    out_->headers.emplace_back(AsciiLower(name), std::string(value));
  }
  void on_header_impl(error_code&) override {
    out_->to_sink = sink_ != nullptr && *sink_ && out_->status / 100 == 2;
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(std::string_view body, error_code& ec) override {
    Deliver(body, ec);
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, std::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, std::string_view body, error_code& ec) override {
    Deliver(body, ec);
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  void Deliver(std::string_view body, error_code& ec) {
    out_->body_bytes += body.size();
    if (out_->to_sink) {
      Status s = (*sink_)(*out_, std::span<const char>(body.data(), body.size()));
      if (!s.ok()) {
        sink_status = std::move(s);
        ec = asio::error::operation_aborted;
        return;
      }
      if (call_->progress) call_->progress(out_->body_bytes);
      return;
    }
    size_t room = limit_ > out_->body.size() ? limit_ - out_->body.size() : 0;
    if (body.size() > room) {
      if (out_->status / 100 == 2) {
        too_large = true;
        ec = bhttp::error::body_limit;
        return;
      }
      body = body.substr(0, room);  // an error body: keep its start, drop the rest
    }
    out_->body.append(body.data(), body.size());
  }

  HttpResponse* out_;
  const BodySink* sink_;
  size_t limit_;
  Call* call_;
};

// One TCP (optionally TLS) connection with the io_context that drives it.
class Connection {
 public:
  Connection(std::string origin, std::chrono::milliseconds timeout)
      : origin_(std::move(origin)), timeout_(timeout) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& origin() const { return origin_; }
  Clock::time_point idle_since() const { return idle_since_; }
  // Request bytes (heads and bodies) written on this connection so far.
  uint64_t bytes_written() const { return bytes_written_; }
  // Of those, the bytes the peer's TCP stack acknowledged, as last sampled
  // (written minus what still sat in our send queue). Unlike bytes_written
  // this survives a reset that throws away the send queue.
  uint64_t bytes_acked() const { return bytes_acked_; }
  void MarkIdle() { idle_since_ = Clock::now(); }

  // False when the peer closed (or sent something unasked) while idle.
  bool LooksAlive() {
    if (!sock_.is_open()) return false;
    pollfd p{};
    p.fd = sock_.native_handle();
    p.events = POLLIN;
    return ::poll(&p, 1, 0) == 0;
  }

  // Scope of one exchange: arms the watchdog and hooks the stop token.
  class Watch {
   public:
    Watch(Connection& c, Call& call) : c_(c) {
      ++c_.gen_;
      c_.active_ = true;
      c_.cancelled_ = false;
      c_.timed_out_ = false;
      c_.deadline_ = Clock::now() + c_.timeout_;
      c_.ArmWatchdog();
      stop_.emplace(call.stop, StopFn{&c_, c_.gen_});
    }
    ~Watch() {
      stop_.reset();  // waits for a callback running on another thread
      c_.active_ = false;
      try {
        c_.timer_.cancel();
        c_.ioc_.restart();
        c_.ioc_.poll();  // run the aborted watchdog and any late stop handler
      } catch (const std::exception&) {
        c_.Close();  // a connection in an unknown state is not reused
      }
    }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    struct StopFn {
      Connection* c;
      uint64_t gen;
      void operator()() const noexcept {
        Connection* conn = c;
        uint64_t g = gen;
        asio::post(conn->ioc_, [conn, g] {
          if (conn->active_ && conn->gen_ == g) {
            conn->cancelled_ = true;
            conn->Close();
          }
        });
      }
    };
    Connection& c_;
    std::optional<std::stop_callback<StopFn>> stop_;
  };

  Status Connect(const Url& url, ssl::context* tls_ctx, bool insecure, Call& call) {
    tcp::resolver resolver(ioc_);
    error_code ec;
    // getaddrinfo on this thread: bounded by the system resolver's timeouts.
    auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec) return Failed(call, ErrorKind::kNetwork, "resolve " + url.host, ec);
    if (call.stop.stop_requested())
      return Failed(call, ErrorKind::kCancelled, "connect " + url.HostHeader(), ec);
    Done d;
    deadline_ = Clock::now() + timeout_;
    asio::async_connect(sock_, endpoints, [&d](error_code e, const tcp::endpoint&) {
      d.ec = e;
      d.done = true;
    });
    RunUntil(d);
    if (d.ec) return Failed(call, ErrorKind::kNetwork, "connect " + url.HostHeader(), d.ec);
    sock_.set_option(tcp::no_delay(true), ec);
    if (!url.tls()) return Status::OK();

    tls_.emplace(sock_, *tls_ctx);
    SSL* ssl = tls_->native_handle();
    bool ip = IsIpLiteral(url.host);
    if (!ip) SSL_set_tlsext_host_name(ssl, url.host.c_str());
    if (insecure) {
      tls_->set_verify_mode(ssl::verify_none);
    } else {
      tls_->set_verify_mode(ssl::verify_peer);
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size());
      }
    }
    Done h;
    deadline_ = Clock::now() + timeout_;
    tls_->async_handshake(ssl::stream_base::client, [&h](error_code e) {
      h.ec = e;
      h.done = true;
    });
    RunUntil(h);
    if (h.ec) {
      long verify = SSL_get_verify_result(ssl);
      if (!cancelled_ && !timed_out_ && verify != X509_V_OK) {
        call.error.kind = ErrorKind::kTls;
        return Status::IOError("TLS handshake with " + url.HostHeader() +
                               ": certificate verify failed: " + X509_verify_cert_error_string(verify));
      }
      // A reset or close during the handshake is the network's doing; an
      // OpenSSL-level refusal (protocol version, plain HTTP on the port) is TLS.
      bool tls_level = h.ec.category() == asio::error::get_ssl_category();
      return Failed(call, tls_level ? ErrorKind::kTls : ErrorKind::kNetwork,
                    "TLS handshake with " + url.HostHeader(), h.ec);
    }
    return Status::OK();
  }

  // Writes the request and reads the whole answer. *answer_started tells
  // whether any answer byte arrived; *reusable whether the connection may
  // carry another request.
  Status RoundTrip(const HttpRequest& req, const std::string& head, Call& call, const BodySink* sink,
                   size_t io_size, uint64_t* progress_total, HttpResponse* resp, bool* answer_started,
                   bool* reusable) {
    *reusable = false;
    AckSampler sampler(*this, call, head.size(), req.file ? req.file->length : 0);
    Status written = WriteRequest(req, head, call, io_size, progress_total);
    if (!written.ok()) {
      if (call.error.kind != ErrorKind::kNetwork) return written;
      // The peer may have answered early (401, 413, 416...) and closed: read
      // that answer if it is there, else report the write failure.
      ErrorKind kind = call.error.kind;
      Status early = ReadResponse(req.method == "HEAD", req.body_limit, call, sink, resp, answer_started);
      if (early.ok() && resp->status != 0) return Status::OK();
      call.error.kind = kind;
      return written;
    }
    Status read = ReadResponse(req.method == "HEAD", req.body_limit, call, sink, resp, answer_started);
    if (!read.ok()) return read;
    *reusable = keep_alive_ && rbuf_.size() == 0;
    return Status::OK();
  }

  void Close() {
    error_code ig;
    if (sock_.is_open()) sock_.close(ig);
  }

 private:
  struct Done {
    bool done = false;
    error_code ec;
    size_t n = 0;
  };
  struct IoHandler {
    Done* d;
    void operator()(error_code ec, size_t n) const {
      d->ec = ec;
      d->n = n;
      d->done = true;
    }
  };

  // Feeds call.body_acked during one exchange with a file body: a timer on
  // this connection's io_context, so samples are taken (on the caller's
  // thread) while a write waits for room and while the answer is awaited.
  class AckSampler {
   public:
    AckSampler(Connection& c, Call& call, size_t head_bytes, uint64_t body_bytes) : c_(c) {
      if (!call.body_acked || body_bytes == 0) return;
      c_.ack_call_ = &call;
      c_.ack_base_ = c_.bytes_written_ + head_bytes;
      c_.ack_len_ = body_bytes;
      c_.ack_first_.reset();
      c_.ack_reported_ = 0;
      c_.ArmAckSampler();
    }
    ~AckSampler() {
      if (c_.ack_call_ == nullptr) return;
      c_.ack_call_ = nullptr;
      c_.sampler_.cancel();  // its handler runs, aborted, in Watch's final poll
    }
    AckSampler(const AckSampler&) = delete;
    AckSampler& operator=(const AckSampler&) = delete;

   private:
    Connection& c_;
  };

  void ArmAckSampler() {
    sampler_.expires_after(kAckSampleInterval);
    sampler_.async_wait([this, g = gen_](error_code ec) {
      if (ec || !active_ || g != gen_ || ack_call_ == nullptr) return;
      SampleAcked();
      uint64_t acked = bytes_acked_ > ack_base_ ? std::min(bytes_acked_ - ack_base_, ack_len_) : 0;
      // The first sample is the baseline: what was taken in by then went at
      // memory speed into buffers on the way (a proxy's socket buffer takes
      // megabytes at once) as much as across the link. Only the growth after
      // it, at the pace of the slowest hop, is reported.
      if (!ack_first_) ack_first_ = acked;
      uint64_t n = acked - *ack_first_;
      if (n > ack_reported_) {
        ack_reported_ = n;
        ack_call_->body_acked(n);
      }
      ArmAckSampler();
    });
  }

  void ArmWatchdog() {
    timer_.expires_at(deadline_);
    timer_.async_wait([this, g = gen_](error_code ec) {
      if (ec || !active_ || g != gen_) return;
      if (Clock::now() >= deadline_) {
        timed_out_ = true;
        Close();
        return;
      }
      ArmWatchdog();
    });
  }

  // Runs handlers on this thread until `d` completes.
  void RunUntil(Done& d) {
    ioc_.restart();
    while (!d.done) {
      if (ioc_.run_one() == 0) ioc_.restart();
    }
  }

  Status Failed(Call& call, ErrorKind kind, const std::string& what, const error_code& ec) {
    if (cancelled_ || call.stop.stop_requested())
      return Fail(call, ErrorKind::kCancelled, what + ": cancelled");
    if (timed_out_) {
      return Fail(call, ErrorKind::kTimeout,
                  what + ": no byte moved for " + std::to_string(timeout_.count()) + " ms");
    }
    return Fail(call, kind, what + ": " + ec.message());
  }

  // One write_some (or one read_some) with the no-progress deadline reset.
  Done WriteSome(const char* data, size_t n) {
    Done d;
    deadline_ = Clock::now() + timeout_;
    if (tls_) {
      tls_->async_write_some(asio::buffer(data, n), IoHandler{&d});
    } else {
      sock_.async_write_some(asio::buffer(data, n), IoHandler{&d});
    }
    RunUntil(d);
    return d;
  }
  Done ReadSome(asio::mutable_buffer buf) {
    Done d;
    deadline_ = Clock::now() + timeout_;
    if (tls_) {
      tls_->async_read_some(buf, IoHandler{&d});
    } else {
      sock_.async_read_some(buf, IoHandler{&d});
    }
    RunUntil(d);
    return d;
  }

  Status WriteAll(const char* data, size_t n, Call& call) {
    while (n > 0) {
      if (call.stop.stop_requested()) cancelled_ = true;
      if (cancelled_) return Failed(call, ErrorKind::kCancelled, "send", {});
      Done d = WriteSome(data, n);
      bytes_written_ += d.n;
      SampleAcked();
      if (d.ec) return Failed(call, ErrorKind::kNetwork, "send", d.ec);
      data += d.n;
      n -= d.n;
    }
    return Status::OK();
  }

  Status WriteRequest(const HttpRequest& req, const std::string& head, Call& call, size_t io_size,
                      uint64_t* progress_total) {
    if (!req.file) {
      std::string out = head + req.body;
      return WriteAll(out.data(), out.size(), call);
    }
    const FileSlice& f = *req.file;
    std::vector<char> buf;
    buf.reserve(head.size() + std::min<uint64_t>(io_size, f.length));
    uint64_t done = 0;
    bool head_pending = true;
    do {
      size_t n = static_cast<size_t>(std::min<uint64_t>(io_size, f.length - done));
      // Pace before the bytes go out; the head travels with the first piece
      // so a starved limiter never leaves a server waiting on a bare header.
      if (n > 0 && call.limiter != nullptr && !call.limiter->Acquire(n, call.stop)) {
        cancelled_ = true;
        return Failed(call, ErrorKind::kCancelled, "send", {});
      }
      buf.clear();
      if (head_pending) buf.insert(buf.end(), head.begin(), head.end());
      size_t at = buf.size();
      buf.resize(at + n);
      size_t got = 0;
      while (got < n && f.read_at) {
        auto r = f.read_at(f.offset + done + got, std::span<char>(buf.data() + at + got, n - got));
        if (!r.ok()) return Fail(call, ErrorKind::kLocal, "read request body: " + r.status().message());
        if (*r == 0) return Fail(call, ErrorKind::kLocal, "read request body: source ended before the slice did");
        got += *r;
      }
      while (got < n) {
        ssize_t r = ::pread(f.fd, buf.data() + at + got, n - got, static_cast<off_t>(f.offset + done + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
          return Fail(call, ErrorKind::kLocal, std::string("read request body: ") + std::strerror(errno));
        if (r == 0)
          return Fail(call, ErrorKind::kLocal, "read request body: file ended before the slice did");
        got += static_cast<size_t>(r);
      }
      Status s = WriteAll(buf.data(), buf.size(), call);
      if (!s.ok()) return s;
      head_pending = false;
      done += n;
      *progress_total += n;
      if (n > 0 && call.progress) call.progress(*progress_total);
    } while (done < f.length);
    return Status::OK();
  }

  Status ReadResponse(bool head_request, size_t body_limit, Call& call, const BodySink* sink,
                      HttpResponse* resp, bool* answer_started) {
    while (true) {
      *resp = HttpResponse();
      ResponseParser p(resp, sink, body_limit, &call);
      p.eager(true);
      p.header_limit(kHeaderLimit);
      // Not boost::none: Boost 1.74 compares the length against the optional
      // and reads "none" as smaller than any length.
      p.body_limit(std::numeric_limits<std::uint64_t>::max());
      if (head_request) p.skip(true);
      while (true) {
        if (rbuf_.size() > 0) {
          error_code ec;
          size_t used = p.put(rbuf_.data(), ec);
          rbuf_.consume(used);
          if (ec && ec != bhttp::error::need_more) {
            if (!p.sink_status.ok()) {
              call.error.kind = ErrorKind::kLocal;
              return p.sink_status;
            }
            if (p.too_large) {
              return Fail(call, ErrorKind::kProtocol,
                          "answer body larger than " + std::to_string(body_limit) + " bytes");
            }
            return Fail(call, ErrorKind::kProtocol, "malformed HTTP answer: " + ec.message());
          }
          if (p.is_done()) break;
          if (!ec && used > 0 && rbuf_.size() > 0) continue;
        }
        if (call.stop.stop_requested()) cancelled_ = true;
        if (cancelled_) return Failed(call, ErrorKind::kCancelled, "receive", {});
        Done d = ReadSome(rbuf_.prepare(kReadSize));
        if (d.ec == asio::error::eof || d.ec == ssl::error::stream_truncated) {
          error_code ec;
          p.put_eof(ec);
          if (ec || !p.is_done()) {
            return Failed(call, ErrorKind::kNetwork, "receive", asio::error::connection_reset);
          }
          break;
        }
        if (d.ec) return Failed(call, ErrorKind::kNetwork, "receive", d.ec);
        rbuf_.commit(d.n);
        *answer_started = true;
      }
      // 1xx interim answers (100 Continue) precede the real one.
      if (resp->status >= 100 && resp->status < 200 && resp->status != 101) continue;
      keep_alive_ = p.keep_alive();
      return Status::OK();
    }
  }

  asio::io_context ioc_{1};
  tcp::socket sock_{ioc_};
  std::optional<ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer timer_{ioc_};
  asio::steady_timer sampler_{ioc_};
  beast::flat_buffer rbuf_;
  std::string origin_;
  std::chrono::milliseconds timeout_;
  Clock::time_point idle_since_;
  bool keep_alive_ = false;
  uint64_t bytes_written_ = 0;
  uint64_t bytes_acked_ = 0;
  // The exchange AckSampler reports on: its Call, where its body starts in
  // bytes_written_, its length, the body bytes acknowledged at the first
  // sample, and the last total reported.
  static constexpr std::chrono::milliseconds kAckSampleInterval{250};
  Call* ack_call_ = nullptr;
  uint64_t ack_base_ = 0;
  uint64_t ack_len_ = 0;
  std::optional<uint64_t> ack_first_;
  uint64_t ack_reported_ = 0;

  void SampleAcked() {
    if (!sock_.is_open()) return;
    // The kernel's running count first: it is exact at any moment, also
    // after a reset purged the send queue (SIOCOUTQ then reads 0).
    if (auto acked = KernelBytesAcked()) {
      bytes_acked_ = std::max(bytes_acked_, std::min(*acked, bytes_written_));
      return;
    }
    int queued = 0;
    if (::ioctl(sock_.native_handle(), SIOCOUTQ, &queued) != 0 || queued < 0) return;
    uint64_t q = static_cast<uint64_t>(queued);
    if (q <= bytes_written_) bytes_acked_ = std::max(bytes_acked_, bytes_written_ - q);
  }

  // tcpi_bytes_acked (Linux 4.1+). glibc's struct tcp_info stops before it;
  // the kernel's continues with two u64 rates and then this counter.
  std::optional<uint64_t> KernelBytesAcked() {
    struct Extended {
      struct tcp_info base;
      uint64_t pacing_rate;
      uint64_t max_pacing_rate;
      uint64_t bytes_acked;
    } info{};
    socklen_t len = sizeof info;
    if (::getsockopt(sock_.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
    if (len < offsetof(Extended, bytes_acked) + sizeof info.bytes_acked) return std::nullopt;
    return info.bytes_acked;
  }

 public:
  // Called when an exchange ended (or broke): the final acknowledged count.
  void RefreshAcked() { SampleAcked(); }

 private:

  // The exchange in progress (all touched only on the owning thread, inside
  // handlers run by RunUntil/poll).
  uint64_t gen_ = 0;
  bool active_ = false;
  bool cancelled_ = false;
  bool timed_out_ = false;
  Clock::time_point deadline_;
};

ssl::context MakeTlsContext() {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  error_code ec;
  ctx.set_default_verify_paths(ec);
  if (ec) log::Warn("registry client: system CA store not loaded", {{"error", ec.message()}});
  return ctx;
}

class TransportImpl final : public Transport {
 public:
  TransportImpl(const TransportOptions& o, std::optional<ssl::context> ctx) : options_(o), tls_(std::move(ctx)) {}

  Result<HttpResponse> Send(const HttpRequest& req, Call& call, const BodySink* sink) override {
    try {
      return SendOnce(req, call, sink);
    } catch (const std::exception& e) {
      call.error.kind = ErrorKind::kLocal;
      return Status::Internal(std::string("HTTP client: ") + e.what());
    }
  }

  uint64_t connections_opened() const override { return opened_.load(); }

 private:
  Result<HttpResponse> SendOnce(const HttpRequest& req, Call& call, const BodySink* sink) {
    if (HasLineBreak(req.method) || req.url.target.find_first_of(" \r\n\t") != std::string::npos) {
      return Fail(call, ErrorKind::kLocal, "request target has spaces or line breaks: refused");
    }
    for (const auto& [name, value] : req.headers) {
      if (HasLineBreak(name) || HasLineBreak(value)) {
        return Fail(call, ErrorKind::kLocal, "header " + name + " has a line break: refused");
      }
    }
    if (req.file && req.file->fd < 0 && !req.file->read_at) return Fail(call, ErrorKind::kLocal, "request body file is not open");
    std::string head = BuildHead(req);
    std::string origin = req.url.Origin();
    uint64_t progress_total = 0;
    for (int attempt = 0;; ++attempt) {
      if (call.stop.stop_requested()) return Fail(call, ErrorKind::kCancelled, req.method + ": cancelled");
      std::unique_ptr<Connection> conn = TakeIdle(origin);
      if (conn && call.connection_byte_budget > 0 &&
          conn->bytes_written() + head.size() + (req.file ? req.file->length : req.body.size()) >
              call.connection_byte_budget) {
        conn.reset();  // it would carry more than the link lets a connection carry
      }
      bool reused = conn != nullptr;
      if (!conn)
        conn =
            std::make_unique<Connection>(origin, std::chrono::milliseconds(options_.no_progress_timeout_ms));
      HttpResponse resp;
      bool started = false;
      bool reusable = false;
      Status s;
      {
        Connection::Watch watch(*conn, call);
        if (!reused) {
          s = conn->Connect(req.url, req.url.tls() ? TlsContext() : nullptr, options_.insecure, call);
          if (s.ok()) opened_.fetch_add(1);
        }
        if (s.ok()) {
          s = conn->RoundTrip(req, head, call, sink, options_.io_size, &progress_total, &resp, &started,
                              &reusable);
        }
      }
      conn->RefreshAcked();
      call.connection_bytes = conn->bytes_acked();
      if (s.ok()) {
        log::Debug("registry client request", {{"method", req.method},
                                               {"url", origin + std::string(req.url.path())},
                                               {"status", std::to_string(resp.status)},
                                               {"bytes", std::to_string(resp.body_bytes)}});
        if (reusable) PutIdle(std::move(conn));
        return resp;
      }
      // A kept-alive connection the server closed meanwhile: once more on a
      // new one, unless an answer had begun (then the request was seen).
      // Not after body bytes of a streamed upload went out: the server may
      // have taken them (a registry that then discards the session must not
      // see the same chunk again); the caller asks the upload's status.
      if (reused && !started && attempt == 0 && call.error.kind == ErrorKind::kNetwork &&
          !(req.file && progress_total > 0)) {
        call.error = ClientError();
        continue;
      }
      return Status(s.code(), req.method + " " + req.url.HostHeader() + std::string(req.url.path()) + ": " +
                                  s.message());
    }
  }

  std::string BuildHead(const HttpRequest& req) const {
    std::string h;
    h.reserve(256 + req.url.target.size());
    h += req.method;
    h += ' ';
    h += req.url.target;
    h += " HTTP/1.1\r\nHost: ";
    h += req.url.HostHeader();
    h += "\r\nUser-Agent: ";
    h += options_.user_agent;
    h += "\r\n";
    for (const auto& [name, value] : req.headers) {
      h += name;
      h += ": ";
      h += value;
      h += "\r\n";
    }
    if (req.file) {
      h += "Content-Length: " + std::to_string(req.file->length) + "\r\n";
    } else if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      h += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
    }
    h += "\r\n";
    return h;
  }

  std::unique_ptr<Connection> TakeIdle(const std::string& origin) {
    std::vector<std::unique_ptr<Connection>> stale;  // closed outside the lock
    std::unique_ptr<Connection> found;
    {
      std::lock_guard lock(mu_);
      auto it = idle_.find(origin);
      if (it == idle_.end()) return nullptr;
      auto& list = it->second;
      auto oldest_ok = Clock::now() - std::chrono::seconds(options_.idle_keep_seconds);
      while (!list.empty()) {
        std::unique_ptr<Connection> c = std::move(list.back());
        list.pop_back();
        if (c->idle_since() >= oldest_ok && c->LooksAlive()) {
          found = std::move(c);
          break;
        }
        stale.push_back(std::move(c));
      }
    }
    return found;
  }

  void PutIdle(std::unique_ptr<Connection> conn) {
    if (options_.max_idle_per_origin == 0) return;
    conn->MarkIdle();
    std::lock_guard lock(mu_);
    auto& list = idle_[conn->origin()];
    if (list.size() >= options_.max_idle_per_origin) list.erase(list.begin());
    list.push_back(std::move(conn));
  }

  TransportOptions options_;
  // Built at the first TLS connection: loading the system CA store takes
  // tens of milliseconds, which a plain-HTTP registry's first request (an
  // execution's start) should not wait for.
  ssl::context* TlsContext() {
    std::call_once(tls_once_, [this] {
      if (!tls_) tls_.emplace(MakeTlsContext());
    });
    return &*tls_;
  }
  std::once_flag tls_once_;
  std::optional<ssl::context> tls_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
  std::atomic<uint64_t> opened_{0};
};

}  // namespace

Result<std::unique_ptr<Transport>> Transport::Create(const TransportOptions& options) {
  try {
    // With a CA of its own the context is built now, so a bad PEM fails here.
    std::optional<ssl::context> ctx;
    if (!options.ca_pem.empty()) {
      ctx.emplace(MakeTlsContext());
      error_code ec;
      ctx->add_certificate_authority(asio::buffer(options.ca_pem), ec);
      if (ec) return Status::InvalidArgument("CA certificate is not usable PEM: " + ec.message());
    }
    TransportOptions o = options;
    if (o.io_size == 0) o.io_size = 64 * 1024;
    if (o.no_progress_timeout_ms <= 0) o.no_progress_timeout_ms = 60'000;
    return std::unique_ptr<Transport>(std::make_unique<TransportImpl>(o, std::move(ctx)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("TLS context: ") + e.what());
  }
}

}  // namespace pier::client
