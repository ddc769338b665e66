// One HTTP/1.1 connection: read a header, let the Handler Begin an Exchange,
// move the body the way it asks, call Finish once, write the Response, and
// start over on keep-alive. One request at a time per connection.
// Response bodies come from a string, a file (sendfile on plain TCP, pread
// on TLS, following a GrowingFile) or a StreamBody another thread produces.
//
// Modelled on Boost.Beast's advanced_server_flex example: a session object
// per connection kept alive by shared_from_this in every pending handler,
// an explicit async chain, timeouts on the beast::tcp_stream. All handlers
// of a session run on its strand (the accepted socket's executor); blocking
// finishes hop to the thread pool and post their Response back.
//
// This is the only translation unit that instantiates Beast templates.
#include "adapter/http/session.h"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "adapter/http/file_io.h"
#include "adapter/http/request_parser.h"
#include "base/log.h"
#include "base/text.h"

namespace pier::http::internal {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kFirstReadSize = 16 * 1024;      // first read of a request
constexpr size_t kBodyBufferSize = 256 * 1024;    // body pieces in, file pieces out (TLS)
constexpr uint64_t kIgnoreLimit = 1 << 20;        // kIgnore drains at most this much
constexpr uint64_t kSendTurn = 8 << 20;           // sendfile bytes before yielding
constexpr std::chrono::seconds kLingerRead{2};    // lingering close: per read
constexpr std::chrono::seconds kLingerTotal{10};  // lingering close: overall
constexpr uint64_t kLingerBytes = 64 << 20;       // lingering close: bytes drained

constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr char kInternalErrorBody[] = R"({"errors":[{"code":"UNKNOWN","message":"internal error"}]})";

Response ErrorResponse(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.Set("Content-Type", "application/json");
  r.body = R"({"errors":[{"code":"UNKNOWN","message":")" + std::string(message) + R"("}]})";
  return r;
}

Response InternalError() {
  Response r;
  r.status = 500;
  r.Set("Content-Type", "application/json");
  r.body = kInternalErrorBody;
  return r;
}

// Calls the handler's finish; an exception becomes a 500. `what` names the
// request for the log.
Response RunFinish(const std::function<Response(BodyResult)>& finish, BodyResult result,
                   const std::string& what) {
  if (!finish) return InternalError();
  try {
    return finish(std::move(result));
  } catch (const std::exception& e) {
    log::Error("http finish threw", {{"request", what}, {"error", e.what()}});
  } catch (...) {
    log::Error("http finish threw", {{"request", what}});
  }
  return InternalError();
}

bool IsHttpError(const beast::error_code& ec) {
  static const boost::system::error_category& kCategory =
      bhttp::make_error_code(bhttp::error::bad_target).category();
  return ec.category() == kCategory;
}

// A malformed message (as opposed to the peer going away or timing out).
bool IsProtocolError(const beast::error_code& ec) {
  return IsHttpError(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// The comma-separated items of one field value.
std::vector<std::string> ListItems(const std::string& value) {
  Request r;
  r.headers.emplace_back("x", value);
  return r.HeaderList("x");
}

bool ValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == ':' || c == '"' || c == '(' || c == ')' || c == ',' || c == '/' ||
        c == ';' || c == '<' || c == '=' || c == '>' || c == '?' || c == '@' || c == '[' || c == '\\' ||
        c == ']' || c == '{' || c == '}')
      return false;
  }
  return true;
}

bool ValidFieldValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const auto address = ep.address();
  std::string s = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return s + ":" + std::to_string(ep.port());
}

