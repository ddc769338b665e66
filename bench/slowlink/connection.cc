#include "bench/slowlink/connection.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstdio>

namespace pier::slowlink {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kDrainLimit = std::chrono::seconds(1);
constexpr auto kDrainPoll = std::chrono::milliseconds(1);

std::optional<TokenBucket> MakeBucket(uint64_t rate) {
  if (rate == 0) return std::nullopt;
  return TokenBucket(rate, TokenBucket::BurstFor(rate), TokenBucket::Clock::now());
}

// Bytes the kernel still holds for this socket (sent but unacknowledged, or
// unsent); 0 when unknown.
uint64_t Unacknowledged(asio::ip::tcp::socket& s) {
  int queued = 0;
  if (!s.is_open() || ::ioctl(s.native_handle(), SIOCOUTQ, &queued) != 0 || queued < 0) return 0;
  return static_cast<uint64_t>(queued);
}
}  // namespace

Connection::Connection(std::shared_ptr<Link> link, asio::ip::tcp::socket client, bool cut)
    : link_(std::move(link)),
      cut_(cut),
      client_(std::move(client)),
      target_(client_.get_executor()),
      drain_timer_(client_.get_executor()),
      up_bucket_(MakeBucket(link_->PerConnRate(true))),
      down_bucket_(MakeBucket(link_->PerConnRate(false))),
      up_(*this, client_, target_, MakeThrottle(true), PipeOptions(true)),
      down_(*this, target_, client_, MakeThrottle(false), PipeOptions(false)) {
  link_->counters->connections_active.fetch_add(1, std::memory_order_relaxed);
  link_->reporter.Changed();
}

Connection::~Connection() {
  link_->counters->connections_active.fetch_sub(1, std::memory_order_relaxed);
  link_->reporter.Changed();
}

Throttle Connection::MakeThrottle(bool up) {
  Throttle t;
  t.Add(up ? link_->up_total.get() : link_->down_total.get());
  auto& own = up ? up_bucket_ : down_bucket_;
  if (own) t.Add(&*own);
  return t;
}

Pipe::Options Connection::PipeOptions(bool up) const {
  Pipe::Options o;
  o.latency = link_->config.latency;
  o.max_queued = link_->MaxQueued(up);
  const std::optional<uint64_t>& cut_at = up ? link_->config.cut_after : link_->config.cut_down_after;
  if (cut_ && cut_at && *cut_at > 0) o.budget = cut_at;
  return o;
}

void Connection::Start() {
  boost::system::error_code ignored;
  client_.set_option(asio::ip::tcp::no_delay(true), ignored);
  target_.async_connect(
      link_->config.target, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec) {
          std::fprintf(stderr, "slowlink: cannot connect to target: %s\n", ec.message().c_str());
          return self->Reset();
        }
        boost::system::error_code ignored;
        self->target_.set_option(asio::ip::tcp::no_delay(true), ignored);
        if (self->cut_ && self->link_->config.cut_after == 0u) return self->Cut();
        self->up_.Start();
        self->down_.Start();
      });
}

void Connection::OnDelivered(Pipe& pipe, uint64_t n) {
  auto& counter = &pipe == &up_ ? link_->counters->bytes_up : link_->counters->bytes_down;
  counter.fetch_add(n, std::memory_order_relaxed);
  link_->reporter.Changed();
}

void Connection::OnPipeEnd(Pipe&, bool failed) {
  if (failed) return Reset();
  if (++ended_pipes_ == 2) Close();
}

void Connection::OnBudgetSpent(Pipe&) { Cut(); }

void Connection::Cut() {
  up_.Stop();
  down_.Stop();
  link_->counters->connections_cut.fetch_add(1, std::memory_order_relaxed);
  link_->reporter.Changed();
  ResetWhenDrained(Clock::now() + kDrainLimit);
}

// A reset discards what the kernel has not yet sent, so wait until the
// target has acknowledged every delivered byte before resetting.
void Connection::ResetWhenDrained(Clock::time_point deadline) {
  const uint64_t pending = Unacknowledged(target_);
  if (pending == 0) return Reset();
  if (Clock::now() >= deadline) {
    // The target stopped reading; these bytes never arrive. Keep the count honest.
    // (Counters are only written on this thread, so load+store is safe.)
    auto& up = link_->counters->bytes_up;
    const uint64_t counted = up.load(std::memory_order_relaxed);
    up.store(counted - std::min(counted, pending), std::memory_order_relaxed);
    return Reset();
  }
  drain_timer_.expires_after(kDrainPoll);
  drain_timer_.async_wait([self = shared_from_this(), deadline](const boost::system::error_code& ec) {
    if (!ec) self->ResetWhenDrained(deadline);
  });
}

void Connection::Reset() {
  if (closed_) return;
  closed_ = true;
  up_.Stop();
  down_.Stop();
  drain_timer_.cancel();
  boost::system::error_code ignored;
  for (asio::ip::tcp::socket* s : {&client_, &target_}) {
    if (!s->is_open()) continue;
    s->set_option(asio::socket_base::linger(true, 0), ignored);
    s->close(ignored);
  }
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  client_.close(ignored);
  target_.close(ignored);
}

}  // namespace pier::slowlink
