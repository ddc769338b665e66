#pragma once
// Internal: blocking HTTP/1.1 exchanges over plain TCP or TLS with a small
// keep-alive pool per origin. Boost-free so only transport.cc instantiates
// Beast and Asio templates.
//
// Every exchange runs on the calling thread and is interruptible: the
// Call's stop token closes the socket at once, and a no-progress watchdog
// closes it when no byte has moved for the configured time (there is no
// total-time limit: a slow link may take hours for one blob).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapter/client/call.h"
#include "adapter/client/url.h"
#include "base/status.h"

namespace pier::client {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", "PUT", ...
  Url url;
  // Extra header fields; Host, User-Agent and Content-Length are added by the
  // transport. Values must not contain CR or LF.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;               // sent when `file` is not set
  std::optional<FileSlice> file;  // streamed body, paced by Call::limiter
  // Largest body kept in HttpResponse::body. A 2xx answer with a larger
  // buffered body fails (kProtocol); an error answer is truncated to it.
  size_t body_limit = 64 * 1024;
};

struct HttpResponse {
  int status = 0;
  // Header fields in arrival order, names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;         // buffered body (empty when it went to the sink)
  uint64_t body_bytes = 0;  // body bytes received, buffered or not
  bool to_sink = false;     // the body went to the sink

  // First value of a header (name lower-case), empty when absent.
  std::string Header(std::string_view name) const;
  bool Has(std::string_view name) const;
  // Every value of a header, in order.
  std::vector<std::string> HeaderAll(std::string_view name) const;
};

// Receives a 2xx answer's body piece by piece, with the answer's status
// and header fields already filled in `head`. A non-OK Status aborts the
// exchange (kLocal) and is returned to the caller.
using BodySink = std::function<Status(const HttpResponse& head, std::span<const char> data)>;

struct TransportOptions {
  std::string ca_pem;     // extra trusted CA certificates (PEM), added to the system store
  bool insecure = false;  // skip certificate and host name verification
  int no_progress_timeout_ms = 60'000;
  size_t max_idle_per_origin = 4;
  int idle_keep_seconds = 30;  // idle pooled connections older than this are closed
  size_t io_size = 64 * 1024;  // bytes per body write (and per RateLimiter::Acquire)
  std::string user_agent = "pier-registry-client";
};

class Transport {
 public:
  // InvalidArgument when ca_pem holds no usable certificate.
  static Result<std::unique_ptr<Transport>> Create(const TransportOptions& options);
  virtual ~Transport() = default;

  // Sends one request and reads the whole answer, whatever its status. The
  // body of a 2xx answer goes to `sink` when one is given. A request that
  // fails on a reused keep-alive connection before any answer byte arrived
  // is retried once on a new connection.
  // Failure: non-OK Status with call.error.kind one of kCancelled, kNetwork,
  // kTls, kTimeout, kProtocol (malformed or oversized answer) or kLocal
  // (source read or sink failure, header injection).
  virtual Result<HttpResponse> Send(const HttpRequest& request, Call& call,
                                    const BodySink* sink = nullptr) = 0;

  // Connections opened since creation (to test keep-alive reuse).
  virtual uint64_t connections_opened() const = 0;
};

}  // namespace pier::client
