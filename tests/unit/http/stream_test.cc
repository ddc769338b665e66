// Response::stream end to end, over plain TCP and TLS: a handler answers
// with a BytePipe's reader and a producer thread feeds the writer, as an
// object store GET will. The test watches the server's side of the stream
// (what it consumed, when it waited, when it let go) to pace producers and
// to wait on conditions with deadlines instead of sleeping.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapter/http/server.h"
#include "base/byte_pipe.h"
#include "tests/unit/common/wait.h"
#include "tests/unit/http/test_client.h"

namespace pier::http {
namespace {

using namespace std::chrono_literals;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::span<const char> Bytes(std::string_view s) { return {s.data(), s.size()}; }

// What the server did with a stream, and how its producer ended.
struct Watch {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t consumed = 0;  // bytes the server took
  int waits = 0;          // WhenReady calls: the server waited for the producer
  bool released = false;  // the server let go of the stream
  std::optional<Status> producer;  // the producer's last Write error, or OK when it finished

  template <class F>
  void Change(F f) {
    {
      std::lock_guard lock(mu);
      f();
    }
    cv.notify_all();
  }
  template <class Pred>
  bool Until(Pred pred, std::chrono::seconds limit = 20s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, pred);
  }
};

// A PipeReader that reports to a Watch.
class WatchedBody final : public StreamBody {
 public:
  WatchedBody(std::unique_ptr<PipeReader> inner, std::shared_ptr<Watch> watch)
      : inner_(std::move(inner)), watch_(std::move(watch)) {}
  ~WatchedBody() override {
    inner_.reset();
    watch_->Change([&] { watch_->released = true; });
  }
  std::span<const char> Peek() override { return inner_->Peek(); }
  void Consume(size_t n) override {
    inner_->Consume(n);
    watch_->Change([&] { watch_->consumed += n; });
  }
  bool Failed() const override { return inner_->Failed(); }
  bool Ended() const override { return inner_->Ended(); }
  void WhenReady(std::function<void()> ready) override {
    watch_->Change([&] { ++watch_->waits; });
    inner_->WhenReady(std::move(ready));
  }

 private:
  std::unique_ptr<PipeReader> inner_;
  std::shared_ptr<Watch> watch_;
};

class FnHandler : public Handler {
 public:
  Exchange Begin(const Request& request) override { return begin(request); }
  std::function<Exchange(const Request&)> begin;
};

class StreamTest : public ::testing::TestWithParam<bool> {
 protected:
  bool tls() const { return GetParam(); }

  void StartServer(int io_timeout_seconds = 10) {
    ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.io_threads = 2;
    o.blocking_threads = 1;
    o.io_timeout_seconds = io_timeout_seconds;
    // Longer than the client's 10 s receive timeout: a connection that is
    // kept when it should be cut shows as a client timeout, not a close.
    o.idle_timeout_seconds = 60;
    if (tls()) {
      MakeSelfSigned(dir_ / "cert.pem", dir_ / "key.pem");
      o.tls_cert_file = (dir_ / "cert.pem").string();
      o.tls_key_file = (dir_ / "key.pem").string();
      client_tls_ = SSL_CTX_new(TLS_client_method());
      ASSERT_NE(client_tls_, nullptr);
    }
    auto started = Server::Start(o, handler_);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started.value());
  }

