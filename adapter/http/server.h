#pragma once
// The HTTP/1.1 server (Boost.Beast, async): one session object per
// connection, a pool of I/O threads, a separate pool for blocking work.
// Bodies are streamed in both directions; file bodies go out with
// sendfile(2) on plain TCP. Header size is bounded; idle and slow clients
// are timed out; TLS when a certificate and key are given.
#include <cstdint>
#include <memory>
#include <string>

#include "adapter/http/message.h"
#include "base/status.h"

namespace pier::http {

struct ServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 5000;           // 0: pick a free port (see Server::port())
  int io_threads = 0;             // 0: one per core
  int blocking_threads = 16;      // pool for Exchange::blocking finishes
  uint32_t header_limit = 64 * 1024;
  int idle_timeout_seconds = 120;   // no request on a kept-alive connection
  int io_timeout_seconds = 60;      // no progress while reading/writing a message
  std::string tls_cert_file;        // PEM; both set: serve HTTPS
  std::string tls_key_file;
};

class Server {
 public:
  // Binds and listens; Unsupported/IOError on failure (address in use...).
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, std::shared_ptr<Handler> handler);
  virtual ~Server() = default;
  // The bound port (useful with port 0).
  virtual uint16_t port() const = 0;
  // Stops accepting, closes connections, joins threads. Idempotent.
  virtual void Stop() = 0;
  // Blocks until Stop() is called (from another thread or a signal).
  virtual void Wait() = 0;
};

}  // namespace pier::http
