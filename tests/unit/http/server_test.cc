// End-to-end tests of the HTTP server over real sockets on 127.0.0.1 with a
// small blocking client (POSIX sockets, OpenSSL for TLS). Every client
// socket has a receive timeout so no test can hang; waits on the server side
// use condition variables with deadlines.
#include "adapter/http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "tests/unit/common/wait.h"
#include "tests/unit/http/test_client.h"

namespace pier::http {
namespace {

using namespace std::chrono_literals;

std::string RandomBytes(size_t n, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// ---- the handler under test -------------------------------------------------

class TestHandler : public Handler {
 public:
  Exchange Begin(const Request& request) override {
    {
      std::lock_guard lock(mu);
      requests.push_back(request);
      begin_threads.push_back(std::this_thread::get_id());
    }
    return begin(request);
  }

  Request LastRequest() {
    std::lock_guard lock(mu);
    return requests.empty() ? Request() : requests.back();
  }
  size_t RequestCount() {
    std::lock_guard lock(mu);
    return requests.size();
  }

  std::function<Exchange(const Request&)> begin = [](const Request&) { return Reply(Response()); };
  std::mutex mu;
  std::vector<Request> requests;
  std::vector<std::thread::id> begin_threads;
};

// Records what Finish saw; lets the test wait for it.
struct FinishProbe {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  Status status;
  std::string buffered;
  uint64_t bytes = 0;
  std::thread::id thread;

  void Record(const BodyResult& result) {
    std::lock_guard lock(mu);
    ++calls;
    status = result.status;
    buffered = result.buffered;
    bytes = result.bytes;
    thread = std::this_thread::get_id();
    cv.notify_all();
  }
  bool WaitCalled(std::chrono::seconds timeout = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [this] { return calls > 0; });
  }
};

class CollectingSink : public BodySink {
 public:
  Status Write(std::span<const char> data) override {
    std::lock_guard lock(mu);
    ++writes;
    received.append(data.data(), data.size());
    if (fail_after && received.size() >= fail_after) return Status::IOError("disk full");
    return Status::OK();
  }
  std::string Received() {
    std::lock_guard lock(mu);
    return received;
  }

  std::mutex mu;
  std::string received;
  int writes = 0;
  size_t fail_after = 0;  // 0: never fail
};

Response Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.Set("Content-Type", "text/plain");
  r.body = std::move(body);
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  ServerOptions Options() {
    ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.io_threads = 2;
    o.blocking_threads = 2;
    o.io_timeout_seconds = 10;
    o.idle_timeout_seconds = 10;
    return o;
  }
  void StartServer(ServerOptions o) {
    auto started = Server::Start(o, handler_);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started.value());
    ASSERT_NE(server_->port(), 0);
  }
  void StartServer() { StartServer(Options()); }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  uint16_t port() const { return server_->port(); }

  std::shared_ptr<TestHandler> handler_ = std::make_shared<TestHandler>();
  std::unique_ptr<Server> server_;
};

// ---- basics --------------------------------------------------------------------

