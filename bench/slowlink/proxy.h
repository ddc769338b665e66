#pragma once
// Proxy: the slowlink server. Accepts on config.listen and forwards every
// connection to config.target through the modelled Link. Connections are
// numbered from 1 in accept order over the proxy's life (counter resets do
// not renumber); with --cut-after, connection i is cut iff i % cut_every == 0.
// Runs on one io_context; call its methods from that context's thread
// (or before run()). The io_context must outlive the Proxy.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "bench/slowlink/config.h"
#include "bench/slowlink/link.h"

namespace pier::slowlink {

class Proxy {
 public:
  // Binds and listens; null with *error set when that fails.
  static std::unique_ptr<Proxy> Create(boost::asio::io_context& io, Config config, std::string* error);
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // The bound address (with the real port when config.listen had port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const { return local_; }
  void Start();
  // Stops accepting and writes the final stats; counters stop being
  // reported. Connections in flight are left to the io_context's teardown.
  void Stop();
  // Writes the stats file now.
  void FlushStats();
  // Zeroes the counters and writes the stats file now.
  void ResetStats();
  // Readable from any thread.
  const Counters& counters() const { return *link_->counters; }

 private:
  Proxy(boost::asio::io_context& io, Config config);
  void Accept();

  boost::asio::io_context& io_;
  std::shared_ptr<Link> link_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::ip::tcp::endpoint local_;
  uint64_t sequence_ = 0;
};

}  // namespace pier::slowlink
