#pragma once
// Pipe: one direction of a proxied connection. Reads from `from`, holds each
// chunk for the link latency (in a DelayLine, so reading never stalls on the
// delay), paces delivery through a Throttle and writes to `to`, bytes in
// order. It stops reading while `max_queued` bytes are in flight, so a slow
// receiver slows the sender. On EOF from `from`, once every byte is
// delivered it shuts down sending on `to` and reports a clean end. With a
// budget it delivers exactly that many bytes, then stops and reports it.
// All work runs on the sockets' io_context thread; every pending operation
// holds Owner::KeepAlive(), so the owner (which owns the sockets and the
// pipe) lives until the pipe is idle.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "bench/slowlink/delay_line.h"
#include "bench/slowlink/throttle.h"

namespace pier::slowlink {

class Pipe {
 public:
  class Owner {
   public:
    virtual std::shared_ptr<void> KeepAlive() = 0;
    // n more bytes were handed to `to`.
    virtual void OnDelivered(Pipe& pipe, uint64_t n) = 0;
    // The pipe is done: EOF forwarded (failed = false) or a read/write error.
    // Not called after Stop().
    virtual void OnPipeEnd(Pipe& pipe, bool failed) = 0;
    // The budget is delivered; the pipe has stopped itself.
    virtual void OnBudgetSpent(Pipe& pipe) = 0;

   protected:
    ~Owner() = default;
  };

  struct Options {
    std::chrono::milliseconds latency{0};
    size_t max_queued = 256 * 1024;
    std::optional<uint64_t> budget;  // must be > 0 when set
  };

  Pipe(Owner& owner, boost::asio::ip::tcp::socket& from, boost::asio::ip::tcp::socket& to, Throttle throttle,
       Options options);
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  void Start();
  // Starts nothing new and reports nothing more. Operations in flight end
  // when the owner closes the sockets.
  void Stop();

 private:
  void ReadMore();
  void Pump();
  void WaitUntil(DelayLine::Clock::time_point when);
  void Fail();

  Owner& owner_;
  boost::asio::ip::tcp::socket& from_;
  boost::asio::ip::tcp::socket& to_;
  Throttle throttle_;
  Options options_;
  boost::asio::steady_timer timer_;
  std::vector<char> read_buffer_;
  DelayLine queue_;
  uint64_t delivered_ = 0;
  bool reading_ = false;  // a read is in flight
  bool busy_ = false;     // a write or a wait is in flight
  bool eof_ = false;      // `from` said EOF
  bool ended_ = false;    // OnPipeEnd was called
  bool stopped_ = false;
};

}  // namespace pier::slowlink
