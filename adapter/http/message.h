#pragma once
// The HTTP exchange as handlers see it, free of Boost types so handler code
// compiles fast and tests can build requests by hand.
//
// The server reads a request's header, asks the Handler to Begin() an
// Exchange, and the Exchange says how the body is consumed: ignored (and
// drained up to a small limit), buffered up to a limit, or streamed chunk by
// chunk into a BodySink. When the body is done (or failed) the server calls
// Finish() exactly once, on the I/O thread or on the blocking pool as the
// Exchange asks, and writes the Response it returns.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/file.h"
#include "base/growing_file.h"
#include "base/status.h"
#include "base/stream_body.h"

namespace pier::http {

struct Request {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // raw request-target: path + optional "?query"
  std::string path;    // percent-decoded path without the query
  std::string query;   // raw query string without '?'
  // Header fields in arrival order, names lower-cased. Repeated fields (e.g.
  // several Accept lines) stay separate entries.
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked
  std::string remote;    // peer address, for logs
  bool tls = false;

  // First value of a header (case-insensitive name), or empty.
  std::string_view Header(std::string_view name) const;
  // Every value of a header, each comma-separated list split into items and
  // trimmed (so six Accept lines and one Accept line with six items match).
  std::vector<std::string> HeaderList(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // Decoded value of a query parameter (first occurrence); nullopt if absent.
  std::optional<std::string> Query(std::string_view key) const;
};

struct FileRange {
  UniqueFd fd;
  uint64_t offset = 0;
  uint64_t length = 0;
  // Set when the file is still being written: the server sends what is
  // there, waits for more, and closes the connection if the file fails.
  std::shared_ptr<GrowingFile> growing;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                 // used when neither `file` nor `stream` is set
  std::optional<FileRange> file;    // body streamed from a file (sendfile when possible)
  // Body produced by someone else piece by piece (an object store GET, see
  // base/byte_pipe.h); used when `file` is empty. `stream_length` is
  // required with it: it is sent as Content-Length and the producer must
  // deliver exactly that many bytes. Fewer (it ends early or fails) and the
  // connection is dropped so the client cannot take the body for whole;
  // more and the surplus is ignored (and logged). The server releases the
  // stream as soon as the exchange ends, which tells the producer to stop.
  std::shared_ptr<StreamBody> stream;
  std::optional<uint64_t> stream_length;
  // For HEAD: Content-Length to announce while sending no body.
  std::optional<uint64_t> head_length;
  bool close = false;               // close the connection after this response

  Response& Set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Receives a streamed request body. Write() is called on an I/O thread with
// each piece as it arrives; it must not block for long (page-cache writes
// are fine). A non-OK status stops reading; Finish then sees it.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual Status Write(std::span<const char> data) = 0;
};

struct BodyResult {
  Status status;        // not OK: the body was cut short, too large, or the sink failed
  std::string buffered; // BodyMode::kBuffer only
  uint64_t bytes = 0;   // body bytes received
};

enum class BodyMode { kIgnore, kBuffer, kStream };

// How an exchange ended (Exchange::on_end): what metrics and access logs
// want to know once the last byte is out, not when the Response is decided.
struct ExchangeEnd {
  int status = 0;               // status of the response written; 0 when none was
  bool completed = false;       // the whole response was handed to the socket
  uint64_t request_bytes = 0;   // request body bytes read
  uint64_t response_bytes = 0;  // response body bytes written (headers excluded)
};

struct Exchange {
  BodyMode mode = BodyMode::kIgnore;
  uint64_t buffer_limit = 0;       // kBuffer: larger bodies fail with SizeInvalid
  std::shared_ptr<BodySink> sink;  // kStream
  // Run Finish on the blocking thread pool (fsync, RocksDB writes...).
  bool blocking = false;
  // When set, the server sends this at once without reading the body (and
  // closes the connection if a body was announced). Finish is not called.
  std::optional<Response> immediate;
  std::function<Response(BodyResult)> finish;
  // Optional. Called exactly once when the exchange is over: after the
  // response's last byte was written, or when the connection ended first
  // (client gone, timeout, server stopping). Runs on the connection's I/O
  // thread (or the one destroying it): must be cheap and must not throw.
  std::function<void(const ExchangeEnd&)> on_end;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Called on an I/O thread once the header is read. Must not block.
  virtual Exchange Begin(const Request& request) = 0;
};

// Convenience: an Exchange that answers `r` at once.
inline Exchange Reply(Response r) {
  Exchange e;
  e.immediate = std::move(r);
  return e;
}

// Percent-decodes a URL component; nullopt on malformed escapes.
std::optional<std::string> PercentDecode(std::string_view s);
std::string PercentEncode(std::string_view s);

}  // namespace pier::http
