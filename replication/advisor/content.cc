#include "replication/advisor/content.h"

#include <algorithm>
#include <cmath>

#include "cache/inspect/compare.h"
#include "cache/inspect/layer_summary.h"
#include "replication/advisor/advisor.h"
#include "replication/advisor/report_text.h"

namespace pier::advisor {
namespace {

using json = nlohmann::json;

// Changed files listed per layer in the JSON (the table shows them all).
constexpr size_t kFilesPerLayer = 10;

std::string Step(const Image& img, size_t i) {
  const std::string& s = img.layers[i].created_by;
  if (s.empty()) return "";
  return " (" + (s.size() > 60 ? s.substr(0, 57) + "..." : s) + ")";
}

std::string PackageAdvice(const std::string& what) {
  if (what == "apt-lists" || what == "apt-cache") {
    return "end the same RUN with `rm -rf /var/lib/apt/lists/* /var/cache/apt/*`, and order the Dockerfile so the "
           "package step comes before the steps that change every build";
  }
  if (what == "apk-cache") return "use `apk add --no-cache`";
  return "clean the package cache in the same RUN (`" + std::string(what == "dnf-cache" ? "dnf" : "yum") +
         " clean all`)";
}

std::string PackageWhat(const std::string& what) {
  if (what == "apt-lists") return "apt lists (/var/lib/apt/lists)";
  if (what == "apt-cache") return "the apt cache (/var/cache/apt)";
  if (what == "apk-cache") return "the apk cache (/var/cache/apk)";
  if (what == "yum-cache") return "the yum cache (/var/cache/yum)";
  if (what == "dnf-cache") return "the dnf cache (/var/cache/dnf)";
  return what;
}

}  // namespace

std::optional<uint64_t> EstimatedZstd(const SummaryOrError& s) {
  if (!s.summary || s.summary->zstd.level == 0) return std::nullopt;
  return s.summary->zstd.estimated_size;
}

Result<std::shared_ptr<const inspect::LayerSummary>> Advisor::Summary(std::string_view repo, const Digest& layer,
                                                                      std::stop_token stop) {
  {
    std::lock_guard lock(mu_);
    for (auto it = lru_.begin(); it != lru_.end(); ++it) {
      if (it->first == layer.str()) {
        lru_.splice(lru_.begin(), lru_, it);
        return it->second;
      }
    }
  }
  if (stop.stop_requested()) return Status::Unavailable("stopped");
  BlobInfo info;
  // Through the storage's reader: a local file or an S3 object, in order.
  auto reader = store_->OpenBlobReader(repo, layer, &info);
  if (!reader.ok()) return reader.status();
  inspect::ReadAtSource src(
      [r = reader->get()](uint64_t offset, std::span<char> data) { return r->ReadAt(offset, data); });
  inspect::InspectOptions o;
  o.zstd_level = options_.zstd_level;
  auto s = inspect::InspectLayer(src, o);
  if (!s.ok()) return s.status();
  auto shared = std::make_shared<const inspect::LayerSummary>(std::move(*s));
  std::lock_guard lock(mu_);
  lru_.emplace_front(layer.str(), shared);
  while (lru_.size() > std::max<size_t>(1, options_.summary_cache)) lru_.pop_back();
  return shared;
}

void AddContent(json& report, const Image& current, const std::optional<Image>& previous, const Summaries& summaries,
                const std::vector<Destination>& destinations) {
  // The readable layers of each build, and where each sits in the image.
  std::vector<inspect::LayerSummary> cur, prev;
  std::vector<size_t> cur_index;  // position in `cur` → layer index in the image
  for (size_t i = 0; i < current.layers.size(); ++i) {
    auto it = summaries.find(current.layers[i].desc.digest.str());
    if (it == summaries.end()) continue;
    if (!it->second.summary) {
      report["layers"][i]["content"] = {{"error", it->second.error}};
      report["findings"].push_back({{"kind", "unreadable-layer"},
                                    {"message", "layer " + std::to_string(i) + " could not be read as a tar: " +
                                                    it->second.error}});
      continue;
    }
    cur.push_back(*it->second.summary);
    cur_index.push_back(i);
  }
  if (previous) {
    for (const Layer& l : previous->layers) {
      auto it = summaries.find(l.desc.digest.str());
      if (it != summaries.end() && it->second.summary) prev.push_back(*it->second.summary);
    }
  }
  inspect::CompareOptions co;
  co.max_files_per_layer = kFilesPerLayer;
  const inspect::ImageComparison cmp = inspect::CompareImages(prev, cur, co);

  struct Change {
    std::string path;
    uint64_t size;
    size_t layer;
  };
  std::vector<Change> largest;
  for (const inspect::LayerChange& lc : cmp.layers) {
    const size_t i = cur_index[lc.index];
    const inspect::LayerSummary& s = cur[lc.index];
    uint64_t files = 0;
    for (const auto& e : s.entries) files += e.type == inspect::EntryType::kFile ? 1 : 0;
    json changes = json::array();
    for (const inspect::ChangedFile& f : lc.largest_changes) {
      changes.push_back({{"path", f.path}, {"size", f.size}, {"change", f.is_new ? "added" : "modified"}});
      // Only layers new in this build cost anything.
      if (report["layers"][i]["status"] == "new") largest.push_back({f.path, f.size, i});
    }
    report["layers"][i]["content"] = {{"files", files},
                                      {"tar_bytes", s.tar_bytes},
                                      {"file_bytes", lc.file_bytes},
                                      {"changed_files", changes},
                                      {"changed_files_count", lc.changed_files},
                                      {"changed_bytes", lc.changed_bytes},
                                      {"reused_bytes", lc.reused_bytes},
                                      {"rebuilt_identical", lc.rebuilt_identical}};
    if (lc.rebuilt_identical && report["layers"][i]["status"] == "new") {
      report["findings"].push_back(
          {{"kind", "rebuilt-identical-layer"},
           {"layer", i},
           {"bytes", current.layers[i].desc.size},
           {"message", "layer " + std::to_string(i) + Step(current, i) + " is new but holds only files the previous "
                       "build had, at the same paths with the same content: " +
                           HumanBytes(static_cast<uint64_t>(current.layers[i].desc.size)) +
                           " sent for nothing. Something busts the build cache above it (a COPY of a changing file, "
                           "--no-cache, a timestamp)"}});
    }
  }
  std::sort(largest.begin(), largest.end(), [](const Change& a, const Change& b) { return a.size > b.size; });
  if (!largest.empty()) {
    std::string msg = "the largest new or changed files this build: ";
    for (size_t k = 0; k < largest.size() && k < 3; ++k) {
      msg += (k ? ", " : "") + largest[k].path + " (" + HumanBytes(largest[k].size) + ", layer " +
             std::to_string(largest[k].layer) + ")";
    }
    report["findings"].push_back({{"kind", "largest-changes"}, {"message", msg}});
  }

  json jars = json::array();
  for (const inspect::FatJarChange& fj : cmp.fat_jars) {
    const size_t i = cur_index[fj.layer_index];
    const inspect::FatJar* jar = nullptr;
    for (const auto& j : cur[fj.layer_index].fat_jars) {
      if (j.path == fj.path) jar = &j;
    }
    json layers = json::array();
    std::string changed_names;
    for (inspect::BootLayer bl : inspect::kBootLayers) {
      bool changed = std::find(fj.changed.begin(), fj.changed.end(), bl) != fj.changed.end();
      json lj = {{"name", std::string(inspect::BootLayerName(bl))}, {"changed", changed}};
      if (jar != nullptr) {
        lj["entries"] = jar->of(bl).entries;
        lj["bytes"] = jar->of(bl).estimated_bytes;
      }
      if (changed) changed_names += (changed_names.empty() ? "" : ", ") + std::string(inspect::BootLayerName(bl));
      layers.push_back(std::move(lj));
    }
    json per = json::array();
    std::string on_dest;
    for (const Destination& d : destinations) {
      json now = SecondsAt(d.rate, fj.fat_jar_bytes), layered = SecondsAt(d.rate, fj.layered_bytes);
      per.push_back({{"name", d.name}, {"seconds_now", now}, {"seconds_layered", layered}});
      if (on_dest.empty() && now.is_number()) {
        on_dest = " — " + HumanSeconds(layered) + " instead of " + HumanSeconds(now) + " on " + d.name;
      }
    }
    jars.push_back({{"path", fj.path},
                    {"layer", i},
                    {"size", jar != nullptr ? jar->size : fj.fat_jar_bytes},
                    {"listing", jar != nullptr ? std::string(inspect::ZipSourceName(jar->source)) : "none"},
                    {"layered_jar", fj.has_layers_idx},
                    {"compared_with_previous", fj.has_previous},
                    {"layers", layers},
                    {"bytes_per_build", fj.fat_jar_bytes},
                    {"layered_bytes_per_build", fj.layered_bytes},
                    {"destinations", per}});
    if (!fj.has_layers_idx && report["layers"][i]["status"] == "new") {
      report["findings"].push_back(
          {{"kind", "fat-jar"},
           {"layer", i},
           {"bytes", fj.fat_jar_bytes},
           {"layered_bytes", fj.layered_bytes},
           {"message", fj.path + " (layer " + std::to_string(i) + ") is a Spring Boot fat JAR: every build sends all " +
                           HumanBytes(fj.fat_jar_bytes) +
                           " of it. Built as a layered jar (`java -Djarmode=layertools -jar app.jar extract`, one COPY "
                           "per layer) this build would send " +
                           HumanBytes(fj.layered_bytes) + " (" +
                           (changed_names.empty() ? std::string("nothing changed") : changed_names +
                                                    (fj.has_previous ? " changed" : ", assumed to change")) +
                           ")" + on_dest}});
    }
  }
  report["fat_jars"] = std::move(jars);

  json pkgs = json::array();
  for (const inspect::PackageFinding& p : cmp.package_findings) {
    const size_t i = cur_index[p.layer_index];
    bool is_new = report["layers"][i]["status"] == "new";
    pkgs.push_back({{"layer", i}, {"what", p.what}, {"files", p.files}, {"bytes", p.bytes}, {"layer_is_new", is_new}});
    if (is_new) {
      report["findings"].push_back(
          {{"kind", "package-manager-state"},
           {"layer", i},
           {"bytes", p.bytes},
           {"message", "layer " + std::to_string(i) + Step(current, i) + " is new this build and leaves " +
                           PackageWhat(p.what) + " in the image (" + std::to_string(p.files) + " files, " +
                           HumanBytes(p.bytes) + "): " + PackageAdvice(p.what)}});
    }
  }
  report["package_managers"] = std::move(pkgs);

  // zstd, when no destination's policy sends it yet.
  const json& z = report["zstd"];
  bool any_zstd = std::any_of(destinations.begin(), destinations.end(),
                              [](const Destination& d) { return d.compression.format == "zstd"; });
  if (!any_zstd && z.contains("new_layers_gzip_bytes") && z["new_layers_gzip_bytes"].get<uint64_t>() > 0) {
    uint64_t g = z["new_layers_gzip_bytes"].get<uint64_t>(), zs = z["new_layers_zstd_bytes"].get<uint64_t>();
    if (zs * 100 < g * 95) {
      report["findings"].push_back(
          {{"kind", "zstd"},
           {"bytes", g - zs},
           {"message", "zstd would send this build's new gzip layers as " + HumanBytes(zs) + " instead of " +
                           HumanBytes(g) + " (" + std::to_string((g - zs) * 100 / g) +
                           " % less" + (z.value("exact", false) ? "" : ", at level 3") +
                           "): set \"compression\": {\"format\": \"zstd\"} on the push policy"}});
    }
  }
}

}  // namespace pier::advisor
