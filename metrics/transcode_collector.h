#pragma once
// TranscodeCollector: the store's gzip→zstd transcodes (cache/transcode),
// read when /metrics is scraped.
//
//   pier_transcode_runs_total{result}      counter  transcodes made: result="ok" | "failed"
//   pier_transcode_reused_total            counter  asks answered by a copy already stored
//   pier_transcode_input_bytes_total       counter  gzip bytes read by transcodes
//   pier_transcode_output_bytes_total      counter  zstd bytes written by transcodes
//   pier_transcode_seconds_total           counter  wall time spent transcoding; throughput is
//                                                   rate(input_bytes) / rate(seconds)
//   pier_transcode_active                  gauge    transcodes running now
//   pier_transcode_queued                  gauge    transcodes asked for and not finished
// Bytes saved on the wire are per destination, in ReplicationMetrics
// (pier_replication_transcode_saved_bytes_total). Every series exists from
// the first scrape.
#include <prometheus/collectable.h>

#include <memory>
#include <vector>

#include "cache/transcode/transcoder.h"

namespace pier::metrics {

class TranscodeCollector : public prometheus::Collectable {
 public:
  explicit TranscodeCollector(std::shared_ptr<transcode::Transcoder> t) : t_(std::move(t)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<transcode::Transcoder> t_;
};

}  // namespace pier::metrics