TEST_F(ServerTest, GetWithStringBody) {
  handler_->begin = [](const Request&) {
    Response r = Text(200, "hello world");
    r.Set("Docker-Distribution-API-Version", "registry/2.0");
    return Reply(std::move(r));
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("GET /v2/library%2Fbusy%20box/tags/list?n=10&last=a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("content-length"), "11");
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  EXPECT_EQ(r->Header("docker-distribution-api-version"), "registry/2.0");
  EXPECT_FALSE(r->HasHeader("connection"));  // HTTP/1.1 keep-alive is implicit

  Request req = handler_->LastRequest();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/v2/library%2Fbusy%20box/tags/list?n=10&last=a%2Fb");
  EXPECT_EQ(req.path, "/v2/library/busy box/tags/list");
  EXPECT_EQ(req.query, "n=10&last=a%2Fb");
  EXPECT_EQ(req.Query("last"), "a/b");
  EXPECT_EQ(req.Query("n"), "10");
  EXPECT_FALSE(req.content_length.has_value());
  EXPECT_FALSE(req.chunked);
  EXPECT_FALSE(req.tls);
  EXPECT_EQ(req.remote.rfind("127.0.0.1:", 0), 0u) << req.remote;
}

TEST_F(ServerTest, HeadWithHeadLengthSendsNoBody) {
  handler_->begin = [](const Request& req) {
    Response r;
    if (req.method == "HEAD") {
      r.head_length = 123456;
      r.Set("Docker-Content-Digest", "sha256:abc");
    } else {
      r.body = "second";
    }
    return Reply(std::move(r));
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("HEAD /v2/a/blobs/sha256:abc HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "123456");
  EXPECT_EQ(r->Header("docker-content-digest"), "sha256:abc");
  // No body bytes may follow: the next response on the connection parses.
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "second");
}

TEST_F(ServerTest, HeadWithoutHeadLengthAnnouncesBodySize) {
  handler_->begin = [](const Request&) { return Reply(Text(200, "0123456789")); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("content-length"), "10");
  auto r2 = c.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "0123456789");
}

TEST_F(ServerTest, NoContentHasNoContentLength) {
  handler_->begin = [](const Request&) {
    Response r;
    r.status = 204;
    return Reply(std::move(r));
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_FALSE(r->HasHeader("content-length"));
}

TEST_F(ServerTest, RepeatedHeadersStaySeparate) {
  handler_->begin = [](const Request&) { return Reply(Response()); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(
      c.Send("GET /v2/a/manifests/latest HTTP/1.1\r\nHost: x\r\n"
             "Accept: application/vnd.oci.image.manifest.v1+json\r\n"
             "ACCEPT: application/vnd.oci.image.index.v1+json, "
             "application/vnd.docker.distribution.manifest.v2+json\r\n"
             "X-Custom: One\r\n"
             "accept: application/vnd.docker.distribution.manifest.list.v2+json\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  Request req = handler_->LastRequest();
  std::vector<std::string> expected = {"application/vnd.oci.image.manifest.v1+json",
                                       "application/vnd.oci.image.index.v1+json",
                                       "application/vnd.docker.distribution.manifest.v2+json",
                                       "application/vnd.docker.distribution.manifest.list.v2+json"};
  EXPECT_EQ(req.HeaderList("Accept"), expected);
  ASSERT_EQ(req.headers.size(), 5u);
  EXPECT_EQ(req.headers[0].first, "host");
  EXPECT_EQ(req.headers[1].first, "accept");
  EXPECT_EQ(req.headers[2].first, "accept");
  EXPECT_EQ(req.headers[3], (std::pair<std::string, std::string>("x-custom", "One")));
  EXPECT_EQ(req.headers[4].first, "accept");
  EXPECT_EQ(req.Header("x-custom"), "One");
}

TEST_F(ServerTest, QueryIsRawAndDecodedOnDemand) {
  StartServer();
  Client c(port());
  ASSERT_TRUE(
      c.Send("GET /v2/_catalog?n=2&last=a%2Fb+c&scope=repository%3Afoo%3Apull HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  Request req = handler_->LastRequest();
  EXPECT_EQ(req.path, "/v2/_catalog");
  EXPECT_EQ(req.query, "n=2&last=a%2Fb+c&scope=repository%3Afoo%3Apull");
  EXPECT_EQ(req.Query("last"), "a/b+c");
  EXPECT_EQ(req.Query("scope"), "repository:foo:pull");
  EXPECT_EQ(req.Query("n"), "2");
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  int counter = 0;
  handler_->begin = [&counter](const Request& req) {
    return Reply(Text(200, req.path + "#" + std::to_string(++counter)));
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r1 = c.Read();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body, "/a#1");
  ASSERT_TRUE(c.Send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "/b#2");
  EXPECT_EQ(handler_->requests[0].remote, handler_->requests[1].remote);  // same connection
  // Connection: close is honoured.
  ASSERT_TRUE(c.Send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r3 = c.Read();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->body, "/c#3");
  EXPECT_EQ(Lower(r3->Header("connection")), "close");
  EXPECT_EQ(c.ReadToClose(), "");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  handler_->begin = [](const Request& req) { return Reply(Text(200, req.path)); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(
      c.Send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: "
             "x\r\n\r\n"));
  for (std::string want : {"/1", "/2", "/3"}) {
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, want);
  }
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveAsked) {
  handler_->begin = [](const Request&) { return Reply(Text(200, "ok")); };
  StartServer();
  {
    Client c(port());
    ASSERT_TRUE(c.Send("GET /a HTTP/1.0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "ok");
    EXPECT_EQ(c.ReadToClose(), "");
  }
  Client c(port());
  ASSERT_TRUE(c.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(Lower(r->Header("connection")), "keep-alive");
  ASSERT_TRUE(c.Send("GET /b HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(c.Read());
}

TEST_F(ServerTest, ResponseCloseClosesConnection) {
  handler_->begin = [](const Request&) {
    Response r = Text(200, "bye");
    r.close = true;
    return Reply(std::move(r));
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  EXPECT_EQ(c.ReadToClose(), "");
}

// ---- request bodies -----------------------------------------------------------------

Exchange Buffering(FinishProbe* probe, uint64_t limit) {
  Exchange e;
  e.mode = BodyMode::kBuffer;
  e.buffer_limit = limit;
  e.finish = [probe](BodyResult result) {
    probe->Record(result);
    if (!result.status.ok()) {
      Response r = Text(413, result.status.ToString());
      return r;
    }
    return Text(201, result.buffered);
  };
  return e;
}

TEST_F(ServerTest, BufferedBodyUnderLimit) {
  FinishProbe probe;
  handler_->begin = [&probe](const Request&) { return Buffering(&probe, 100); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(
      c.Send("PUT /v2/a/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n{\"schemaVersion\":2"));
  // 17 bytes announced, 18 sent: the last byte starts the next "request".
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "{\"schemaVersion\":");
  EXPECT_EQ(probe.bytes, 17u);
  EXPECT_TRUE(probe.status.ok());
  EXPECT_EQ(handler_->LastRequest().content_length, 17u);

  Client c2(port());
  ASSERT_TRUE(c2.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'z')));
  auto r2 = c2.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 201);
  EXPECT_EQ(r2->body, std::string(100, 'z'));
  // The connection stays usable.
  ASSERT_TRUE(c2.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  auto r3 = c2.Read();
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 201);
  EXPECT_EQ(r3->body, "");
}

TEST_F(ServerTest, BufferedBodyOverLimitByContentLength) {
  FinishProbe probe;
  handler_->begin = [&probe](const Request&) { return Buffering(&probe, 10); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(
      c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, 'a')));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  ASSERT_TRUE(c.ReadToClose());
  EXPECT_EQ(probe.calls, 1);
  EXPECT_EQ(probe.status.code(), Code::kSizeInvalid);
}

TEST_F(ServerTest, BufferedBodyOverLimitChunked) {
  FinishProbe probe;
  handler_->begin = [&probe](const Request&) { return Buffering(&probe, 10); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(
      c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  ASSERT_TRUE(c.ReadToClose());
  EXPECT_EQ(probe.calls, 1);
  EXPECT_EQ(probe.status.code(), Code::kSizeInvalid);
  EXPECT_TRUE(handler_->LastRequest().chunked);
}

TEST_F(ServerTest, IgnoredBodyIsDrainedAndConnectionKept) {
  FinishProbe probe;
  handler_->begin = [&probe](const Request&) {
    Exchange e;
    e.finish = [&probe](BodyResult result) {
      probe.Record(result);
      return Text(202, "ignored");
    };
    return e;
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'q')));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(probe.bytes, 5000u);
  EXPECT_TRUE(probe.status.ok());
  ASSERT_TRUE(c.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  auto r2 = c.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 202);
}

Exchange Streaming(std::shared_ptr<CollectingSink> sink, FinishProbe* probe) {
  Exchange e;
  e.mode = BodyMode::kStream;
  e.sink = sink;
  e.finish = [probe, sink](BodyResult result) {
    probe->Record(result);
    if (!result.status.ok()) return Text(400, result.status.ToString());
    return Text(201, std::to_string(sink->Received().size()));
  };
  return e;
}

TEST_F(ServerTest, StreamedBodyWithContentLength) {
  auto sink = std::make_shared<CollectingSink>();
  FinishProbe probe;
  handler_->begin = [&](const Request&) { return Streaming(sink, &probe); };
  StartServer();
  const std::string body = RandomBytes(3 * 1024 * 1024 + 17);
  Client c(port());
  ASSERT_TRUE(
      c.Send("PATCH /v2/a/blobs/uploads/u1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
             "Content-Length: " +
             std::to_string(body.size()) + "\r\n\r\n"));
  ASSERT_TRUE(c.Send(body));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, std::to_string(body.size()));
  EXPECT_TRUE(sink->Received() == body);
  EXPECT_GT(sink->writes, 1);
  EXPECT_EQ(probe.bytes, body.size());
  EXPECT_TRUE(probe.status.ok());
  EXPECT_EQ(probe.calls, 1);
}

std::string Chunked(const std::string& body, std::vector<size_t> sizes) {
  std::string out;
  size_t pos = 0;
  size_t i = 0;
  while (pos < body.size()) {
    size_t n = std::min(sizes[i++ % sizes.size()], body.size() - pos);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", n);
    out += hex;
    if (i == 2) out += ";ext=1";  // a chunk extension
    out += "\r\n";
    out.append(body, pos, n);
    out += "\r\n";
    pos += n;
  }
  out += "0\r\n\r\n";
  return out;
}

TEST_F(ServerTest, StreamedBodyChunked) {
  auto sink = std::make_shared<CollectingSink>();
  FinishProbe probe;
  handler_->begin = [&](const Request&) { return Streaming(sink, &probe); };
  StartServer();
  const std::string body = RandomBytes(700 * 1024 + 3, 11);
  Client c(port());
  ASSERT_TRUE(c.Send("PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     Chunked(body, {1, 4096, 300000, 77, 65536})));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_TRUE(sink->Received() == body);
  EXPECT_EQ(probe.bytes, body.size());
  Request req = handler_->LastRequest();
  EXPECT_TRUE(req.chunked);
  EXPECT_FALSE(req.content_length.has_value());
  // Keep-alive after a chunked body.
  ASSERT_TRUE(c.Send("PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto r2 = c.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 201);
}

TEST_F(ServerTest, MalformedChunkedBodyIsAnsweredAndClosed) {
  auto sink = std::make_shared<CollectingSink>();
  FinishProbe probe;
  handler_->begin = [&](const Request&) { return Streaming(sink, &probe); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("PATCH /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  EXPECT_EQ(probe.calls, 1);
  EXPECT_EQ(probe.status.code(), Code::kInvalidArgument);
}

TEST_F(ServerTest, SinkErrorStopsReadingAndClosesAfterAnswer) {
  auto sink = std::make_shared<CollectingSink>();
  sink->fail_after = 1;
  FinishProbe probe;
  handler_->begin = [&](const Request&) { return Streaming(sink, &probe); };
  StartServer();
  Client c(port());
  const std::string body = RandomBytes(2 * 1024 * 1024);
  ASSERT_TRUE(
      c.Send("PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  // The server may stop reading (and close) before all of it is sent.
  c.Send(body);
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  EXPECT_EQ(sink->writes, 1);
  EXPECT_EQ(probe.status.code(), Code::kIOError);
  EXPECT_EQ(probe.calls, 1);
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  FinishProbe probe;
  handler_->begin = [&probe](const Request&) { return Buffering(&probe, 1000); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("12345"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "12345");
}

TEST_F(ServerTest, ExpectContinueWithImmediateAnswerSkipsInterimAndCloses) {
  handler_->begin = [](const Request&) { return Reply(Text(401, "unauthorized")); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  c.ShutdownWrite();
  EXPECT_EQ(c.ReadToClose(), "");
}

TEST_F(ServerTest, ImmediateAnswerToBodyClosesConnection) {
  handler_->begin = [](const Request&) { return Reply(Text(401, "no")); };
  StartServer();
  Client c(port());
  const std::string body(3 * 1024 * 1024, 'x');
  ASSERT_TRUE(
      c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  c.Send(body);  // may fail if the server already gave up on us
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
}

TEST_F(ServerTest, StalledBodyTimesOutAndServerKeepsServing) {
  auto sink = std::make_shared<CollectingSink>();
  FinishProbe probe;
  handler_->begin = [&](const Request& req) {
    if (req.method == "GET") return Reply(Text(200, "alive"));
    return Streaming(sink, &probe);
  };
  ServerOptions o = Options();
  o.io_timeout_seconds = 1;
  StartServer(o);
  Client c(port());
  ASSERT_TRUE(c.Send("PATCH /u HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(500, 'h')));
  ASSERT_TRUE(probe.WaitCalled());
  EXPECT_FALSE(probe.status.ok());
  EXPECT_EQ(probe.bytes, 500u);
  EXPECT_EQ(sink->Received(), std::string(500, 'h'));
  EXPECT_EQ(c.ReadToClose(), "");  // closed, no response

  Client c2(port());
  ASSERT_TRUE(c2.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c2.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "alive");
  EXPECT_EQ(probe.calls, 1);
}

TEST_F(ServerTest, IdleConnectionIsClosed) {
  ServerOptions o = Options();
  o.idle_timeout_seconds = 1;
  StartServer(o);
  Client c(port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.ReadToClose(), "");
  // A bound against the 120 s default, not a speed bar (ctest -j under ASan).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 60s);
}

// ---- blocking finish -------------------------------------------------------------------

TEST_F(ServerTest, BlockingFinishRunsOffTheIoThread) {
  FinishProbe probe;
  handler_->begin = [&probe](const Request&) {
    Exchange e = Buffering(&probe, 100);
    e.blocking = true;
    return e;
  };
  StartServer();
  Client c(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->body, "body");
  }
  std::lock_guard lock(handler_->mu);
  for (auto id : handler_->begin_threads) EXPECT_NE(id, probe.thread);
}

TEST_F(ServerTest, BlockingFinishWithoutBody) {
  std::atomic<int> calls{0};
  handler_->begin = [&calls](const Request&) {
    Exchange e;
    e.blocking = true;
    e.finish = [&calls](BodyResult) {
      ++calls;
      return Text(200, "done");
    };
    return e;
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(calls.load(), 1);
}

// ---- file bodies ------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "pier-http-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path WriteFile(const TempDir& dir, const std::string& name, const std::string& data) {
  auto path = dir.path() / name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("fopen");
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
  return path;
}

// GET /file?offset=&length= answers from the file; HEAD too.
Exchange FileExchange(const std::filesystem::path& path, const Request& req, uint64_t size) {
  Response r;
  r.Set("Content-Type", "application/octet-stream");
  FileRange range;
  range.fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  range.offset = req.Query("offset") ? std::stoull(*req.Query("offset")) : 0;
  range.length = req.Query("length") ? std::stoull(*req.Query("length")) : size;
  if (range.offset != 0) r.status = 206;
  r.file = std::move(range);
  return Reply(std::move(r));
}

TEST_F(ServerTest, FileResponseViaSendfile) {
  TempDir dir;
  const std::string data = RandomBytes(5 * 1024 * 1024 + 123, 3);
  auto path = WriteFile(dir, "blob", data);
  handler_->begin = [&](const Request& req) { return FileExchange(path, req, data.size()); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), std::to_string(data.size()));
  EXPECT_TRUE(r->body == data);

  ASSERT_TRUE(c.Send("GET /blob?offset=1000&length=5000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 206);
  EXPECT_EQ(r2->Header("content-length"), "5000");
  EXPECT_TRUE(r2->body == data.substr(1000, 5000));

  ASSERT_TRUE(c.Send("HEAD /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r3 = c.Read(true);
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->Header("content-length"), std::to_string(data.size()));

  ASSERT_TRUE(c.Send("GET /blob?offset=7&length=0 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r4 = c.Read();
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->Header("content-length"), "0");
  EXPECT_EQ(r4->body, "");
}

TEST_F(ServerTest, ClientThatStopsReadingAFileIsDropped) {
  TempDir dir;
  auto path = dir.path() / "big";
  {
    // 256 MiB, sparse: far more than the socket buffers hold.
    UniqueFd fd(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::ftruncate(fd.get(), 256 << 20), 0);
  }
  // The server closes the file when it gives up on the connection.
  UniqueFd notify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  ASSERT_TRUE(notify.valid());
  ASSERT_GE(::inotify_add_watch(notify.get(), path.c_str(), IN_CLOSE_NOWRITE), 0);
  handler_->begin = [&](const Request& req) {
    if (req.path == "/ping") return Reply(Text(200, "pong"));
    return FileExchange(path, req, 256 << 20);
  };
  ServerOptions o = Options();
  o.io_timeout_seconds = 1;
  StartServer(o);
  Client c(port());
  ASSERT_TRUE(c.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  pollfd p{notify.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1) << "the server never closed the file";

  Client c2(port());
  ASSERT_TRUE(c2.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c2.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "pong");
}

TEST_F(ServerTest, TruncatedFileClosesConnection) {
  TempDir dir;
  auto path = WriteFile(dir, "blob", "short");
  handler_->begin = [&](const Request& req) { return FileExchange(path, req, 1000); };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rest = c.ReadToClose();
  ASSERT_TRUE(rest);
  EXPECT_NE(rest->find("Content-Length: 1000"), std::string::npos);
  EXPECT_TRUE(rest->ends_with("short"));
}

// A file the test grows by hand: readers wait on it like on a pull-through
// download.
class TestGrowing final : public GrowingFile {
 public:
  uint64_t Available() const override { return available_.load(); }
  bool Failed() const override { return failed_.load(); }
  void WhenBeyond(uint64_t offset, std::function<void()> ready) override {
    {
      std::lock_guard lock(mu_);
      if (!failed_ && available_ <= offset) {
        waiters_.emplace_back(offset, std::move(ready));
        cv_.notify_all();
        return;
      }
    }
    ready();
  }
  // Waits until a reader waits at `offset`: it sent everything before it.
  bool WaitForReaderAt(uint64_t offset) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] {
      for (auto& w : waiters_)
        if (w.first == offset) return true;
      return false;
    });
  }
  void Grow(uint64_t available) { Wake([&] { available_ = available; }); }
  void Fail() { Wake([&] { failed_ = true; }); }

 private:
  template <class F>
  void Wake(F change) {
    std::vector<std::pair<uint64_t, std::function<void()>>> waiters;
    {
      std::lock_guard lock(mu_);
      change();
      waiters.swap(waiters_);
    }
    for (auto& w : waiters) w.second();  // each re-checks and waits again if need be
  }
  std::atomic<uint64_t> available_{0};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<uint64_t, std::function<void()>>> waiters_;
};

TEST_F(ServerTest, GrowingFileIsSentAsItArrives) {
  TempDir dir;
  const std::string data = RandomBytes(3 * 1024 * 1024 + 17, 9);
  const uint64_t first = 100000;
  // Only the first bytes exist yet: sending past them would end the body early.
  auto path = WriteFile(dir, "blob", data.substr(0, first));
  auto growing = std::make_shared<TestGrowing>();
  growing->Grow(first);
  handler_->begin = [&](const Request& req) {
    Exchange e = FileExchange(path, req, data.size());
    e.immediate->file->growing = growing;
    return e;
  };
  StartServer();
  std::thread writer([&] {
    if (!growing->WaitForReaderAt(first)) return;
    WriteFile(dir, "blob", data);
    growing->Grow(data.size());
  });
  Client c(port());
  ASSERT_TRUE(c.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  writer.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("content-length"), std::to_string(data.size()));
  EXPECT_TRUE(r->body == data) << "got " << r->body.size() << " bytes";
  // The connection is still good for the next request.
  growing = nullptr;
  ASSERT_TRUE(c.Send("GET /blob?offset=5&length=10 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, data.substr(5, 10));
}

TEST_F(ServerTest, GrowingFileThatFailsClosesTheConnectionShort) {
  TempDir dir;
  const std::string data = RandomBytes(200000, 10);
  auto path = WriteFile(dir, "blob", data);
  auto growing = std::make_shared<TestGrowing>();
  growing->Grow(1000);
  handler_->begin = [&](const Request& req) {
    Exchange e = FileExchange(path, req, data.size());
    e.immediate->file->growing = growing;
    return e;
  };
  StartServer();
  std::thread failer([&] {
    if (growing->WaitForReaderAt(1000)) growing->Fail();
  });
  Client c(port());
  ASSERT_TRUE(c.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto rest = c.ReadToClose();
  failer.join();
  ASSERT_TRUE(rest);
  EXPECT_NE(rest->find("Content-Length: 200000"), std::string::npos);
  EXPECT_TRUE(rest->ends_with(data.substr(0, 1000))) << "the body stops where the file failed";
}

// ---- errors and robustness ------------------------------------------------------------

TEST_F(ServerTest, OversizedHeaderGets431) {
  ServerOptions o = Options();
  o.header_limit = 1024;
  StartServer(o);
  Client c(port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'b') + "\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  EXPECT_EQ(handler_->RequestCount(), 0u);
  EXPECT_TRUE(c.ReadToClose());

  Client c2(port());
  ASSERT_TRUE(c2.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r2 = c2.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
}

TEST_F(ServerTest, MalformedRequestsGet400) {
  StartServer();
  for (std::string bad :
       {"GET /x HTTP/1.1\r\nBad Header\r\n\r\n", "GET /v2/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /v2/a%00b HTTP/1.1\r\nHost: x\r\n\r\n", "GET x HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "\x01\x02garbage\r\n\r\n"}) {
    Client c(port());
    ASSERT_TRUE(c.Send(bad));
    auto r = c.Read();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_EQ(Lower(r->Header("connection")), "close") << bad;
    EXPECT_TRUE(c.ReadToClose()) << bad;
  }
  EXPECT_EQ(handler_->RequestCount(), 0u);
  Client c(port());
  ASSERT_TRUE(c.Send("GET /http://x HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(handler_->LastRequest().path, "/http://x");
}

TEST_F(ServerTest, AbsoluteFormTargetKeepsPath) {
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("GET http://example.com/v2/?a=b HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(handler_->LastRequest().path, "/v2/");
  EXPECT_EQ(handler_->LastRequest().query, "a=b");
}

TEST_F(ServerTest, ThrowingHandlerGets500AndServerSurvives) {
  std::atomic<int> finishes{0};
  handler_->begin = [&finishes](const Request& req) -> Exchange {
    if (req.path == "/begin") throw std::runtime_error("boom");
    if (req.path == "/int") throw 42;
    if (req.path == "/finish" || req.path == "/blocking") {
      Exchange e;
      e.mode = BodyMode::kBuffer;
      e.buffer_limit = 100;
      e.blocking = req.path == "/blocking";
      e.finish = [&finishes](BodyResult) -> Response {
        ++finishes;
        throw std::runtime_error("finish boom");
      };
      return e;
    }
    if (req.path == "/sink") {
      struct ThrowingSink : BodySink {
        Status Write(std::span<const char>) override { throw std::runtime_error("sink boom"); }
      };
      Exchange e;
      e.mode = BodyMode::kStream;
      e.sink = std::make_shared<ThrowingSink>();
      e.finish = [&finishes](BodyResult result) {
        ++finishes;
        return Text(result.status.ok() ? 200 : 500, result.status.ToString());
      };
      return e;
    }
    return Reply(Text(200, "fine"));
  };
  StartServer();
  for (std::string path : {"/begin", "/int", "/finish", "/blocking"}) {
    Client c(port());
    ASSERT_TRUE(c.Send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
    auto r = c.Read();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 500) << path;
    EXPECT_EQ(r->body, R"({"errors":[{"code":"UNKNOWN","message":"internal error"}]})") << path;
    EXPECT_EQ(r->Header("content-type"), "application/json");
  }
  {
    Client c(port());
    ASSERT_TRUE(c.Send("POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_NE(r->body.find("sink boom"), std::string::npos) << r->body;
  }
  EXPECT_EQ(finishes.load(), 3);
  Client c(port());
  ASSERT_TRUE(c.Send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "fine");
}

TEST_F(ServerTest, BadResponseHeadersAreDropped) {
  handler_->begin = [](const Request&) {
    Response r = Text(200, "x");
    r.Set("X-Evil", "a\r\nInjected: yes");
    r.Set("Bad Name", "v");
    r.Set("Content-Length", "999");
    r.Set("X-Good", "ok");
    return Reply(std::move(r));
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "x");
  EXPECT_EQ(r->Header("content-length"), "1");
  EXPECT_FALSE(r->HasHeader("injected"));
  EXPECT_FALSE(r->HasHeader("x-evil"));
  EXPECT_EQ(r->Header("x-good"), "ok");
}

TEST_F(ServerTest, ClientDisconnectsAreHarmless) {
  StartServer();
  for (int i = 0; i < 5; ++i) {
    Client c(port());
    ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nHo"));  // and goes away mid-header
  }
  {
    Client c(port());  // connects and goes away silently
  }
  Client c(port());
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(c.Read());
}

TEST_F(ServerTest, StopClosesLiveConnectionsAndUnblocksWait) {
  StartServer();
  Client idle(port());
  ASSERT_TRUE(idle.connected());
  Client c(port());
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  std::thread waiter([this] { server_->Wait(); });
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  waiter.join();
  server_->Stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s) << "a hang guard, not a speed bar";
  EXPECT_TRUE(idle.ReadToClose());
  EXPECT_TRUE(c.ReadToClose());
  server_->Wait();  // returns at once once stopped
}

// ---- on_end: how an exchange ended ------------------------------------------------

// Collects ExchangeEnd reports; the server may report just after the client
// has read the response, so tests wait for them.
struct EndProbe {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ExchangeEnd> ends;

  std::function<void(const ExchangeEnd&)> Callback() {
    return [this](const ExchangeEnd& e) {
      std::lock_guard lock(mu);
      ends.push_back(e);
      cv.notify_all();
    };
  }
  // The n-th report (1-based), waiting up to 10 s for it.
  std::optional<ExchangeEnd> Wait(size_t n) {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 10s, [&] { return ends.size() >= n; })) return std::nullopt;
    return ends[n - 1];
  }
  size_t Count() {
    std::lock_guard lock(mu);
    return ends.size();
  }
};

TEST_F(ServerTest, OnEndReportsStatusAndBodyBytes) {
  TempDir dir;
  const std::string data = RandomBytes(3 * 1024 * 1024 + 5, 9);
  auto path = WriteFile(dir, "blob", data);
  FinishProbe finish_probe;
  EndProbe probe;
  handler_->begin = [&](const Request& req) {
    Exchange e = req.path == "/blob" ? FileExchange(path, req, data.size()) : Buffering(&finish_probe, 100);
    e.on_end = probe.Callback();
    return e;
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"));
  ASSERT_TRUE(c.Read());
  auto put = probe.Wait(1);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 201);
  EXPECT_TRUE(put->completed);
  EXPECT_EQ(put->request_bytes, 11u);
  EXPECT_EQ(put->response_bytes, 11u);  // the echoed body

  ASSERT_TRUE(c.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  auto get = probe.Wait(2);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_TRUE(get->completed);
  EXPECT_EQ(get->request_bytes, 0u);
  EXPECT_EQ(get->response_bytes, data.size());

  ASSERT_TRUE(c.Send("HEAD /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.Read(/*head=*/true));
  auto head = probe.Wait(3);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->response_bytes, 0u);  // HEAD announces a length but sends nothing
}

TEST_F(ServerTest, OnEndReportsAClientThatLeftMidBody) {
  FinishProbe finish_probe;
  EndProbe probe;
  handler_->begin = [&](const Request&) {
    Exchange e = Buffering(&finish_probe, 1000);
    e.on_end = probe.Callback();
    return e;
  };
  StartServer();
  {
    Client c(port());
    ASSERT_TRUE(c.Send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789"));
  }  // gone before the rest of the body
  auto end = probe.Wait(1);
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->completed);
  EXPECT_EQ(end->status, 0);  // no response was written
  EXPECT_EQ(end->request_bytes, 10u);
  EXPECT_EQ(probe.Count(), 1u);  // exactly once
}

TEST_F(ServerTest, OnEndRunsForImmediateAnswersAndWhenStopping) {
  EndProbe probe;
  std::atomic<bool> hold{false};
  handler_->begin = [&](const Request& req) {
    if (req.path == "/slow") {
      // Never finishes on its own: the body is streamed into a sink and the
      // client sends only part of it.
      Exchange e;
      e.mode = BodyMode::kStream;
      e.sink = std::make_shared<CollectingSink>();
      e.finish = [](BodyResult) { return Text(200, "late"); };
      e.on_end = probe.Callback();
      hold = true;
      return e;
    }
    Exchange e = Reply(Text(404, "nope"));
    e.on_end = probe.Callback();
    return e;
  };
  StartServer();
  Client c(port());
  ASSERT_TRUE(c.Send("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  auto first = probe.Wait(1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 404);
  EXPECT_TRUE(first->completed);
  EXPECT_EQ(first->response_bytes, 4u);

  Client slow(port());
  ASSERT_TRUE(slow.Send("PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
  // Wait until the server has begun the exchange, then stop it.
  ASSERT_TRUE(pier::testing::WaitUntil([&] { return hold.load(); }));
  server_->Stop();
  auto second = probe.Wait(2);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->completed);
}

TEST(ServerStartTest, BindFailuresAreStatuses) {
  auto handler = std::make_shared<TestHandler>();
  ServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.io_threads = 1;
  auto first = Server::Start(o, handler);
  ASSERT_TRUE(first.ok());
  o.port = first.value()->port();
  auto second = Server::Start(o, handler);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kIOError) << second.status().ToString();

  o.port = 0;
  o.address = "not-an-address";
  auto bad = Server::Start(o, handler);
  ASSERT_FALSE(bad.ok());

  o.address = "::1";
  auto v6 = Server::Start(o, handler);
  if (v6.ok()) {
    EXPECT_NE(v6.value()->port(), 0);  // hosts without IPv6 fail to bind: fine
  }

  o.address = "127.0.0.1";
  o.tls_cert_file = "/nonexistent/cert.pem";
  o.tls_key_file = "/nonexistent/key.pem";
  auto tls = Server::Start(o, handler);
  ASSERT_FALSE(tls.ok());
  o.tls_key_file.clear();
  auto half = Server::Start(o, handler);
  ASSERT_FALSE(half.ok());
}

// ---- TLS ------------------------------------------------------------------------------------

TEST_F(ServerTest, Tls) {
  TempDir dir;
  auto cert = dir.path() / "cert.pem";
  auto key = dir.path() / "key.pem";
  MakeSelfSigned(cert, key);
  const std::string data = RandomBytes(1024 * 1024 + 5, 9);
  auto blob = WriteFile(dir, "blob", data);
  FinishProbe probe;
  handler_->begin = [&](const Request& req) {
    if (req.path == "/blob") return FileExchange(blob, req, data.size());
    if (req.method == "PUT") return Buffering(&probe, 1 << 20);
    return Reply(Text(200, req.tls ? "secure" : "plain"));
  };
  ServerOptions o = Options();
  o.tls_cert_file = cert.string();
  o.tls_key_file = key.string();
  StartServer(o);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(ctx, nullptr);
  {
    Client c(port(), ctx);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "secure");
    EXPECT_TRUE(handler_->LastRequest().tls);

    ASSERT_TRUE(c.Send("GET /blob?offset=10&length=700000 HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r2 = c.Read();
    ASSERT_TRUE(r2);
    EXPECT_TRUE(r2->body == data.substr(10, 700000));
    ASSERT_TRUE(c.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r3 = c.Read();
    ASSERT_TRUE(r3);
    EXPECT_TRUE(r3->body == data);

    ASSERT_TRUE(c.Send("PUT /m HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n"));
    auto interim = c.Read();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(c.Send("abcdef"));
    auto r4 = c.Read();
    ASSERT_TRUE(r4);
    EXPECT_EQ(r4->status, 201);
    EXPECT_EQ(r4->body, "abcdef");

    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    ASSERT_TRUE(c.Read());
    EXPECT_TRUE(c.ReadToClose());
  }
  {
    // A plain-HTTP client on the TLS port gets nowhere, and the server goes on.
    Client c(port());
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(c.ReadToClose());
  }
  {
    Client c(port(), ctx);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "secure");
  }
  SSL_CTX_free(ctx);
}

TEST(ServerTlsTest, MismatchedKeyFailsToStart) {
  TempDir dir;
  MakeSelfSigned(dir.path() / "a.pem", dir.path() / "a.key");
  MakeSelfSigned(dir.path() / "b.pem", dir.path() / "b.key");
  ServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.io_threads = 1;
  o.tls_cert_file = (dir.path() / "a.pem").string();
  o.tls_key_file = (dir.path() / "b.key").string();
  auto s = Server::Start(o, std::make_shared<TestHandler>());
  ASSERT_FALSE(s.ok());
  o.tls_key_file = (dir.path() / "a.key").string();
  auto ok = Server::Start(o, std::make_shared<TestHandler>());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
}

}  // namespace
}  // namespace pier::http
