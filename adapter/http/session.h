#pragma once
// Internal: what a connection needs from the server, and the entry point
// that runs one connection (session.cc holds all the Beast templates).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "adapter/http/message.h"

namespace pier::http::internal {

struct SessionConfig {
  std::shared_ptr<Handler> handler;
  boost::asio::thread_pool* blocking = nullptr;  // Exchange::blocking finishes
  boost::asio::ssl::context* tls = nullptr;      // null: plain HTTP
  uint32_t header_limit = 64 * 1024;
  std::chrono::seconds idle_timeout{120};  // <= 0: none
  std::chrono::seconds io_timeout{60};     // <= 0: none
};

// Takes over an accepted socket (whose executor is a strand) and serves
// requests on it until the connection ends. Never throws.
void RunSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<const SessionConfig> config);

}  // namespace pier::http::internal
