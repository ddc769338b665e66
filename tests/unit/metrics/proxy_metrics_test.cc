// ProxyMetrics: the pull-through observer calls and the served bytes counted
// at the HTTP edge (ProxyServedHandler), read back from the text a scrape
// returns.
#include "metrics/proxy_metrics.h"

#include <gtest/gtest.h>

#include "metrics/proxy_served.h"
#include "tests/unit/metrics/text_util.h"

namespace pier::metrics {
namespace {

using testing::Type;
using testing::Value;

std::vector<proxy::Upstream> Upstreams() {
  auto ups = proxy::ParseUpstreams(nlohmann::json::parse(R"([
      {"name": "hub", "url": "http://127.0.0.1:9", "ns": ["docker.io"]},
      {"name": "acr", "url": "http://127.0.0.1:9", "prefix": "aliyun"}])"),
                                   "proxy.upstreams");
  EXPECT_TRUE(ups.ok()) << ups.status().message();
  return ups.ok() ? *ups : std::vector<proxy::Upstream>{};
}

class ProxyMetricsTest : public ::testing::Test {
 protected:
  std::string Text() { return testing::Scrape(registry_); }
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ProxyMetrics> m_ = std::make_shared<ProxyMetrics>(registry_);
};

TEST_F(ProxyMetricsTest, AnnounceExportsEverySeriesAtZero) {
  m_->Announce(Upstreams());
  const std::string t = Text();
  for (const char* up : {"hub", "acr"}) {
    const std::string u = std::string("upstream=\"") + up + "\"";
    EXPECT_EQ(Value(t, "pier_proxy_requests_total{kind=\"blob\",result=\"coalesced\"," + u + "}"), 0) << t;
    EXPECT_EQ(Value(t, "pier_proxy_upstream_bytes_total{" + u + "}"), 0);
    EXPECT_EQ(Value(t, "pier_proxy_served_bytes_total{" + u + "}"), 0);
    EXPECT_EQ(Value(t, "pier_proxy_upstream_up{" + u + "}"), 1);
    EXPECT_EQ(Value(t, "pier_proxy_fetches_in_flight{" + u + "}"), 0);
    EXPECT_EQ(Value(t, "pier_proxy_upstream_latency_seconds_count{" + u + "}"), 0);
    EXPECT_EQ(Value(t, "pier_proxy_upstream_latency_seconds_bucket{" + u + ",le=\"+Inf\"}"), 0);
  }
  EXPECT_EQ(Type(t, "pier_proxy_upstream_latency_seconds"), "histogram");
  EXPECT_EQ(Type(t, "pier_proxy_fetches_in_flight"), "gauge");
  EXPECT_EQ(Type(t, "pier_proxy_served_bytes_total"), "counter");
}

TEST_F(ProxyMetricsTest, LatencyLandsInItsBuckets) {
  m_->OnUpstreamLatency("hub", 0.003);  // a LAN mirror
  m_->OnUpstreamLatency("hub", 0.2);
  m_->OnUpstreamLatency("hub", 45);  // beyond the last bucket
  const std::string t = Text();
  EXPECT_EQ(Value(t, R"(pier_proxy_upstream_latency_seconds_bucket{upstream="hub",le="0.005"})"), 1) << t;
  EXPECT_EQ(Value(t, R"(pier_proxy_upstream_latency_seconds_bucket{upstream="hub",le="0.1"})"), 1);
  EXPECT_EQ(Value(t, R"(pier_proxy_upstream_latency_seconds_bucket{upstream="hub",le="0.25"})"), 2);
  EXPECT_EQ(Value(t, R"(pier_proxy_upstream_latency_seconds_bucket{upstream="hub",le="30"})"), 2);
  EXPECT_EQ(Value(t, R"(pier_proxy_upstream_latency_seconds_bucket{upstream="hub",le="+Inf"})"), 3);
  EXPECT_EQ(Value(t, R"(pier_proxy_upstream_latency_seconds_count{upstream="hub"})"), 3);
  EXPECT_NEAR(Value(t, R"(pier_proxy_upstream_latency_seconds_sum{upstream="hub"})").value_or(-1), 45.203, 1e-9);
}

TEST_F(ProxyMetricsTest, FetchesInFlightIsSetNotAdded) {
  m_->SetFetchesInFlight("hub", 3);
  EXPECT_EQ(Value(Text(), R"(pier_proxy_fetches_in_flight{upstream="hub"})"), 3);
  m_->SetFetchesInFlight("hub", 0);
  EXPECT_EQ(Value(Text(), R"(pier_proxy_fetches_in_flight{upstream="hub"})"), 0);
}

// A handler answering every request; the server's on_end is played by the test.
class OkHandler : public http::Handler {
 public:
  http::Exchange Begin(const http::Request&) override { return http::Reply(http::Response()); }
};

class ProxyServedTest : public ProxyMetricsTest {
 protected:
  void SetUp() override {
    auto pt = proxy::PullThrough::Create(nullptr, Upstreams());
    ASSERT_TRUE(pt.ok()) << pt.status().message();
    handler_ = std::make_shared<ProxyServedHandler>(std::make_shared<OkHandler>(), *pt, m_);
  }
  // Begin + the server's end of the exchange: `status`, `bytes` written.
  void Serve(std::string method, std::string path, std::string query, int status, uint64_t bytes) {
    http::Request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.query = std::move(query);
    http::Exchange ex = handler_->Begin(req);
    http::ExchangeEnd e;
    e.status = status;
    e.completed = true;
    e.response_bytes = bytes;
    if (ex.on_end) ex.on_end(e);
  }
  std::shared_ptr<ProxyServedHandler> handler_;
};

TEST_F(ProxyServedTest, CountsProxiedContentBothAddressingStylesOnly) {
  const std::string blob = "sha256:" + std::string(64, 'a');
  Serve("GET", "/v2/hub/library/app/blobs/" + blob, "", 200, 1000);          // prefix style
  Serve("GET", "/v2/library/app/blobs/" + blob, "ns=docker.io", 206, 100);   // ns style, a range
  Serve("GET", "/v2/aliyun/team/app/manifests/v1", "", 200, 10);              // another upstream
  // Not content served from an upstream's cache:
  Serve("GET", "/v2/team/hosted/blobs/" + blob, "", 200, 1 << 20);            // a hosted name
  Serve("GET", "/v2/library/app/blobs/" + blob, "", 200, 1 << 20);            // no ns: hosted
  Serve("HEAD", "/v2/hub/library/app/blobs/" + blob, "", 200, 0);
  Serve("GET", "/v2/hub/library/app/blobs/" + blob, "", 404, 150);            // an error body
  Serve("GET", "/v2/hub/library/app/tags/list", "", 200, 50);
  Serve("GET", "/v2/Hub/App/blobs/" + blob, "", 400, 80);                     // invalid name
  const std::string t = Text();
  EXPECT_EQ(Value(t, R"(pier_proxy_served_bytes_total{upstream="hub"})"), 1100) << t;
  EXPECT_EQ(Value(t, R"(pier_proxy_served_bytes_total{upstream="acr"})"), 10) << t;
}

}  // namespace
}  // namespace pier::metrics