  std::unique_ptr<Client> Connect() {
    auto c = std::make_unique<Client>(server_->port(), client_tls_);
    EXPECT_TRUE(c->connected());
    return c;
  }

  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pier-stream-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  // Producers end once the server lets go of their streams, which Stop
  // guarantees; only then are they joined.
  void TearDown() override {
    if (server_) server_->Stop();
    std::vector<std::thread> producers;
    {
      std::lock_guard lock(mu_);
      producers.swap(producers_);
    }
    for (auto& t : producers) t.join();
    if (client_tls_) SSL_CTX_free(client_tls_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // An answer whose body of `length` bytes comes from `produce`, run on its
  // own thread with the pipe's writer (destroying it unfinished fails the
  // stream). `watch` sees the server's side.
  Exchange Streamed(uint64_t length, std::shared_ptr<Watch> watch, std::function<Status(BytePipe&)> produce,
                    size_t capacity = 64 * 1024) {
    auto [writer, reader] = BytePipe::Make(capacity);
    Response r;
    r.Set("Content-Type", "application/octet-stream");
    r.stream = std::make_shared<WatchedBody>(std::move(reader), watch);
    r.stream_length = length;
    std::lock_guard lock(mu_);
    producers_.emplace_back([w = std::move(writer), watch, produce = std::move(produce)] {
      Status s = produce(*w);
      watch->Change([&] { watch->producer = s; });
    });
    return Reply(std::move(r));
  }

  // Writes `data` in pieces of random size, then finishes.
  static std::function<Status(BytePipe&)> WriteAll(std::string data, uint32_t seed = 1) {
    return [data = std::move(data), seed](BytePipe& w) {
      std::mt19937 rng(seed);
      for (size_t at = 0; at < data.size();) {
        const size_t n = std::min<size_t>(1 + rng() % 150000, data.size() - at);
        if (Status s = w.Write(Bytes(std::string_view(data).substr(at, n))); !s.ok()) return s;
        at += n;
      }
      w.Finish();
      return Status::OK();
    };
  }

  // Writes until a Write fails; returns that failure.
  static std::function<Status(BytePipe&)> WriteForever() {
    return [](BytePipe& w) {
      const std::string piece(64 * 1024, 'z');
      for (;;) {
        if (Status s = w.Write(Bytes(piece)); !s.ok()) return s;
      }
    };
  }

  std::filesystem::path dir_;
  SSL_CTX* client_tls_ = nullptr;
  std::shared_ptr<FnHandler> handler_ = std::make_shared<FnHandler>();
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::vector<std::thread> producers_;
};

INSTANTIATE_TEST_SUITE_P(Transport, StreamTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

// The header and the body up to the close, from what ReadToClose returned.
std::pair<std::string, std::string> SplitHead(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return {raw, ""};
  return {raw.substr(0, end), raw.substr(end + 4)};
}

TEST_P(StreamTest, BodyArrivesIntactAndTheConnectionIsKept) {
  const std::string big = RandomBytes(5 * 1024 * 1024 + 321, 1);
  const std::string small = RandomBytes(1000, 2);
  auto watch_big = std::make_shared<Watch>();
  std::mutex ends_mu;
  std::vector<ExchangeEnd> ends;
  handler_->begin = [&](const Request& req) {
    Exchange e;
    if (req.path == "/big") {
      e = Streamed(big.size(), watch_big, WriteAll(big));
    } else if (req.path == "/small") {
      e = Streamed(small.size(), std::make_shared<Watch>(), WriteAll(small), /*capacity=*/100);
    } else {
      Response r;
      r.body = "plain";
      e = Reply(std::move(r));
    }
    e.on_end = [&](const ExchangeEnd& end) {
      std::lock_guard lock(ends_mu);
      ends.push_back(end);
    };
    return e;
  };
  StartServer();
  auto c = Connect();
  ASSERT_TRUE(c->Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), std::to_string(big.size()));
  EXPECT_EQ(r->Header("content-type"), "application/octet-stream");
  EXPECT_TRUE(r->body == big) << "got " << r->body.size() << " bytes";
  ASSERT_TRUE(watch_big->Until([&] { return watch_big->released && watch_big->producer; }));
  EXPECT_TRUE(watch_big->producer->ok()) << watch_big->producer->ToString();

  // Keep-alive: a second stream and a plain answer on the same connection.
  ASSERT_TRUE(c->Send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c->Read();
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->body == small);
  ASSERT_TRUE(c->Send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r3 = c->Read();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->body, "plain");

  ASSERT_TRUE(pier::testing::WaitUntil([&] {
    std::lock_guard lock(ends_mu);
    return ends.size() == 3;
  }));
  std::lock_guard lock(ends_mu);
  EXPECT_TRUE(ends[0].completed);
  EXPECT_EQ(ends[0].response_bytes, big.size());
  EXPECT_EQ(ends[1].response_bytes, small.size());
}

TEST_P(StreamTest, TricklingProducerIsWaitedFor) {
  // Each piece goes in only once the server has sent everything before it
  // and waits for more, so every piece takes the WhenReady path.
  const std::string data = RandomBytes(300000, 3);
  auto watch = std::make_shared<Watch>();
  handler_->begin = [&](const Request&) {
    return Streamed(data.size(), watch, [&data, watch](BytePipe& w) {
      std::mt19937 rng(4);
      for (size_t at = 0; at < data.size();) {
        if (!watch->Until([&] { return watch->consumed == at && watch->waits > 0; }))
          return Status::Internal("the server never waited at " + std::to_string(at));
        watch->Change([&] { watch->waits = 0; });
        const size_t n = std::min<size_t>(1 + rng() % 5000, data.size() - at);
        if (Status s = w.Write(Bytes(std::string_view(data).substr(at, n))); !s.ok()) return s;
        at += n;
      }
      w.Finish();
      return Status::OK();
    });
  };
  StartServer();
  auto c = Connect();
  ASSERT_TRUE(c->Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->Read();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->body == data) << "got " << r->body.size() << " bytes";
  ASSERT_TRUE(watch->Until([&] { return watch->producer.has_value(); }));
  EXPECT_TRUE(watch->producer->ok()) << watch->producer->ToString();
}

TEST_P(StreamTest, ProducerThatFailsOrEndsEarlyCutsTheConnection) {
  const std::string data = RandomBytes(100000, 5);
  for (bool fail : {true, false}) {
    SCOPED_TRACE(fail ? "Fail" : "Finish early");
    auto watch = std::make_shared<Watch>();
    handler_->begin = [&](const Request&) {
      return Streamed(1000000, watch, [&data, watch, fail](BytePipe& w) {
        if (Status s = w.Write(Bytes(data)); !s.ok()) return s;
        // Give up only once the server has sent all of it.
        if (!watch->Until([&] { return watch->consumed == data.size(); })) return Status::Internal("stuck");
        if (fail) {
          w.Fail("upstream reset");
        } else {
          w.Finish();
        }
        return Status::OK();
      });
    };
    if (!server_) StartServer();
    auto c = Connect();
    ASSERT_TRUE(c->Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto raw = c->ReadToClose();
    ASSERT_TRUE(raw) << "the connection stayed open";
    auto [head, body] = SplitHead(*raw);
    EXPECT_NE(head.find("Content-Length: 1000000"), std::string::npos) << head;
    EXPECT_TRUE(body == data) << "the body stops where the producer stopped: " << body.size() << " bytes";
    EXPECT_TRUE(watch->Until([&] { return watch->released; }));
  }
}

TEST_P(StreamTest, ClientThatLeavesUnblocksTheProducer) {
  auto watch = std::make_shared<Watch>();
  std::mutex mu;
  std::optional<ExchangeEnd> end;
  handler_->begin = [&](const Request&) {
    Exchange e = Streamed(1ull << 40, watch, WriteForever());
    e.on_end = [&](const ExchangeEnd& x) {
      std::lock_guard lock(mu);
      end = x;
    };
    return e;
  };
  StartServer(/*io_timeout_seconds=*/60);  // far beyond the deadline: the close must do it
  {
    auto c = Connect();
    ASSERT_TRUE(c->Send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(watch->Until([&] { return watch->consumed > 0; }));
  }  // closed with unread bytes: the server's next writes fail
  ASSERT_TRUE(watch->Until([&] { return watch->producer.has_value(); }, 15s)) << "the producer is still blocked";
  EXPECT_EQ(watch->producer->code(), Code::kUnavailable) << watch->producer->ToString();
  EXPECT_TRUE(watch->Until([&] { return watch->released; }));
  ASSERT_TRUE(pier::testing::WaitUntil([&] {
    std::lock_guard lock(mu);
    return end.has_value();
  }));
  std::lock_guard lock(mu);
  EXPECT_FALSE(end->completed);
  EXPECT_GT(end->response_bytes, 0u);
}

TEST_P(StreamTest, ClientThatStopsReadingIsDroppedAfterTheIoTimeout) {
  auto watch = std::make_shared<Watch>();
  handler_->begin = [&](const Request&) { return Streamed(1ull << 40, watch, WriteForever()); };
  StartServer(/*io_timeout_seconds=*/1);
  auto c = Connect();  // stays open, never reads
  ASSERT_TRUE(c->Send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(watch->Until([&] { return watch->producer.has_value(); }, 20s)) << "the producer is still blocked";
  EXPECT_EQ(watch->producer->code(), Code::kUnavailable);
  EXPECT_TRUE(watch->Until([&] { return watch->released; }));
}

TEST_P(StreamTest, HeadSendsNoBodyAndReleasesTheStream) {
  auto watch = std::make_shared<Watch>();
  handler_->begin = [&](const Request& req) {
    if (req.method == "HEAD") return Streamed(12345, watch, WriteForever());
    return Streamed(5, std::make_shared<Watch>(), WriteAll("hello"));
  };
  StartServer();
  auto c = Connect();
  ASSERT_TRUE(c->Send("HEAD /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->Read(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "12345");
  ASSERT_TRUE(watch->Until([&] { return watch->released && watch->producer; }));
  EXPECT_EQ(watch->producer->code(), Code::kUnavailable);
  EXPECT_EQ(watch->consumed, 0u);
  // Had body bytes gone out, this answer would be garbled.
  ASSERT_TRUE(c->Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c->Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(r2->body, "hello");
}

TEST_P(StreamTest, SurplusIsIgnoredAndEmptyStreamsWork) {
  handler_->begin = [&](const Request& req) {
    if (req.path == "/surplus") return Streamed(5, std::make_shared<Watch>(), WriteAll("hello, and more"));
    if (req.path == "/empty") return Streamed(0, std::make_shared<Watch>(), WriteAll(""));
    Exchange e = Streamed(5, std::make_shared<Watch>(), WriteAll("hello"));
    e.immediate->stream_length.reset();  // a handler bug: no length
    return e;
  };
  StartServer();
  auto c = Connect();
  ASSERT_TRUE(c->Send("GET /surplus HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  ASSERT_TRUE(c->Send("GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c->Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(r2->Header("content-length"), "0");
  EXPECT_EQ(r2->body, "");
  ASSERT_TRUE(c->Send("GET /nolength HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r3 = c->Read();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 500);
}

TEST_P(StreamTest, StoppingTheServerReleasesAWaitingStream) {
  auto watch = std::make_shared<Watch>();
  handler_->begin = [&](const Request&) {
    return Streamed(1000, watch, [watch](BytePipe& w) {
      // Wait until the server waits for us, then until it let go.
      if (!watch->Until([&] { return watch->waits > 0; })) return Status::Internal("never waited");
      if (!watch->Until([&] { return watch->released; })) return Status::Internal("never released");
      return w.Write(Bytes("late"));
    });
  };
  StartServer();
  auto c = Connect();
  ASSERT_TRUE(c->Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(watch->Until([&] { return watch->waits > 0; }));
  server_->Stop();
  ASSERT_TRUE(watch->Until([&] { return watch->producer.has_value(); }));
  EXPECT_EQ(watch->producer->code(), Code::kUnavailable) << watch->producer->ToString();
  auto raw = c->ReadToClose();
  ASSERT_TRUE(raw);
  EXPECT_EQ(SplitHead(*raw).second, "") << "no body byte was ever there";
}

}  // namespace
}  // namespace pier::http
