#pragma once
// InstrumentedHandler: wraps Pier's top-level Handler and records every
// exchange in HttpMetrics. The route class is decided from the path before
// the inner handler runs; the request is counted when it ends
// (Exchange::on_end), so duration and response size cover the whole body
// sent, and requests whose client went away are counted too.
#include <memory>

#include "adapter/http/message.h"
#include "metrics/http_metrics.h"

namespace pier::metrics {

class InstrumentedHandler : public http::Handler {
 public:
  InstrumentedHandler(std::shared_ptr<http::Handler> inner, std::shared_ptr<HttpMetrics> metrics)
      : inner_(std::move(inner)), metrics_(std::move(metrics)) {}
  http::Exchange Begin(const http::Request& request) override;

 private:
  std::shared_ptr<http::Handler> inner_;
  std::shared_ptr<HttpMetrics> metrics_;
};

}  // namespace pier::metrics
