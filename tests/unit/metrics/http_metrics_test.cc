// The HTTP side: route classes, InstrumentedHandler around a fake inner
// handler (the server's part, calling on_end, is played by the test), and
// the /metrics endpoint.
#include <gtest/gtest.h>

#include "metrics/endpoint.h"
#include "metrics/instrument.h"
#include "metrics/metrics.h"
#include "metrics/route_class.h"
#include "tests/unit/metrics/text_util.h"

namespace pier::metrics {
namespace {

using testing::Type;
using testing::Value;

TEST(RouteClass, EveryRouteMapsToABoundedClass) {
  EXPECT_EQ(RouteClass("/v2/"), "base");
  EXPECT_EQ(RouteClass("/v2"), "base");
  EXPECT_EQ(RouteClass("/v2/_catalog"), "catalog");
  EXPECT_EQ(RouteClass("/v2/team/app/tags/list"), "tags");
  EXPECT_EQ(RouteClass("/v2/team/app/manifests/latest"), "manifest");
  EXPECT_EQ(RouteClass("/v2/team/app/blobs/sha256:abc"), "blob");
  EXPECT_EQ(RouteClass("/v2/team/app/blobs/uploads/"), "blob_upload");
  EXPECT_EQ(RouteClass("/v2/team/app/blobs/uploads/0f6e1d2c"), "blob_upload");
  EXPECT_EQ(RouteClass("/v2/team/app/referrers/sha256:abc"), "referrers");
  EXPECT_EQ(RouteClass("/api/v2.0/registries/1"), "api");
  EXPECT_EQ(RouteClass("/api/v2.0"), "api");
  EXPECT_EQ(RouteClass("/service/token"), "token");
  EXPECT_EQ(RouteClass("/metrics"), "metrics");
  EXPECT_EQ(RouteClass("/healthz"), "health");
  EXPECT_EQ(RouteClass("/readyz"), "health");
  EXPECT_EQ(RouteClass("/api/v2.00"), "other");
  EXPECT_EQ(RouteClass("/v2/x"), "other");
  EXPECT_EQ(RouteClass("/wp-admin/secret-repo-name"), "other");
  EXPECT_EQ(MethodClass("GET"), "GET");
  EXPECT_EQ(MethodClass("PATCH"), "PATCH");
  EXPECT_EQ(MethodClass("get"), "other");
  EXPECT_EQ(MethodClass("BREW"), "other");
}

// A handler whose answer the test sets; it records on_end calls of its own.
class FakeHandler : public http::Handler {
 public:
  http::Exchange Begin(const http::Request&) override {
    http::Exchange ex = http::Reply(http::Response());
    ex.on_end = [this](const http::ExchangeEnd&) { ++inner_ends; };
    return ex;
  }
  int inner_ends = 0;
};

class InstrumentTest : public ::testing::Test {
 protected:
  // Begin + the server's on_end with the given outcome.
  void Exchange(std::string method, std::string path, http::ExchangeEnd end) {
    http::Request req;
    req.method = std::move(method);
    req.path = std::move(path);
    http::Exchange ex = handler_->Begin(req);
    ASSERT_TRUE(ex.on_end);
    ex.on_end(end);
  }
  static http::ExchangeEnd Done(int status, uint64_t in = 0, uint64_t out = 0) {
    http::ExchangeEnd e;
    e.status = status;
    e.completed = true;
    e.request_bytes = in;
    e.response_bytes = out;
    return e;
  }
  std::string Text() { return metrics_.exposition()->Text(); }

