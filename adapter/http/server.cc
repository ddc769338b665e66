// The listener and the thread pools: binds, accepts connections onto their
// own strands and hands each to a session (session.cc). Stop() tears it all
// down: stop the io_context, join its threads, wait for blocking finishes,
// then destroy the io_context, which destroys every pending handler and with
// them the sessions and their sockets.
#include "adapter/http/server.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "adapter/http/session.h"
#include "base/log.h"

namespace pier::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, std::shared_ptr<Handler> handler)
      : options_(options), handler_(std::move(handler)) {}
  ~ServerImpl() override { Stop(); }

  Status Init() {
    if (!handler_) return Status::InvalidArgument("http server: no handler");
    int io_threads =
        options_.io_threads > 0 ? options_.io_threads : static_cast<int>(std::thread::hardware_concurrency());
    io_threads = std::max(io_threads, 1);
    ioc_.emplace(io_threads);

    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
      if (Status s = InitTls(); !s.ok()) return s;
    }

    error_code ec;
    const auto address = net::ip::make_address(options_.address, ec);
    if (ec) return Status::InvalidArgument("http server: bad listen address '" + options_.address + "'");
    const tcp::endpoint endpoint(address, options_.port);
    const std::string where = options_.address + ":" + std::to_string(options_.port);
    acceptor_.emplace(*ioc_);
    if (acceptor_->open(endpoint.protocol(), ec); ec)
      return Status::IOError("http server: socket: " + ec.message());
    if (acceptor_->set_option(net::socket_base::reuse_address(true), ec); ec) {
      return Status::IOError("http server: SO_REUSEADDR: " + ec.message());
    }
    if (acceptor_->bind(endpoint, ec); ec)
      return Status::IOError("http server: bind " + where + ": " + ec.message());
    if (acceptor_->listen(net::socket_base::max_listen_connections, ec); ec) {
      return Status::IOError("http server: listen " + where + ": " + ec.message());
    }
    port_ = acceptor_->local_endpoint(ec).port();
    if (ec) return Status::IOError("http server: local endpoint: " + ec.message());

    blocking_.emplace(static_cast<size_t>(std::max(options_.blocking_threads, 1)));
    auto config = std::make_shared<internal::SessionConfig>();
    config->handler = handler_;
    config->blocking = &*blocking_;
    config->tls = tls_ ? &*tls_ : nullptr;
    config->header_limit = options_.header_limit;
    config->idle_timeout = std::chrono::seconds(options_.idle_timeout_seconds);
    config->io_timeout = std::chrono::seconds(options_.io_timeout_seconds);
    config_ = std::move(config);

    accept_backoff_.emplace(*ioc_);
    work_.emplace(ioc_->get_executor());
    Accept();
    threads_.reserve(static_cast<size_t>(io_threads));
    for (int i = 0; i < io_threads; ++i) threads_.emplace_back([this] { RunIo(); });
    return Status::OK();
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    std::lock_guard stop_lock(stop_mu_);
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
    }
    work_.reset();
    if (ioc_) ioc_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // The I/O threads are gone: nothing else touches these objects now.
    error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    acceptor_.reset();
    accept_backoff_.reset();
    // Blocking finishes may still run; their results are posted to the
    // stopped io_context and destroyed with it.
    if (blocking_) blocking_->join();
    ioc_.reset();
    blocking_.reset();
    config_.reset();
    tls_.reset();
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

  void Wait() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stopped_; });
  }

 private:
  Status InitTls() {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return Status::InvalidArgument("http server: TLS needs both a certificate and a key file");
    }
    tls_.emplace(net::ssl::context::tls_server);
    tls_->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                      net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                      net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression |
                      net::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
    error_code ec;
    tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec)
      return Status::IOError("http server: TLS certificate " + options_.tls_cert_file + ": " + ec.message());
    tls_->use_private_key_file(options_.tls_key_file, net::ssl::context::pem, ec);
    if (ec) return Status::IOError("http server: TLS key " + options_.tls_key_file + ": " + ec.message());
    if (SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
      return Status::InvalidArgument("http server: TLS key does not match the certificate");
    }
    return Status::OK();
  }

  void RunIo() {
    // A handler that throws must not take the server down.
    for (;;) {
      try {
        ioc_->run();
        return;
      } catch (const std::exception& e) {
        log::Error("http I/O handler threw", {{"error", e.what()}});
      } catch (...) {
        log::Error("http I/O handler threw");
      }
    }
  }

  void Accept() {
    acceptor_->async_accept(net::make_strand(*ioc_), [this](error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors or similar: back off instead of spinning.
        log::Warn("http accept failed", {{"error", ec.message()}});
        accept_backoff_->expires_after(std::chrono::milliseconds(100));
        accept_backoff_->async_wait([this](error_code ec) {
          if (!ec) Accept();
        });
        return;
      }
      internal::RunSession(std::move(socket), config_);
      Accept();
    });
  }

  const ServerOptions options_;
  const std::shared_ptr<Handler> handler_;
  uint16_t port_ = 0;

  std::optional<net::io_context> ioc_;
  std::optional<net::ssl::context> tls_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> accept_backoff_;
  std::optional<net::thread_pool> blocking_;
  std::shared_ptr<const internal::SessionConfig> config_;
  std::vector<std::thread> threads_;

  std::mutex stop_mu_;  // serializes Stop()
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                              std::shared_ptr<Handler> handler) {
  try {
    auto server = std::make_unique<ServerImpl>(options, std::move(handler));
    if (Status s = server->Init(); !s.ok()) return s;
    return std::unique_ptr<Server>(std::move(server));
  } catch (const std::exception& e) {
    return Status::IOError(std::string("http server: ") + e.what());
  }
}

}  // namespace pier::http
