#include "replication/advisor/advisor.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "base/clock.h"
#include "base/log.h"
#include "cache/transcode/transcoder.h"
#include "replication/advisor/content.h"
#include "replication/advisor/destinations.h"
#include "replication/advisor/image.h"
#include "replication/progress_store.h"
#include "replication/state_store.h"

namespace pier::advisor {
namespace {

using json = nlohmann::json;

// Only so many reports wait after pushes: the newest per repository matters.
constexpr size_t kMaxQueued = 64;

uint64_t Size(const Descriptor& d) { return static_cast<uint64_t>(std::max<int64_t>(0, d.size)); }

json ImageJson(const Image& img) {
  json j = {{"reference", img.reference}, {"digest", img.digest.str()}, {"media_type", img.media_type}};
  if (img.image_digest) {
    j["image_digest"] = img.image_digest->str();
    j["platform"] = img.platform;
  }
  return j;
}

bool IsTranscodable(const Layer& l) { return l.compression == "gzip" && l.desc.urls.empty(); }

}  // namespace

Advisor::Advisor(std::shared_ptr<Store> store, std::shared_ptr<replication::ReplicationStore> repl,
                 std::shared_ptr<replication::ProgressStore> progress,
                 std::shared_ptr<transcode::Transcoder> transcoder, AdvisorOptions options)
    : store_(std::move(store)),
      repl_(std::move(repl)),
      progress_(std::move(progress)),
      transcoder_(std::move(transcoder)),
      options_(options) {
  if (options_.on_push) thread_ = std::jthread([this](std::stop_token st) { Loop(st); });
}

Advisor::~Advisor() { Stop(); }

void Advisor::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

void Advisor::OnPush(const std::string& repository, const std::string& reference) {
  if (!options_.on_push) return;
  std::lock_guard lock(mu_);
  // The newest push of a repository replaces one still waiting.
  std::erase_if(queue_, [&](const auto& q) { return q.first == repository; });
  if (queue_.size() >= kMaxQueued) queue_.pop_front();
  queue_.emplace_back(repository, reference);
  cv_.notify_all();
}

void Advisor::Loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::pair<std::string, std::string> next;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, stop, [&] { return !queue_.empty(); });
      if (stop.stop_requested()) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    auto r = Report({next.first, next.second, "", true}, stop);
    // A push of something that is not an image (a chart, a signature) has
    // no report: not worth a warning.
    if (!r.ok() && r.status().code() != Code::kInvalidArgument && !stop.stop_requested()) {
      log::Warn("layer advisor: report after a push failed",
                {{"repository", next.first}, {"reference", next.second}, {"error", r.status().message()}});
    }
  }
}

std::vector<ReportDigest> Advisor::Latest() const {
  std::lock_guard lock(mu_);
  std::vector<ReportDigest> out;
  for (const auto& [repo, d] : latest_) out.push_back(d);
  return out;
}

void Advisor::Remember(const json& report, int64_t pushed_unix) {
  ReportDigest d;
  d.pushed_unix = pushed_unix;
  d.repository = report["repository"].get<std::string>();
  d.reference = report["reference"].get<std::string>();
  d.image_bytes = report["totals"]["image_bytes"].get<uint64_t>();
  d.new_bytes = report["totals"]["new_bytes"].get<uint64_t>();
  for (const json& dest : report["destinations"]) {
    ReportDigest::Destination x;
    x.name = dest["name"].get<std::string>();
    x.missing_bytes = dest["bytes_to_send"].get<uint64_t>();
    if (dest["seconds"].is_number()) x.seconds = dest["seconds"].get<double>();
    d.destinations.push_back(std::move(x));
  }
  for (const json& jar : report.value("fat_jars", json::array())) {
    d.fat_jar_bytes += jar.value("bytes_per_build", uint64_t{0});
    d.layered_jar_bytes += jar.value("layered_bytes_per_build", uint64_t{0});
  }
  if (report.contains("zstd") && report["zstd"].contains("new_layers_zstd_bytes")) {
    d.gzip_bytes = report["zstd"]["new_layers_gzip_bytes"].get<uint64_t>();
    d.zstd_bytes = report["zstd"]["new_layers_zstd_bytes"].get<uint64_t>();
  }
  d.made_unix = SystemClock().UnixSeconds();
  std::lock_guard lock(mu_);
  // A report asked about an older build does not replace the newest one's.
  auto it = latest_.find(d.repository);
  if (it != latest_.end() && it->second.pushed_unix > d.pushed_unix) return;
  latest_[d.repository] = std::move(d);
}

