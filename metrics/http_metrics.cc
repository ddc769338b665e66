#include "metrics/http_metrics.h"

#include <string>

#include "metrics/buckets.h"

namespace pier::metrics {
namespace {

constexpr std::string_view kRouteClasses[] = {"base",  "blob",    "blob_upload", "manifest",
                                              "tags",  "catalog", "referrers",   "api",
                                              "token", "metrics", "health",      "other"};

prometheus::Family<prometheus::Counter>& BlobReads(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("pier_cache_blob_reads_total")
      .Help("Blob GET/HEAD requests by result: hit (found) or miss (404).")
      .Register(r);
}

}  // namespace

HttpMetrics::HttpMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      requests_(prometheus::BuildCounter()
                    .Name("pier_http_requests_total")
                    .Help("HTTP requests by route class, method and status code.")
                    .Register(*registry_)),
      duration_(prometheus::BuildHistogram()
                    .Name("pier_http_request_duration_seconds")
                    .Help("Time from reading a request's header to writing the last byte of its response.")
                    .Register(*registry_)),
      request_size_(prometheus::BuildHistogram()
                        .Name("pier_http_request_size_bytes")
                        .Help("Request body bytes read, by route class.")
                        .Register(*registry_)),
      response_size_(prometheus::BuildHistogram()
                         .Name("pier_http_response_size_bytes")
                         .Help("Response body bytes written, by route class.")
                         .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("pier_http_requests_in_flight")
                     .Help("HTTP requests being served, by route class.")
                     .Register(*registry_)),
      blob_reads_(BlobReads(*registry_)),
      blob_hits_(blob_reads_.Add({{"result", "hit"}})),
      blob_misses_(blob_reads_.Add({{"result", "miss"}})) {
  // Every route class shows up from the first scrape, at 0.
  for (std::string_view h : kRouteClasses) in_flight_.Add({{"handler", std::string(h)}});
}

void HttpMetrics::Start(std::string_view handler) {
  in_flight_.Add({{"handler", std::string(handler)}}).Increment();
}

void HttpMetrics::End(std::string_view handler, std::string_view method, const http::ExchangeEnd& end,
                      double seconds) {
  const std::string h(handler), m(method);
  in_flight_.Add({{"handler", h}}).Decrement();
  const std::string code = end.status > 0 ? std::to_string(end.status) : "499";
  requests_.Add({{"handler", h}, {"method", m}, {"code", code}}).Increment();
  duration_.Add({{"handler", h}, {"method", m}}, DurationBuckets()).Observe(seconds);
  request_size_.Add({{"handler", h}}, SizeBuckets()).Observe(static_cast<double>(end.request_bytes));
  response_size_.Add({{"handler", h}}, SizeBuckets()).Observe(static_cast<double>(end.response_bytes));
  if (handler == "blob" && (method == "GET" || method == "HEAD")) {
    if ((end.status >= 200 && end.status < 300) || end.status == 304) blob_hits_.Increment();
    if (end.status == 404) blob_misses_.Increment();
  }
}

}  // namespace pier::metrics