template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(tcp::socket&& socket, std::shared_ptr<const SessionConfig> config)
      : config_(std::move(config)),
        stream_(MakeStream(std::move(socket), *config_)),
        timer_(stream_.get_executor()) {}
  // A connection torn down with an exchange open (server stopping) still
  // reports its end.
  ~Session() {
    EndExchange(false);
    if (waker_) {
      std::lock_guard lock(waker_->mu);
      waker_->executor.reset();
    }
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = Self()] { self->Start(); });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, const SessionConfig& config) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *config.tls);
    } else {
      (void)config;
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Session> Self() { return this->shared_from_this(); }
  // "GET /v2/..." for logs.
  std::string Label() const { return request_.method + " " + request_.target; }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Expire(std::chrono::seconds timeout) {
    if (timeout.count() > 0) {
      Lowest().expires_after(timeout);
    } else {
      Lowest().expires_never();
    }
  }

  // ---- connection start -------------------------------------------------

  void Start() {
    beast::error_code ec;
    auto& socket = Lowest().socket();
    socket.set_option(tcp::no_delay(true), ec);
    auto peer = socket.remote_endpoint(ec);
    if (!ec) remote_ = FormatEndpoint(peer);
    if constexpr (kTls) {
      Expire(config_->io_timeout);
      stream_.async_handshake(net::ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec) return self->Drop();
        self->ReadRequest();
      });
    } else {
      ReadRequest();
    }
  }

  // ---- reading the request header ----------------------------------------

  void ReadRequest() {
    request_ = Request();
    exchange_ = Exchange();
    result_ = BodyResult();
    keep_alive_ = false;
    body_pending_ = false;
    close_after_ = false;
    linger_ = false;
    drop_after_finish_ = false;
    end_ = ExchangeEnd();
    version_ = 11;
    parser_.emplace();
    parser_->header_limit(config_->header_limit);
    if (buffer_.size() > 0) {  // pipelined bytes already here
      ReadHeader();
      return;
    }
    // Wait for the first byte under the idle timeout (the I/O timeout for a
    // fresh connection), then read the rest of the header under the I/O one.
    Expire(first_request_ ? config_->io_timeout : config_->idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadSize), [self = Self()](beast::error_code ec, size_t n) {
      self->buffer_.commit(n);
      if (ec) return self->Drop();
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    Expire(config_->io_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = Self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) return Refuse(431, "request header too large");
    if (IsProtocolError(ec)) return Refuse(400, "malformed request");
    if (ec) return Drop();

    version_ = parser_->version();
    keep_alive_ = parser_->keep_alive();
    body_pending_ = !parser_->is_done();
    if (!BuildRequest()) return Refuse(400, "malformed request target");

    try {
      exchange_ = config_->handler->Begin(request_);
    } catch (const std::exception& e) {
      log::Error("http handler threw", {{"request", Label()}, {"error", e.what()}});
      exchange_ = Reply(InternalError());
    } catch (...) {
      log::Error("http handler threw", {{"request", Label()}});
      exchange_ = Reply(InternalError());
    }
    on_end_ = std::move(exchange_.on_end);
    exchange_.on_end = nullptr;

    if (exchange_.immediate) {
      Response r = std::move(*exchange_.immediate);
      exchange_ = Exchange();
      if (body_pending_) close_after_ = linger_ = true;  // the body stays unread
      return Write(std::move(r));
    }
    if (!exchange_.finish) {
      exchange_ = Exchange();
      if (body_pending_) close_after_ = linger_ = true;
      return Write(InternalError());
    }
    if (!body_pending_) return Finish();

    // Refuse bodies we know are too large before asking for them.
    const auto length = parser_->content_length();
    const uint64_t limit = exchange_.mode == BodyMode::kBuffer   ? exchange_.buffer_limit
                           : exchange_.mode == BodyMode::kIgnore ? kIgnoreLimit
                                                                 : UINT64_MAX;
    if (length && *length > limit) {
      return FailBody(Status::SizeInvalid("request body of " + std::to_string(*length) +
                                          " bytes exceeds limit of " + std::to_string(limit)));
    }
    if (exchange_.mode == BodyMode::kStream && !exchange_.sink) {
      return FailBody(Status::Internal("no body sink"));
    }

    if (version_ >= 11 && EqualsNoCase(request_.Header("expect"), "100-continue")) {
      Expire(config_->io_timeout);
      net::async_write(stream_, net::buffer(kContinue, sizeof(kContinue) - 1),
                       [self = Self()](beast::error_code ec, size_t) {
                         if (ec) return self->LoseBody(ec);
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  bool BuildRequest() {
    request_.method = parser_->method();
    request_.target = parser_->target();
    request_.remote = remote_;
    request_.tls = kTls;
    request_.chunked = parser_->chunked();
    if (auto length = parser_->content_length()) request_.content_length = *length;
    request_.headers = std::move(parser_->fields());

    std::string_view target = request_.target;
    std::string_view path = target;
    if (size_t q = target.find('?'); q != std::string_view::npos) {
      path = target.substr(0, q);
      request_.query = std::string(target.substr(q + 1));
    }
    // absolute-form ("http://host/path"): keep the path.
    for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
      if (StartsWithNoCase(path, scheme)) {
        size_t slash = path.find('/', scheme.size());
        path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
        break;
      }
    }
    if (path.empty() || path.front() != '/') return false;
    auto decoded = PercentDecode(path);
    if (!decoded || decoded->find('\0') != std::string::npos) return false;
    request_.path = std::move(*decoded);
    return true;
  }

  // ---- reading the body ----------------------------------------------------

  void ReadBody() {
    if (!body_buffer_) body_buffer_ = std::make_unique_for_overwrite<char[]>(kBodyBufferSize);
    // A streamed body of known length (blob uploads) skips the parser: reads
    // go straight from the socket into the 256 KiB buffer, a quarter of the
    // system calls and one copy less than Beast's 64 KiB parser reads.
    if (exchange_.mode == BodyMode::kStream && !request_.chunked && request_.content_length) {
      raw_remaining_ = *request_.content_length;
      return ReadRawBody();
    }
    parser_->SetBodyBuffer(body_buffer_.get(), kBodyBufferSize);
    Expire(config_->io_timeout);
    bhttp::async_read_some(stream_, buffer_, *parser_,
                           [self = Self()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == bhttp::error::need_buffer) ec = {};  // our buffer is full: not an error
    const size_t got = parser_->used();
    if (got > 0) {
      Status status = Consume(std::span<const char>(body_buffer_.get(), got));
      if (!status.ok()) return FailBody(std::move(status));
    }
    if (IsProtocolError(ec))
      return FailBody(Status::InvalidArgument("malformed request body: " + ec.message()));
    if (ec) return LoseBody(ec);
    if (parser_->is_done()) return Finish();
    ReadBody();
  }

  void ReadRawBody() {
    if (buffer_.size() > 0) {  // body bytes that arrived with the header
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), raw_remaining_));
      Status status = Consume(std::span<const char>(static_cast<const char*>(buffer_.data().data()), n));
      buffer_.consume(n);
      raw_remaining_ -= n;
      if (!status.ok()) return FailBody(std::move(status));
    }
    if (raw_remaining_ == 0) return Finish();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(raw_remaining_, kBodyBufferSize));
    Expire(config_->io_timeout);
    stream_.async_read_some(net::buffer(body_buffer_.get(), want),
                            [self = Self()](beast::error_code ec, size_t n) { self->OnRawBody(ec, n); });
  }

  void OnRawBody(beast::error_code ec, size_t n) {
    if (n > 0) {
      raw_remaining_ -= n;
      Status status = Consume(std::span<const char>(body_buffer_.get(), n));
      if (!status.ok()) return FailBody(std::move(status));
    }
    if (ec) return LoseBody(ec);
    if (raw_remaining_ == 0) return Finish();
    ReadRawBody();
  }

  Status Consume(std::span<const char> piece) {
    result_.bytes += piece.size();
    switch (exchange_.mode) {
      case BodyMode::kIgnore:
        if (result_.bytes > kIgnoreLimit) return Status::SizeInvalid("request body too large");
        return Status::OK();
      case BodyMode::kBuffer:
        if (result_.bytes > exchange_.buffer_limit) {
          return Status::SizeInvalid("request body exceeds limit of " +
                                     std::to_string(exchange_.buffer_limit));
        }
        result_.buffered.append(piece.data(), piece.size());
        return Status::OK();
      case BodyMode::kStream:
        try {
          return exchange_.sink->Write(piece);
        } catch (const std::exception& e) {
          return Status::Internal(std::string("body sink threw: ") + e.what());
        } catch (...) {
          return Status::Internal("body sink threw");
        }
    }
    return Status::Internal("bad body mode");
  }

  // We stop reading a body the client is still sending: answer, then close.
  void FailBody(Status status) {
    result_.status = std::move(status);
    close_after_ = linger_ = true;
    Finish();
  }

  // The client went away or stalled mid-body: tell the handler, answer no one.
  void LoseBody(const beast::error_code& ec) {
    result_.status = Status::IOError("request body cut short: " + ec.message());
    drop_after_finish_ = true;
    Finish();
  }

  // ---- finishing the exchange -----------------------------------------------

  void Finish() {
    body_buffer_.reset();
    auto finish = std::move(exchange_.finish);
    exchange_.finish = nullptr;
    end_.request_bytes = result_.bytes;
    BodyResult result = std::move(result_);
    result_ = BodyResult();
    const bool blocking = exchange_.blocking;
    exchange_.sink.reset();
    if (!blocking) return OnFinished(RunFinish(finish, std::move(result), Label()));
    net::post(*config_->blocking,
              [self = Self(), executor = stream_.get_executor(), finish = std::move(finish),
               result = std::move(result), label = Label()]() mutable {
                Response response = RunFinish(finish, std::move(result), label);
                finish = nullptr;  // release handler state off the I/O thread
                net::post(executor, [self = std::move(self), response = std::move(response)]() mutable {
                  self->OnFinished(std::move(response));
                });
              });
  }

  void OnFinished(Response response) {
    if (drop_after_finish_) return Drop();
    Write(std::move(response));
  }

  // Answers a request we could not parse (no Exchange), then closes.
  void Refuse(int status, std::string_view message) {
    keep_alive_ = false;
    close_after_ = linger_ = true;
    Write(ErrorResponse(status, message));
  }

  // ---- writing the response --------------------------------------------------

  void Write(Response r) {
    try {
      WriteResponse(std::move(r));
    } catch (const std::exception& e) {
      log::Error("http response failed", {{"request", Label()}, {"error", e.what()}});
      Drop();
    }
  }

  template <class Message>
  void FillHeader(Message& m, Response& r, unsigned status) {
    m.version(version_ >= 11 ? 11 : 10);
    m.result(status);
    for (auto& [name, value] : r.headers) {
      if (!ValidFieldName(name) || !ValidFieldValue(value)) continue;
      if (EqualsNoCase(name, "content-length") || EqualsNoCase(name, "transfer-encoding")) continue;
      if (EqualsNoCase(name, "connection")) {
        for (const auto& token : ListItems(value)) {
          if (EqualsNoCase(token, "close")) close_ = true;
        }
        continue;
      }
      m.insert(name, value);
    }
  }

  void WriteResponse(Response r) {
    const bool head = request_.method == "HEAD";
    unsigned status = (r.status >= 100 && r.status <= 999) ? static_cast<unsigned>(r.status) : 500;
    close_ = r.close || !keep_alive_ || close_after_;
    // 1xx and 204 carry no Content-Length; 304 only the one the handler gave.
    const bool no_body = status < 200 || status == 204 || status == 304;
    std::optional<uint64_t> length;
    end_.status = static_cast<int>(status);
    const bool streamed = r.stream && !r.file;
    if (streamed && !r.stream_length) {
      log::Error("http stream response without a length", {{"request", Label()}});
      return WriteResponse(InternalError());
    }
    if (status == 304) {
      length = r.head_length;
    } else if (status >= 200 && status != 204) {
      length = r.file ? r.file->length : streamed ? *r.stream_length : r.body.size();
      if (head && r.head_length) length = r.head_length;
    }

    if (r.file && !head && !no_body && r.file->length > 0) {
      file_header_.emplace();
      FillHeader(*file_header_, r, status);
      file_header_->content_length(r.file->length);
      file_header_->keep_alive(!close_);
      body_total_ = r.file->length;
      file_ = std::move(r.file);
      file_serializer_.emplace(*file_header_);
      Expire(config_->io_timeout);
      bhttp::async_write_header(stream_, *file_serializer_, [self = Self()](beast::error_code ec, size_t) {
        if (ec) return self->Drop();
        if constexpr (kTls) {
          self->WriteFileChunk();
        } else {
          self->SendFile();
        }
      });
      return;
    }

    if (streamed && !head && !no_body && *r.stream_length > 0) {
      file_header_.emplace();
      FillHeader(*file_header_, r, status);
      file_header_->content_length(*r.stream_length);
      file_header_->keep_alive(!close_);
      body_total_ = stream_left_ = *r.stream_length;
      stream_body_ = std::move(r.stream);
      file_serializer_.emplace(*file_header_);
      Expire(config_->io_timeout);
      bhttp::async_write_header(stream_, *file_serializer_, [self = Self()](beast::error_code ec, size_t) {
        if (ec) return self->Drop();
        self->SendStream();
      });
      return;
    }

    // Any stream not sent (HEAD, no body, zero length) is released with `r`.
    response_.emplace();
    FillHeader(*response_, r, status);
    if (length) response_->content_length(*length);
    body_total_ = 0;
    if (!head && !no_body && !r.file) {
      body_total_ = r.body.size();
      response_->body() = std::move(r.body);
    }
    response_->keep_alive(!close_);
    Expire(config_->io_timeout);
    bhttp::async_write(stream_, *response_,
                       [self = Self()](beast::error_code ec, size_t) { self->OnWritten(ec); });
  }

  // Plain TCP: sendfile(2) straight from the page cache to the socket.
  void SendFile() {
    auto& socket = Lowest().socket();
    beast::error_code ec;
    if (!socket.native_non_blocking()) socket.native_non_blocking(true, ec);
    if (ec) return Drop();
    uint64_t turn = kSendTurn;
    while (file_->length > 0) {
      if (turn == 0) return WaitWritable();  // let other connections run
      if (GrowthFailed()) return Drop();
      const uint64_t sendable = Sendable();
      if (sendable == 0) return WaitGrowth();
      int64_t n = SendFileSome(socket.native_handle(), file_->fd.get(), &file_->offset, std::min(sendable, turn));
      if (n > 0) {
        file_->length -= static_cast<uint64_t>(n);
        turn -= static_cast<uint64_t>(n);
        continue;
      }
      if (n == -EAGAIN || n == -EWOULDBLOCK) return WaitWritable();
      if (n == 0)
        log::Error("http file body ended early",
                   {{"request", Label()}, {"missing", std::to_string(file_->length)}});
      return Drop();  // error, or the file is shorter than promised
    }
    OnWritten({});
  }

  // Waits for socket space; a timer bounds the wait so a client that stops
  // reading is dropped after the I/O timeout.
  void WaitWritable() {
    const uint64_t generation = ++wait_generation_;
    if (config_->io_timeout.count() > 0) {
      timer_.expires_after(config_->io_timeout);
      timer_.async_wait([self = Self(), generation](beast::error_code ec) {
        if (ec || generation != self->wait_generation_) return;
        beast::error_code ignored;
        self->Lowest().socket().cancel(ignored);
      });
    }
    Lowest().socket().async_wait(tcp::socket::wait_write, [self = Self()](beast::error_code ec) {
      ++self->wait_generation_;
      self->timer_.cancel();
      if (ec) return self->Drop();
      self->SendFile();
    });
  }

  // A body from a file still being written (FileRange::growing): what has
  // arrived may go out; the rest waits for the writer.
  uint64_t Sendable() const {
    if (!file_->growing) return file_->length;
    const uint64_t available = file_->growing->Available();
    return available > file_->offset ? std::min(file_->length, available - file_->offset) : 0;
  }

  // The writer gave up or the bytes proved wrong: the client must not take
  // what it got for the whole body, so the connection is dropped.
  bool GrowthFailed() {
    if (!file_->growing || !file_->growing->Failed()) return false;
    log::Warn("http file body failed while growing; closing the connection",
              {{"request", Label()}, {"missing", std::to_string(file_->length)}});
    return true;
  }

  // Continues the body on this connection's strand once more bytes are there.
  void WaitGrowth() {
    file_->growing->WhenBeyond(file_->offset, [self = Self(), executor = stream_.get_executor()] {
      net::post(executor, [self] {
        if constexpr (kTls) {
          self->WriteFileChunk();
        } else {
          self->SendFile();
        }
      });
    });
  }

  // TLS: pread a piece and write it through the TLS stream.
  void WriteFileChunk() {
    if (file_->length == 0) return OnWritten({});
    if (GrowthFailed()) return Drop();
    const uint64_t sendable = Sendable();
    if (sendable == 0) return WaitGrowth();
    if (!body_buffer_) body_buffer_ = std::make_unique_for_overwrite<char[]>(kBodyBufferSize);
    const size_t want = static_cast<size_t>(std::min<uint64_t>(sendable, kBodyBufferSize));
    int64_t n = ReadFileSome(file_->fd.get(), file_->offset, body_buffer_.get(), want);
    if (n <= 0) {
      log::Error("http file body read failed", {{"request", Label()}, {"result", std::to_string(n)}});
      return Drop();
    }
    file_->offset += static_cast<uint64_t>(n);
    file_->length -= static_cast<uint64_t>(n);
    Expire(config_->io_timeout);
    net::async_write(stream_, net::buffer(body_buffer_.get(), static_cast<size_t>(n)),
                     [self = Self()](beast::error_code ec, size_t) {
                       if (ec) return self->Drop();
                       self->WriteFileChunk();
                     });
  }

  // ---- stream bodies (Response::stream) ----------------------------------------

  // Writes what the producer has ready, piece by piece, through either
  // stream type; waits for it when it is behind. The io_timeout on each
  // write drops a client that stops reading.
  void SendStream() {
    if (stream_left_ == 0) {
      if (!stream_body_->Peek().empty())
        log::Warn("http stream body longer than announced; the surplus is ignored", {{"request", Label()}});
      return OnWritten({});
    }
    const auto piece = stream_body_->Peek();
    if (piece.empty()) {
      if (stream_body_->Failed()) {
        log::Warn("http stream body failed; closing the connection",
                  {{"request", Label()}, {"missing", std::to_string(stream_left_)}});
        return Drop();
      }
      if (stream_body_->Ended()) {
        log::Error("http stream body ended early",
                   {{"request", Label()}, {"missing", std::to_string(stream_left_)}});
        return Drop();
      }
      return WaitStream();
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), stream_left_));
    Expire(config_->io_timeout);
    // `piece` stays valid until Consume, which comes after the write.
    net::async_write(stream_, net::buffer(piece.data(), n), [self = Self()](beast::error_code ec, size_t sent) {
      self->stream_left_ -= sent;
      if (ec) return self->Drop();
      self->stream_body_->Consume(sent);
      self->SendStream();
    });
  }

  // Waits for the producer. Its callback runs on its own thread and holds
  // no reference to the session, only the Waker: what keeps the session
  // alive meanwhile is a never-expiring wait on `timer_` in the io_context,
  // so a stopping server destroys the session (releasing the stream, which
  // unblocks the producer) instead of leaving it tied to the producer.
  void WaitStream() {
    const uint64_t generation = ++wait_generation_;
    timer_.expires_at(Clock::time_point::max());
    timer_.async_wait([self = Self()](beast::error_code) {});
    if (!waker_) {
      waker_ = std::make_shared<Waker>();
      waker_->executor = stream_.get_executor();
      waker_->session = this->weak_from_this();
    }
    stream_body_->WhenReady([waker = waker_, generation] {
      std::lock_guard lock(waker->mu);
      if (!waker->executor) return;  // the session is gone, maybe its io_context too
      net::post(*waker->executor, [session = waker->session, generation] {
        if (auto self = session.lock()) self->OnStreamReady(generation);
      });
    });
  }

  void OnStreamReady(uint64_t generation) {
    if (generation != wait_generation_ || !stream_body_) return;  // a wait of an earlier exchange
    ++wait_generation_;
    timer_.cancel();
    SendStream();
  }

  void OnWritten(beast::error_code ec) {
    if (!ec) end_.response_bytes = body_total_;
    EndExchange(!ec);
    response_.reset();
    file_serializer_.reset();
    file_header_.reset();
    file_.reset();
    stream_body_.reset();
    body_buffer_.reset();
    if (ec) return Drop();
    if (close_) return Close();
    first_request_ = false;
    ReadRequest();
  }

  // Reports the current exchange's end to its on_end, once.
  void EndExchange(bool completed) {
    if (!on_end_) return;
    auto on_end = std::move(on_end_);
    on_end_ = nullptr;
    end_.completed = completed;
    try {
      on_end(end_);
    } catch (...) {
      log::Error("http on_end threw", {{"request", Label()}});
    }
  }

  // ---- ending the connection ---------------------------------------------------

  void Close() {
    if (linger_) return Linger();
    if constexpr (kTls) {
      const auto io = config_->io_timeout;
      Expire(io.count() > 0 && io < kLingerTotal ? io : kLingerTotal);
      stream_.async_shutdown([self = Self()](beast::error_code) { self->Drop(); });
    } else {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Drop();
    }
  }

  // The client may still be sending a body we did not read. Closing now
  // would reset the connection and could destroy our answer in flight, so
  // read and discard for a bounded time first.
  void Linger() {
    linger_ = false;
    linger_deadline_ = Clock::now() + kLingerTotal;
    linger_bytes_ = 0;
    if constexpr (!kTls) {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    LingerRead();
  }

  void LingerRead() {
    if (!body_buffer_) body_buffer_ = std::make_unique_for_overwrite<char[]>(kBodyBufferSize);
    Lowest().expires_at(std::min(Clock::now() + kLingerRead, linger_deadline_));
    stream_.async_read_some(net::buffer(body_buffer_.get(), kBodyBufferSize),
                            [self = Self()](beast::error_code ec, size_t n) {
                              self->linger_bytes_ += n;
                              if (ec || self->linger_bytes_ > kLingerBytes) return self->Drop();
                              self->LingerRead();
                            });
  }

  void Drop() {
    if (file_) end_.response_bytes = body_total_ - file_->length;  // sent before the drop
    if (stream_body_) end_.response_bytes = body_total_ - stream_left_;
    stream_body_.reset();  // tells the producer to stop
    EndExchange(false);
    ++wait_generation_;
    timer_.cancel();
    body_buffer_.reset();
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  std::shared_ptr<const SessionConfig> config_;
  Stream stream_;
  net::steady_timer timer_;  // bounds sendfile's waits for socket space; anchors stream waits
  beast::flat_buffer buffer_;
  std::string remote_;
  bool first_request_ = true;

  // The current request.
  std::optional<RequestParser> parser_;
  Request request_;
  Exchange exchange_;
  BodyResult result_;
  int version_ = 11;
  bool keep_alive_ = false;
  bool body_pending_ = false;       // the request has a body not yet read
  bool close_after_ = false;        // close after the response (body left unread...)
  bool linger_ = false;             // drain unread input before closing
  bool drop_after_finish_ = false;  // the body was lost: no response, just close
  std::unique_ptr<char[]> body_buffer_;
  uint64_t raw_remaining_ = 0;  // body bytes still to read on the raw path

  // The current response.
  bool close_ = false;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  std::optional<bhttp::response<bhttp::empty_body>> file_header_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> file_serializer_;
  std::optional<FileRange> file_;  // offset/length advance as the body goes out
  uint64_t wait_generation_ = 0;
  uint64_t body_total_ = 0;  // body bytes the current response carries
  std::shared_ptr<StreamBody> stream_body_;  // Response::stream being sent
  uint64_t stream_left_ = 0;                 // its bytes still to send

  // How a producer's thread reaches this connection: posts to its strand
  // while the session lives, never after (the executor is reset by the
  // destructor, before the io_context can go away).
  struct Waker {
    std::mutex mu;
    std::optional<net::any_io_executor> executor;
    std::weak_ptr<Session> session;
  };
  std::shared_ptr<Waker> waker_;

  // How the current exchange ends (Exchange::on_end).
  std::function<void(const ExchangeEnd&)> on_end_;
  ExchangeEnd end_;

  // Lingering close.
  Clock::time_point linger_deadline_;
  uint64_t linger_bytes_ = 0;
};

}  // namespace

void RunSession(tcp::socket socket, std::shared_ptr<const SessionConfig> config) {
  try {
    if (config->tls) {
      std::make_shared<Session<true>>(std::move(socket), std::move(config))->Run();
    } else {
      std::make_shared<Session<false>>(std::move(socket), std::move(config))->Run();
    }
  } catch (const std::exception& e) {
    log::Error("http connection failed to start", {{"error", e.what()}});
  }
}

}  // namespace pier::http::internal
