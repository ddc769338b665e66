#pragma once
// The layer advisor (issue 13): what one pushed build costs each
// replication destination, what in it changes from build to build and why,
// and what would make it smaller. `pier report`, GET /api/v2.0/report and
// the dashboard's "Layer advisor" row all read it (README "Layer advisor").
//
// Promises:
//  - facts, not guesses, where Pier has them: layer sizes and digests from
//    the manifest; "shared" = the previous build (`against`, else the tag
//    pushed last before this one in the repository) has the same layer
//    digest; "missing" at a destination = the destination's known-blob index
//    (replication/progress_store.h: what Pier sent there or saw there, a
//    blob in another repository there counts as present: it is mounted) has
//    neither the layer nor, for a policy that sends zstd, its recorded zstd
//    copy; time = bytes that would be sent ÷ the destination's rate from
//    replication history (ProgressStore::LinkRate), else the policy's speed
//    limit, else the engine's bandwidth cap, else unknown (null);
//  - content findings read the layers themselves, streamed (cache/inspect):
//    the largest new or changed files, fat JARs with what Spring Boot's
//    layered jar would send, package-manager state in rebuilt layers, a base
//    image that drifts, and zstd's saving (exact where a copy exists, else
//    estimated from a sample). A layer that cannot be read (corrupt, not a
//    tar) is named in the report; the rest of the report stands;
//  - bounded: layer summaries are cached by digest (immutable), at most
//    `summary_cache` of them; a report never holds a layer in memory;
//  - reports made after pushes (OnPush) run one at a time on the advisor's
//    own thread, newest per repository only, and feed Latest() (metrics).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "cache/store.h"

namespace pier::transcode {
class Transcoder;
}
namespace pier::inspect {
struct LayerSummary;
}

namespace pier::replication {
class ReplicationStore;
class ProgressStore;
}  // namespace pier::replication

namespace pier::advisor {

struct AdvisorOptions {
  // Layer summaries (file lists of a layer) kept in memory.
  size_t summary_cache = 64;
  // zstd level the estimate uses when no destination's policy names one
  // (3: zstd's default; a policy's level, or 12 for adaptive, when one does).
  int zstd_level = 3;
  // The engine's per-destination bandwidth cap (bytes/s, 0 none): the last
  // hint for a destination's rate when there is no history.
  uint64_t engine_bytes_per_second = 0;
  // Reports after pushes (OnPush); off: only on request.
  bool on_push = true;
};

struct ReportRequest {
  std::string repository;
  std::string reference;  // tag or digest
  std::string against;    // tag or digest of the build to compare with; "" = the previous tag
  bool content = true;    // read the layers (false: sizes, sharing and destinations only)
};

// What the metrics show of the latest report per repository.
struct ReportDigest {
  std::string repository;
  std::string reference;
  uint64_t image_bytes = 0;  // config + layers
  uint64_t new_bytes = 0;    // layers not in the previous build
  struct Destination {
    std::string name;
    uint64_t missing_bytes = 0;  // as it would be sent (zstd where the policy says so)
    std::optional<double> seconds;
  };
  std::vector<Destination> destinations;
  // Fat JARs: bytes of the JAR layers this build vs what a layered jar would send.
  uint64_t fat_jar_bytes = 0;
  uint64_t layered_jar_bytes = 0;
  uint64_t gzip_bytes = 0;  // the new gzip layers whose zstd size is known...
  uint64_t zstd_bytes = 0;  // ...and that size (estimated or exact)
  int64_t made_unix = 0;
  int64_t pushed_unix = 0;  // of the build reported on
};

class Advisor {
 public:
  Advisor(std::shared_ptr<Store> store, std::shared_ptr<replication::ReplicationStore> repl,
          std::shared_ptr<replication::ProgressStore> progress, std::shared_ptr<transcode::Transcoder> transcoder,
          AdvisorOptions options);
  ~Advisor();

  // The report as JSON (README "Layer advisor" lists the fields). NotFound
  // naming what is absent (repository, reference, against); InvalidArgument
  // when the reference is not an image (an artifact, a signature).
  Result<nlohmann::json> Report(const ReportRequest& request, std::stop_token stop = {});

  // A tagged manifest was pushed: report on it in the background.
  void OnPush(const std::string& repository, const std::string& reference);
  // Per repository, the report on its most recently pushed build (made
  // after the push, or asked for); a report on an older build leaves it.
  std::vector<ReportDigest> Latest() const;
  // Stops the background thread (waits for the report in progress).
  void Stop();

  // The cached summary of a layer blob, read now when not cached.
  Result<std::shared_ptr<const inspect::LayerSummary>> Summary(std::string_view repo, const Digest& layer,
                                                               std::stop_token stop);

 private:
  void Loop(std::stop_token stop);
  void Remember(const nlohmann::json& report, int64_t pushed_unix);

  std::shared_ptr<Store> store_;
  std::shared_ptr<replication::ReplicationStore> repl_;
  std::shared_ptr<replication::ProgressStore> progress_;
  std::shared_ptr<transcode::Transcoder> transcoder_;
  AdvisorOptions options_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::pair<std::string, std::string>> queue_;  // (repository, reference)
  std::map<std::string, ReportDigest> latest_;
  // LRU of layer summaries by digest.
  std::list<std::pair<std::string, std::shared_ptr<const inspect::LayerSummary>>> lru_;
  std::jthread thread_;
};

}  // namespace pier::advisor