Result<json> Advisor::Report(const ReportRequest& request, std::stop_token stop) {
  auto current = LoadImage(*store_, request.repository, request.reference);
  if (!current.ok()) return current.status();
  auto previous = LoadPrevious(*store_, *current, request.against);
  if (!previous.ok()) return previous.status();
  bool by_tag = !request.reference.starts_with("sha256:");
  auto destinations = DestinationsOf(*repl_, *progress_, request.repository, by_tag ? request.reference : "",
                                     options_.engine_bytes_per_second);
  if (!destinations.ok()) return destinations.status();

  // Summaries of both builds' layers (cached by digest; shared layers once).
  Summaries summaries;
  if (request.content) {
    auto add = [&](const Image& img) {
      for (const Layer& l : img.layers) {
        if (summaries.contains(l.desc.digest.str()) || stop.stop_requested()) continue;
        SummaryOrError s;
        auto r = Summary(img.repository, l.desc.digest, stop);
        if (r.ok()) s.summary = *r;
        else s.error = r.status().message();
        summaries[l.desc.digest.str()] = std::move(s);
      }
    };
    add(*current);
    if (*previous) add(**previous);
    if (stop.stop_requested()) return Status::Unavailable("stopped");
  }

  std::set<std::string> before;
  if (*previous) {
    for (const Layer& l : (*previous)->layers) before.insert(l.desc.digest.str());
    before.insert((*previous)->config.digest.str());
  }

  json report = {{"repository", request.repository},
                 {"reference", request.reference},
                 {"image", ImageJson(*current)},
                 {"against", *previous ? ImageJson(**previous) : json(nullptr)},
                 {"against_how", request.against.empty() ? "previous tag" : "asked"}};
  if (!*previous) report["against_how"] = nullptr;

  // zstd size per gzip layer: the recorded copy (exact) or the estimate.
  struct Z {
    uint64_t size = 0;
    bool exact = false;
  };
  std::map<std::string, Z> zstd;
  for (const Layer& l : current->layers) {
    if (!IsTranscodable(l)) continue;
    if (transcoder_) {
      if (auto t = transcoder_->Lookup(l.desc.digest); t.ok()) {
        zstd[l.desc.digest.str()] = {t->size, true};
        continue;
      }
    }
    if (auto it = summaries.find(l.desc.digest.str()); it != summaries.end()) {
      if (auto e = EstimatedZstd(it->second)) zstd[l.desc.digest.str()] = {*e, false};
    }
  }
  // What a destination is sent for a blob: its zstd copy when the policy
  // transcodes and the copy is at least 1 % smaller (transcode_push.h).
  auto as_sent = [&](const Destination& d, const Layer& l) -> uint64_t {
    uint64_t size = Size(l.desc);
    if (d.compression.format != replication::kCompressionZstd || !IsTranscodable(l)) return size;
    auto it = zstd.find(l.desc.digest.str());
    if (it == zstd.end() || it->second.size * 100 > size * 99) return size;
    return it->second.size;
  };
  auto held = [&](const Destination& d, const Layer& l) {
    if (HeldAt(*progress_, d, l.desc.digest)) return true;
    if (d.compression.format == replication::kCompressionZstd && transcoder_ && IsTranscodable(l)) {
      if (auto t = transcoder_->Lookup(l.desc.digest); t.ok() && HeldAt(*progress_, d, t->digest)) return true;
    }
    return false;
  };

  json layers = json::array();
  uint64_t new_bytes = 0, new_layers = 0;
  std::vector<uint64_t> dest_bytes(destinations->size(), 0), dest_blobs(destinations->size(), 0),
      dest_stored(destinations->size(), 0);
  for (size_t i = 0; i < current->layers.size(); ++i) {
    const Layer& l = current->layers[i];
    bool shared = before.contains(l.desc.digest.str());
    if (!shared) {
      new_bytes += Size(l.desc);
      ++new_layers;
    }
    json lj = {{"index", i},
               {"digest", l.desc.digest.str()},
               {"media_type", l.desc.media_type},
               {"size", Size(l.desc)},
               {"compression", l.compression},
               {"status", *previous ? (shared ? "shared" : "new") : "new"},
               {"created_by", l.created_by}};
    if (auto it = zstd.find(l.desc.digest.str()); it != zstd.end()) {
      lj["zstd"] = {{"size", it->second.size}, {"exact", it->second.exact}};
    }
    json per = json::array();
    for (size_t k = 0; k < destinations->size(); ++k) {
      const Destination& d = (*destinations)[k];
      bool missing = !held(d, l);
      uint64_t bytes = missing ? as_sent(d, l) : 0;
      if (missing) {
        dest_bytes[k] += bytes;
        dest_stored[k] += Size(l.desc);
        ++dest_blobs[k];
      }
      per.push_back({{"name", d.name}, {"missing", missing}, {"bytes", bytes}, {"seconds", SecondsAt(d.rate, bytes)}});
    }
    lj["destinations"] = std::move(per);
    layers.push_back(std::move(lj));
  }
  report["layers"] = std::move(layers);
  report["config"] = {{"digest", current->config.digest.str()}, {"size", Size(current->config)}};

  json dests = json::array();
  for (size_t k = 0; k < destinations->size(); ++k) {
    const Destination& d = (*destinations)[k];
    // The config is small but counts when missing.
    Layer config{current->config, "none", ""};
    if (!held(d, config)) {
      dest_bytes[k] += Size(current->config);
      dest_stored[k] += Size(current->config);
      ++dest_blobs[k];
    }
    json rate = d.rate ? json(std::round(*d.rate)) : json(nullptr);
    dests.push_back({{"name", d.name},
                     {"id", d.endpoint_id},
                     {"url", d.url},
                     {"repository", d.repository},
                     {"policies", d.policies},
                     {"compression", d.compression.format.empty() ? "none" : d.compression.format},
                     {"missing_blobs", dest_blobs[k]},
                     {"missing_bytes", dest_stored[k]},
                     {"bytes_to_send", dest_bytes[k]},
                     {"rate_bytes_per_second", rate},
                     {"rate_source", d.rate_source},
                     {"seconds", SecondsAt(d.rate, dest_bytes[k])}});
  }
  report["destinations"] = std::move(dests);
  report["totals"] = {{"image_bytes", current->Bytes()},
                      {"layers", current->layers.size()},
                      {"new_layers", new_layers},
                      {"new_bytes", new_bytes},
                      {"shared_bytes", current->Bytes() - Size(current->config) - new_bytes}};

  // zstd for the whole image and for what is new.
  {
    uint64_t gzip = 0, z = 0, new_gzip = 0, new_z = 0;
    bool exact = true;
    size_t known = 0, transcodable = 0;
    for (const Layer& l : current->layers) {
      if (!IsTranscodable(l)) continue;
      ++transcodable;
      auto it = zstd.find(l.desc.digest.str());
      if (it == zstd.end()) continue;
      ++known;
      exact = exact && it->second.exact;
      gzip += Size(l.desc);
      z += it->second.size;
      if (!before.contains(l.desc.digest.str())) {
        new_gzip += Size(l.desc);
        new_z += it->second.size;
      }
    }
    json zj = {{"gzip_layers", transcodable}, {"layers_measured", known}, {"exact", exact && known > 0},
               {"estimate_level", options_.zstd_level}};
    if (known > 0) {
      zj["gzip_bytes"] = gzip;
      zj["zstd_bytes"] = z;
      zj["ratio"] = gzip > 0 ? std::round(static_cast<double>(z) / static_cast<double>(gzip) * 1000) / 1000 : 1.0;
      zj["new_layers_gzip_bytes"] = new_gzip;
      zj["new_layers_zstd_bytes"] = new_z;
    }
    report["zstd"] = std::move(zj);
  }

  report["findings"] = json::array();
  // A base image that drifts: the first layer differs from the previous
  // build's, so every layer above it is new too (sent again).
  if (*previous && !current->layers.empty() && !(*previous)->layers.empty()) {
    const Image& prev = **previous;
    bool annotated = !current->base_digest.empty() && !prev.base_digest.empty();
    bool drift = annotated ? current->base_digest != prev.base_digest
                           : current->layers[0].desc.digest != prev.layers[0].desc.digest;
    size_t run = 0;
    uint64_t bytes = 0;
    while (run < current->layers.size() && !before.contains(current->layers[run].desc.digest.str())) {
      bytes += Size(current->layers[run].desc);
      ++run;
    }
    report["base_image"] = {{"drifted", drift},
                            {"name", current->base_name},
                            {"digest", current->base_digest},
                            {"previous_digest", prev.base_digest},
                            {"leading_new_layers", run},
                            {"leading_new_bytes", bytes}};
    if (drift) {
      report["findings"].push_back(
          {{"kind", "base-image-drift"},
           {"bytes", bytes},
           {"message", "the base image changed since " + prev.reference + ": the first " + std::to_string(run) +
                           " layer(s) (" + std::to_string(bytes) +
                           " bytes) are new; pin the base image by digest and update it on purpose"}});
    }
  }
  if (request.content) AddContent(report, *current, *previous, summaries, *destinations);
  Remember(report, current->pushed_unix);
  return report;
}

}  // namespace pier::advisor