  Metrics metrics_{MetricsOptions{nullptr, "/", "1.2.3", "abc123", nullptr, nullptr, nullptr, nullptr}};
  std::shared_ptr<FakeHandler> inner_ = std::make_shared<FakeHandler>();
  std::shared_ptr<InstrumentedHandler> handler_ =
      std::make_shared<InstrumentedHandler>(inner_, metrics_.http());
};

TEST_F(InstrumentTest, CountsByRouteClassMethodAndCode) {
  Exchange("GET", "/v2/team/app/manifests/latest", Done(200, 0, 1234));
  Exchange("GET", "/v2/team/app/manifests/latest", Done(200, 0, 1234));
  Exchange("PUT", "/v2/team/app/manifests/v1", Done(201, 900, 0));
  Exchange("PATCH", "/v2/team/app/blobs/uploads/abc", Done(202, 5'000'000, 0));
  EXPECT_EQ(inner_->inner_ends, 4);  // the inner handler's own on_end still runs

  const std::string t = Text();
  EXPECT_EQ(Value(t, R"(pier_http_requests_total{code="200",handler="manifest",method="GET"})"), 2);
  EXPECT_EQ(Value(t, R"(pier_http_requests_total{code="201",handler="manifest",method="PUT"})"), 1);
  EXPECT_EQ(Value(t, R"(pier_http_requests_total{code="202",handler="blob_upload",method="PATCH"})"), 1);
  EXPECT_EQ(Value(t, R"(pier_http_request_duration_seconds_count{handler="manifest",method="GET"})"), 2);
  EXPECT_EQ(Value(t, R"(pier_http_response_size_bytes_sum{handler="manifest"})"), 2468);
  EXPECT_EQ(Value(t, R"(pier_http_request_size_bytes_sum{handler="blob_upload"})"), 5'000'000);
  EXPECT_EQ(Value(t, R"(pier_http_request_size_bytes_bucket{handler="blob_upload",le="4194304"})"), 0);
  EXPECT_EQ(Value(t, R"(pier_http_request_size_bytes_bucket{handler="blob_upload",le="16777216"})"), 1);
  EXPECT_EQ(Type(t, "pier_http_requests_total"), "counter");
  EXPECT_EQ(Type(t, "pier_http_request_duration_seconds"), "histogram");
  EXPECT_EQ(Type(t, "pier_http_request_size_bytes"), "histogram");
  EXPECT_EQ(Type(t, "pier_http_response_size_bytes"), "histogram");
  EXPECT_EQ(Type(t, "pier_http_requests_in_flight"), "gauge");
  EXPECT_EQ(Value(t, R"(pier_build_info{revision="abc123",version="1.2.3"})"), 1);
}

TEST_F(InstrumentTest, UnknownPathsAndMethodsStayBounded) {
  Exchange("GET", "/some/secret/repo/name", Done(404));
  Exchange("BREW", "/v2/team/app/manifests/latest", Done(405));
  const std::string t = Text();
  EXPECT_EQ(Value(t, R"(pier_http_requests_total{code="404",handler="other",method="GET"})"), 1);
  EXPECT_EQ(Value(t, R"(pier_http_requests_total{code="405",handler="manifest",method="other"})"), 1);
  EXPECT_EQ(t.find("secret"), std::string::npos);
  EXPECT_EQ(t.find("BREW"), std::string::npos);
  EXPECT_EQ(t.find("team/app"), std::string::npos);
}

TEST_F(InstrumentTest, InFlightCoversTheWholeExchange) {
  http::Request req;
  req.method = "GET";
  req.path = "/v2/team/app/blobs/sha256:abc";
  http::Exchange ex = handler_->Begin(req);
  EXPECT_EQ(Value(Text(), R"(pier_http_requests_in_flight{handler="blob"})"), 1);
  EXPECT_EQ(Value(Text(), R"(pier_http_requests_in_flight{handler="manifest"})"),
            0);           // present from the start
  http::ExchangeEnd cut;  // the client left before any response
  cut.request_bytes = 10;
  ex.on_end(cut);
  const std::string t = Text();
  EXPECT_EQ(Value(t, R"(pier_http_requests_in_flight{handler="blob"})"), 0);
  EXPECT_EQ(Value(t, R"(pier_http_requests_total{code="499",handler="blob",method="GET"})"), 1);
}

TEST_F(InstrumentTest, BlobReadsHitAndMiss) {
  Exchange("GET", "/v2/a/blobs/sha256:1", Done(200, 0, 100));
  Exchange("GET", "/v2/a/blobs/sha256:1", Done(206, 0, 10));
  Exchange("HEAD", "/v2/a/blobs/sha256:2", Done(404));
  Exchange("HEAD", "/v2/a/blobs/sha256:2", Done(401));     // not an answer about the cache
  Exchange("DELETE", "/v2/a/blobs/sha256:1", Done(202));   // not a read
  Exchange("GET", "/v2/a/manifests/sha256:1", Done(404));  // not a blob
  const std::string t = Text();
  EXPECT_EQ(Value(t, R"(pier_cache_blob_reads_total{result="hit"})"), 2);
  EXPECT_EQ(Value(t, R"(pier_cache_blob_reads_total{result="miss"})"), 1);
  EXPECT_EQ(Type(t, "pier_cache_blob_reads_total"), "counter");
}

TEST_F(InstrumentTest, ThrowingInnerHandlerIsCountedAs500) {
  class Thrower : public http::Handler {
   public:
    http::Exchange Begin(const http::Request&) override { throw std::runtime_error("boom"); }
  };
  InstrumentedHandler h(std::make_shared<Thrower>(), metrics_.http());
  http::Request req;
  req.method = "GET";
  req.path = "/v2/";
  EXPECT_THROW(h.Begin(req), std::runtime_error);
  const std::string t = Text();
  EXPECT_EQ(Value(t, R"(pier_http_requests_total{code="500",handler="base",method="GET"})"), 1);
  EXPECT_EQ(Value(t, R"(pier_http_requests_in_flight{handler="base"})"), 0);
}

// ---- the /metrics endpoint -------------------------------------------------

// `openssl passwd -6 -salt saltsalt hunter2` (sha-crypt: fast to verify).
constexpr char kUsers[] =
    "dave:$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/GZ6Nej73/"
    "TFug6pIPSqbJoCT6dfnj.\n";

http::Response Serve(http::Handler& h, std::string method, std::string path, std::string authorization = "") {
  http::Request req;
  req.method = std::move(method);
  req.path = std::move(path);
  if (!authorization.empty()) req.headers.emplace_back("authorization", authorization);
  http::Exchange ex = h.Begin(req);
  if (ex.immediate) return std::move(*ex.immediate);
  EXPECT_TRUE(ex.blocking);  // collecting reads /proc: not on an I/O thread
  return ex.finish(http::BodyResult());
}

std::string HeaderOf(const http::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

TEST(MetricsEndpoint, ServesTheTextFormat) {
  Metrics m(MetricsOptions{nullptr, "/", "1.2.3", "r1", nullptr, nullptr, nullptr, nullptr});
  MetricsHandler h(m.exposition(), nullptr, false);
  http::Response r = Serve(h, "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("# TYPE pier_build_info gauge"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("process_cpu_seconds_total"), std::string::npos);
  EXPECT_EQ(Serve(h, "HEAD", "/metrics").status, 200);
  http::Response post = Serve(h, "POST", "/metrics");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(HeaderOf(post, "Allow"), "GET, HEAD");
  EXPECT_EQ(Serve(h, "GET", "/v2/").status, 404);  // the metrics-only port serves nothing else
}

TEST(MetricsEndpoint, OpenByDefaultEvenWithAuthOn) {
  auto users = auth::Htpasswd::Parse(kUsers);
  ASSERT_TRUE(users.ok());
  auto authz = std::make_shared<auth::Authorizer>(std::move(*users), std::vector<auth::AclRule>{}, false);
  Metrics m(MetricsOptions{});
  MetricsHandler h(m.exposition(), authz, /*require_auth=*/false);
  EXPECT_EQ(Serve(h, "GET", "/metrics").status, 200);
}

TEST(MetricsEndpoint, RequireAuthNeedsAValidUser) {
  auto users = auth::Htpasswd::Parse(kUsers);
  ASSERT_TRUE(users.ok());
  auto authz = std::make_shared<auth::Authorizer>(std::move(*users), std::vector<auth::AclRule>{}, false);
  Metrics m(MetricsOptions{});
  MetricsHandler h(m.exposition(), authz, /*require_auth=*/true, "pier");
  http::Response anon = Serve(h, "GET", "/metrics");
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(HeaderOf(anon, "WWW-Authenticate"), "Basic realm=\"pier\"");
  EXPECT_EQ(Serve(h, "GET", "/metrics", "Basic ZGF2ZTp3cm9uZw==").status, 401);  // dave:wrong
  http::Response ok = Serve(h, "GET", "/metrics", "Basic ZGF2ZTpodW50ZXIy");     // dave:hunter2
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body.find("hunter2"), std::string::npos);
}

TEST(MetricsRouter, OnlyTheMetricsPathGoesToMetrics) {
  Metrics m(MetricsOptions{});
  auto endpoint = std::make_shared<MetricsHandler>(m.exposition(), nullptr, false);
  auto fallback = std::make_shared<FakeHandler>();
  MetricsRouter router(endpoint, fallback);
  EXPECT_EQ(Serve(router, "GET", "/metrics").status, 200);
  http::Request req;
  req.method = "GET";
  req.path = "/metrics/x";
  http::Exchange ex = router.Begin(req);
  ASSERT_TRUE(ex.on_end);  // the fake's answer
  ex.on_end(http::ExchangeEnd());
  EXPECT_EQ(fallback->inner_ends, 1);
}

}  // namespace
}  // namespace pier::metrics
