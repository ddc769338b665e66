#pragma once
// Connection: one accepted client joined to its own connection to the
// target by two Pipes (up: client->target, down: target->client), shaped by
// the Link. It ends in one of three ways:
//  - both sides sent EOF and every byte was delivered: closed normally;
//  - any read/write error, or the target refused: both sides reset (RST);
//  - a cut (this connection was chosen to be cut and exactly cut_after
//    bytes reached the target): once the target's kernel has taken every
//    byte (waited for at most 1 s), both sides are reset.
// Updates the Link's counters as bytes are delivered and connections end.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>

#include "bench/slowlink/link.h"
#include "bench/slowlink/pipe.h"

namespace pier::slowlink {

class Connection : public std::enable_shared_from_this<Connection>, private Pipe::Owner {
 public:
  // `cut`: apply link->config.cut_after / cut_down_after to this connection.
  Connection(std::shared_ptr<Link> link, boost::asio::ip::tcp::socket client, bool cut);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects to the target and starts forwarding. Call once, on a
  // shared_ptr-owned Connection.
  void Start();

 private:
  std::shared_ptr<void> KeepAlive() override { return shared_from_this(); }
  void OnDelivered(Pipe& pipe, uint64_t n) override;
  void OnPipeEnd(Pipe& pipe, bool failed) override;
  void OnBudgetSpent(Pipe& pipe) override;

  Throttle MakeThrottle(bool up);
  Pipe::Options PipeOptions(bool up) const;
  void Cut();
  void ResetWhenDrained(std::chrono::steady_clock::time_point deadline);
  void Reset();  // RST both sides
  void Close();  // orderly close after both EOFs

  std::shared_ptr<Link> link_;
  bool cut_;
  boost::asio::ip::tcp::socket client_;
  boost::asio::ip::tcp::socket target_;
  boost::asio::steady_timer drain_timer_;
  std::optional<TokenBucket> up_bucket_;    // --rate-per-conn
  std::optional<TokenBucket> down_bucket_;  // --rate-per-conn with --direction both
  Pipe up_;
  Pipe down_;
  int ended_pipes_ = 0;
  bool closed_ = false;
};

}  // namespace pier::slowlink
