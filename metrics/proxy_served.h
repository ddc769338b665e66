#pragma once
// ProxyServedHandler: counts the body bytes of proxied manifests and blobs
// written to clients (ProxyMetrics::OnServedBytes, per upstream). Counted at
// the HTTP edge because every answer passes here, whichever path served it
// (warm hit on the I/O thread, fill, stale copy), and the registry handlers
// stay free of metrics. Only GETs answered 200/206 count: a HEAD sends no
// body and an error body is not content.
#include <memory>

#include "adapter/http/message.h"
#include "cache/proxy/pull_through.h"
#include "metrics/proxy_metrics.h"

namespace pier::metrics {

class ProxyServedHandler : public http::Handler {
 public:
  ProxyServedHandler(std::shared_ptr<http::Handler> inner, std::shared_ptr<const proxy::PullThrough> pull_through,
                     std::shared_ptr<ProxyMetrics> metrics)
      : inner_(std::move(inner)), pull_through_(std::move(pull_through)), metrics_(std::move(metrics)) {}
  http::Exchange Begin(const http::Request& request) override;

 private:
  std::shared_ptr<http::Handler> inner_;
  std::shared_ptr<const proxy::PullThrough> pull_through_;
  std::shared_ptr<ProxyMetrics> metrics_;
};

}  // namespace pier::metrics
