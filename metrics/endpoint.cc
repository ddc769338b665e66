#include "metrics/endpoint.h"

namespace pier::metrics {
namespace {

http::Response Text(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.Set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

}  // namespace

MetricsHandler::MetricsHandler(std::shared_ptr<const Exposition> exposition,
                               std::shared_ptr<auth::Authorizer> authorizer, bool require_auth,
                               std::string realm)
    : exposition_(std::move(exposition)),
      authorizer_(std::move(authorizer)),
      require_auth_(require_auth),
      realm_(std::move(realm)) {}

http::Exchange MetricsHandler::Begin(const http::Request& req) {
  if (req.path != kMetricsPath) return http::Reply(Text(404, "404 page not found\n"));
  if (req.method != "GET" && req.method != "HEAD") {
    http::Response r = Text(405, "method " + req.method + " not allowed on /metrics\n");
    r.Set("Allow", "GET, HEAD");
    return http::Reply(std::move(r));
  }
  if (require_auth_ && authorizer_ && authorizer_->enabled()) {
    // Never downgrade wrong credentials to anonymous; never echo them.
    auto who = authorizer_->Authenticate(req.Header("authorization"));
    if (!who.ok() || who->anonymous) {
      http::Response r = Text(401, "authentication required\n");
      r.Set("WWW-Authenticate", "Basic realm=\"" + realm_ + "\"");
      return http::Reply(std::move(r));
    }
  }
  // Collecting reads /proc and statvfs: off the I/O thread.
  http::Exchange ex;
  ex.blocking = true;
  ex.finish = [exposition = exposition_](http::BodyResult) {
    http::Response r;
    r.Set("Content-Type", std::string(kTextContentType));
    r.body = exposition->Text();
    return r;
  };
  return ex;
}

}  // namespace pier::metrics
