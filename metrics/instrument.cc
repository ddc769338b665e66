#include "metrics/instrument.h"

#include <chrono>

#include "metrics/route_class.h"

namespace pier::metrics {

http::Exchange InstrumentedHandler::Begin(const http::Request& request) {
  using Clock = std::chrono::steady_clock;
  // Both are views of static strings: safe to keep in the callback.
  const std::string_view handler = RouteClass(request.path);
  const std::string_view method = MethodClass(request.method);
  const auto start = Clock::now();
  auto seconds = [start] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  metrics_->Start(handler);
  http::Exchange ex;
  try {
    ex = inner_->Begin(request);
  } catch (...) {
    // The server answers 500 itself; count it as such so in-flight stays right.
    http::ExchangeEnd end;
    end.status = 500;
    end.completed = true;
    metrics_->End(handler, method, end, seconds());
    throw;
  }
  ex.on_end = [metrics = metrics_, handler, method, seconds,
               inner = std::move(ex.on_end)](const http::ExchangeEnd& e) {
    if (inner) inner(e);
    metrics->End(handler, method, e, seconds());
  };
  return ex;
}

}  // namespace pier::metrics
