#include "bench/slowlink/pipe.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>

namespace pier::slowlink {
namespace asio = boost::asio;
using Clock = DelayLine::Clock;

namespace {
constexpr size_t kReadSize = 64 * 1024;
}

Pipe::Pipe(Owner& owner, asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, Throttle throttle,
           Options options)
    : owner_(owner),
      from_(from),
      to_(to),
      throttle_(std::move(throttle)),
      options_(options),
      timer_(from.get_executor()),
      read_buffer_(kReadSize) {}

void Pipe::Start() { ReadMore(); }

void Pipe::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void Pipe::ReadMore() {
  if (stopped_ || reading_ || eof_ || queue_.bytes() >= options_.max_queued) return;
  reading_ = true;
  from_.async_read_some(asio::buffer(read_buffer_), [this, life = owner_.KeepAlive()](
                                                        const boost::system::error_code& ec, size_t n) {
    reading_ = false;
    if (stopped_) return;
    if (ec == asio::error::eof) {
      eof_ = true;
    } else if (ec) {
      Fail();
      return;
    } else {
      queue_.Push(std::span<const char>(read_buffer_.data(), n), Clock::now() + options_.latency);
    }
    Pump();
    ReadMore();
  });
}

void Pipe::Pump() {
  if (stopped_ || busy_ || ended_) return;
  if (queue_.empty()) {
    if (eof_) {
      ended_ = true;
      boost::system::error_code ignored;
      to_.shutdown(asio::socket_base::shutdown_send, ignored);
      owner_.OnPipeEnd(*this, /*failed=*/false);
    }
    return;
  }
  const Clock::time_point now = Clock::now();
  if (queue_.front_due() > now) return WaitUntil(queue_.front_due());
  const std::span<const char> front = queue_.front();
  uint64_t want = front.size();
  if (options_.budget) want = std::min(want, *options_.budget - delivered_);
  const uint64_t granted = throttle_.Take(want, now);
  if (granted == 0) return WaitUntil(now + throttle_.Delay(want, now));
  busy_ = true;
  asio::async_write(to_, asio::buffer(front.data(), granted),
                    [this, life = owner_.KeepAlive()](const boost::system::error_code& ec, size_t n) {
                      busy_ = false;
                      if (stopped_) return;
                      if (ec) return Fail();
                      queue_.Pop(n);
                      delivered_ += n;
                      owner_.OnDelivered(*this, n);
                      if (options_.budget && delivered_ >= *options_.budget) {
                        stopped_ = true;
                        timer_.cancel();
                        owner_.OnBudgetSpent(*this);
                        return;
                      }
                      Pump();
                      ReadMore();
                    });
}

void Pipe::WaitUntil(Clock::time_point when) {
  busy_ = true;
  timer_.expires_at(when);
  timer_.async_wait([this, life = owner_.KeepAlive()](const boost::system::error_code& ec) {
    busy_ = false;
    if (ec || stopped_) return;
    Pump();
  });
}

void Pipe::Fail() {
  if (ended_) return;
  ended_ = true;
  owner_.OnPipeEnd(*this, /*failed=*/true);
}

}  // namespace pier::slowlink
