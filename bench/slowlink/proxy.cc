#include "bench/slowlink/proxy.h"

#include <cstdio>

#include "bench/slowlink/connection.h"

namespace pier::slowlink {
namespace asio = boost::asio;

std::unique_ptr<Proxy> Proxy::Create(asio::io_context& io, Config config, std::string* error) {
  const asio::ip::tcp::endpoint listen = config.listen;
  std::unique_ptr<Proxy> proxy(new Proxy(io, std::move(config)));
  boost::system::error_code ec;
  auto& a = proxy->acceptor_;
  a.open(listen.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(listen, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) proxy->local_ = a.local_endpoint(ec);
  if (ec) {
    *error = "cannot listen on " + listen.address().to_string() + ":" + std::to_string(listen.port()) + ": " +
             ec.message();
    return nullptr;
  }
  return proxy;
}

Proxy::Proxy(asio::io_context& io, Config config)
    : io_(io), link_(std::make_shared<Link>(io, std::move(config))), acceptor_(io), retry_timer_(io) {}

void Proxy::Start() { Accept(); }

void Proxy::Accept() {
  acceptor_.async_accept(io_, [this](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning.
      std::fprintf(stderr, "slowlink: accept: %s\n", ec.message().c_str());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const boost::system::error_code& wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    const uint64_t number = ++sequence_;
    const bool cut =
        (link_->config.cut_after || link_->config.cut_down_after) && number % link_->config.cut_every == 0;
    link_->counters->connections_accepted.fetch_add(1, std::memory_order_relaxed);
    std::make_shared<Connection>(link_, std::move(socket), cut)->Start();
    Accept();
  });
}

void Proxy::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  link_->reporter.Close();
}

void Proxy::FlushStats() { link_->reporter.Flush(); }

void Proxy::ResetStats() {
  link_->counters->Reset();
  link_->reporter.Flush();
}

}  // namespace pier::slowlink
