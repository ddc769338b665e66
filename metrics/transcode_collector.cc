#include "metrics/transcode_collector.h"

#include "metrics/exposition.h"

namespace pier::metrics {

std::vector<prometheus::MetricFamily> TranscodeCollector::Collect() const {
  const transcode::TranscoderStats s = t_->Stats();
  std::vector<prometheus::MetricFamily> out;
  auto add = [&](prometheus::MetricFamily f, double v) {
    out.push_back(std::move(f));
    Sample(&out.back(), v);
  };
  out.push_back(CounterFamily("pier_transcode_runs_total", "gzip→zstd transcodes made, by result."));
  Sample(&out.back(), static_cast<double>(s.transcodes), {{"result", "ok"}});
  Sample(&out.back(), static_cast<double>(s.failures), {{"result", "failed"}});
  add(CounterFamily("pier_transcode_reused_total", "Transcodes asked for and answered by a zstd copy already stored."),
      static_cast<double>(s.reused));
  add(CounterFamily("pier_transcode_input_bytes_total", "gzip bytes read by transcodes."),
      static_cast<double>(s.gzip_bytes));
  add(CounterFamily("pier_transcode_output_bytes_total", "zstd bytes written by transcodes."),
      static_cast<double>(s.zstd_bytes));
  add(CounterFamily("pier_transcode_seconds_total", "Wall time spent transcoding."), s.busy_seconds);
  add(GaugeFamily("pier_transcode_active", "Transcodes running now."), static_cast<double>(s.active));
  add(GaugeFamily("pier_transcode_queued", "Transcodes asked for and not finished (running ones included)."), static_cast<double>(s.queued));
  return out;
}

}  // namespace pier::metrics
