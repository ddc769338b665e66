#pragma once
// The /metrics endpoint, served by Pier's own HTTP server (never
// prometheus-cpp's civetweb exposer).
//
// MetricsHandler answers GET/HEAD /metrics with the exposition text
// (Content-Type text/plain; version=0.0.4); other methods get 405, other
// paths 404 (it is the whole handler of the optional metrics-only port).
// Access: open by default, because Prometheus scrapes without credentials
// and the text holds no secrets, repository names or digests. With
// `require_auth` and auth enabled, a valid Basic user (any) is required
// (401 + challenge otherwise).
//
// MetricsRouter sends /metrics to the MetricsHandler and everything else to
// the registry/API handler on the main port.
#include <memory>
#include <string>

#include "adapter/auth/auth.h"
#include "adapter/http/message.h"
#include "metrics/exposition.h"

namespace pier::metrics {

inline constexpr std::string_view kMetricsPath = "/metrics";

class MetricsHandler : public http::Handler {
 public:
  // `authorizer` may be null (no access check).
  MetricsHandler(std::shared_ptr<const Exposition> exposition, std::shared_ptr<auth::Authorizer> authorizer,
                 bool require_auth, std::string realm = "pier");
  http::Exchange Begin(const http::Request& request) override;

 private:
  std::shared_ptr<const Exposition> exposition_;
  std::shared_ptr<auth::Authorizer> authorizer_;
  bool require_auth_;
  std::string realm_;
};

class MetricsRouter : public http::Handler {
 public:
  MetricsRouter(std::shared_ptr<http::Handler> metrics, std::shared_ptr<http::Handler> fallback)
      : metrics_(std::move(metrics)), fallback_(std::move(fallback)) {}
  http::Exchange Begin(const http::Request& request) override {
    return request.path == kMetricsPath ? metrics_->Begin(request) : fallback_->Begin(request);
  }

 private:
  std::shared_ptr<http::Handler> metrics_;
  std::shared_ptr<http::Handler> fallback_;
};

}  // namespace pier::metrics
