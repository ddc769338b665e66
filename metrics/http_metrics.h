#pragma once
// HttpMetrics: the families describing Pier's HTTP traffic, fed once per
// exchange by InstrumentedHandler (instrument.h):
//
//   pier_http_requests_total{handler,method,code}            counter
//   pier_http_request_duration_seconds{handler,method}       histogram, header read → last byte written
//   pier_http_request_size_bytes{handler}                    histogram, request body bytes read
//   pier_http_response_size_bytes{handler}                   histogram, response body bytes written
//   pier_http_requests_in_flight{handler}                    gauge
//   pier_cache_blob_reads_total{result="hit|miss"}           counter, blob GET/HEAD answered 2xx/304 | 404
//
// `handler` and `method` come from route_class.h (bounded sets); `code` is
// the status written, or "499" when the client went away before any
// response was written (nginx's convention). Thread-safe.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string_view>

#include "adapter/http/message.h"

namespace pier::metrics {

class HttpMetrics {
 public:
  // Registers the families in `registry`, which it keeps alive.
  explicit HttpMetrics(std::shared_ptr<prometheus::Registry> registry);

  // A request of route class `handler` started.
  void Start(std::string_view handler);
  // ... and ended after `seconds`.
  void End(std::string_view handler, std::string_view method, const http::ExchangeEnd& end, double seconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Histogram>& request_size_;
  prometheus::Family<prometheus::Histogram>& response_size_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Counter>& blob_reads_;
  prometheus::Counter& blob_hits_;
  prometheus::Counter& blob_misses_;
};

}  // namespace pier::metrics
