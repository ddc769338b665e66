// LayerSummary as JSON (layer_summary.h): the report caches summaries per
// layer digest and ships them, so the shape is stable and every field named.
#include <nlohmann/json.hpp>

#include "cache/inspect/layer_summary.h"

namespace pier::inspect {
namespace {

nlohmann::json Files(const PackageFiles& p) { return {{"files", p.files}, {"bytes", p.bytes}}; }
PackageFiles FilesOf(const nlohmann::json& j) { return {j.at("files").get<uint64_t>(), j.at("bytes").get<uint64_t>()}; }

template <class T>
T Parsed(Result<T> r) {
  if (!r.ok()) throw nlohmann::json::other_error::create(501, r.status().message(), nullptr);
  return std::move(r).value();
}

}  // namespace

void to_json(nlohmann::json& j, const LayerSummary& s) {
  nlohmann::json entries = nlohmann::json::array();
  for (const FileEntry& f : s.entries) {
    nlohmann::json e = {{"path", f.path}, {"type", EntryTypeName(f.type)}, {"size", f.size}};
    if (!f.hash.empty()) e["hash"] = f.hash;
    if (!f.linkname.empty()) e["link"] = f.linkname;
    if (f.whiteout) e["whiteout"] = true;
    entries.push_back(std::move(e));
  }
  nlohmann::json jars = nlohmann::json::array();
  for (const FatJar& f : s.fat_jars) {
    nlohmann::json layers = nlohmann::json::array();
    for (const BootLayerStats& l : f.layers) {
      layers.push_back({{"name", BootLayerName(l.layer)}, {"entries", l.entries}, {"size", l.size},
                        {"compressed_size", l.compressed_size}, {"estimated_bytes", l.estimated_bytes},
                        {"fingerprint", l.fingerprint}});
    }
    jars.push_back({{"path", f.path}, {"size", f.size}, {"source", ZipSourceName(f.source)}, {"partial", f.partial},
                    {"note", f.note}, {"layers_idx", f.has_layers_idx}, {"layers", std::move(layers)}});
  }
  const PackageState& p = s.packages;
  j = {{"compression", CompressionName(s.compression)},
       {"digest", s.digest},
       {"diff_id", s.diff_id},
       {"compressed_bytes", s.compressed_bytes},
       {"tar_bytes", s.tar_bytes},
       {"entries", std::move(entries)},
       {"fat_jars", std::move(jars)},
       {"packages",
        {{"apt_lists", Files(p.apt_lists)}, {"apt_cache", Files(p.apt_cache)}, {"dpkg_status", p.dpkg_status},
         {"apk_cache", Files(p.apk_cache)}, {"apk_installed", p.apk_installed}, {"yum_cache", Files(p.yum_cache)},
         {"dnf_cache", Files(p.dnf_cache)}}},
       {"zstd",
        {{"level", s.zstd.level}, {"sampled_tar", s.zstd.sampled_tar}, {"sampled_zstd", s.zstd.sampled_zstd},
         {"estimated_size", s.zstd.estimated_size}, {"exact", s.zstd.exact}}}};
}

void from_json(const nlohmann::json& j, LayerSummary& s) {
  s = LayerSummary{};
  s.compression = Parsed(ParseCompression(j.at("compression").get<std::string>()));
  s.digest = j.at("digest").get<std::string>();
  s.diff_id = j.at("diff_id").get<std::string>();
  s.compressed_bytes = j.at("compressed_bytes").get<uint64_t>();
  s.tar_bytes = j.at("tar_bytes").get<uint64_t>();
  for (const nlohmann::json& e : j.at("entries")) {
    FileEntry f;
    f.path = e.at("path").get<std::string>();
    f.type = Parsed(ParseEntryType(e.at("type").get<std::string>()));
    f.size = e.at("size").get<uint64_t>();
    f.hash = e.value("hash", "");
    f.linkname = e.value("link", "");
    f.whiteout = e.value("whiteout", false);
    s.entries.push_back(std::move(f));
  }
  for (const nlohmann::json& jj : j.at("fat_jars")) {
    FatJar f;
    f.path = jj.at("path").get<std::string>();
    f.size = jj.at("size").get<uint64_t>();
    f.source = ParseZipSource(jj.at("source").get<std::string>());
    f.partial = jj.at("partial").get<bool>();
    f.note = jj.at("note").get<std::string>();
    f.has_layers_idx = jj.at("layers_idx").get<bool>();
    for (const nlohmann::json& l : jj.at("layers")) {
      const std::string name = l.at("name").get<std::string>();
      std::optional<BootLayer> which = ParseBootLayer(name);
      if (!which) throw nlohmann::json::other_error::create(501, "unknown boot layer \"" + name + "\"", nullptr);
      BootLayerStats& b = f.layers[static_cast<size_t>(*which)];
      b.layer = *which;
      b.entries = l.at("entries").get<uint64_t>();
      b.size = l.at("size").get<uint64_t>();
      b.compressed_size = l.at("compressed_size").get<uint64_t>();
      b.estimated_bytes = l.at("estimated_bytes").get<uint64_t>();
      b.fingerprint = l.at("fingerprint").get<std::string>();
    }
    s.fat_jars.push_back(std::move(f));
  }
  const nlohmann::json& p = j.at("packages");
  s.packages.apt_lists = FilesOf(p.at("apt_lists"));
  s.packages.apt_cache = FilesOf(p.at("apt_cache"));
  s.packages.dpkg_status = p.at("dpkg_status").get<bool>();
  s.packages.apk_cache = FilesOf(p.at("apk_cache"));
  s.packages.apk_installed = p.at("apk_installed").get<bool>();
  s.packages.yum_cache = FilesOf(p.at("yum_cache"));
  s.packages.dnf_cache = FilesOf(p.at("dnf_cache"));
  const nlohmann::json& z = j.at("zstd");
  s.zstd.level = z.at("level").get<int>();
  s.zstd.sampled_tar = z.at("sampled_tar").get<uint64_t>();
  s.zstd.sampled_zstd = z.at("sampled_zstd").get<uint64_t>();
  s.zstd.estimated_size = z.at("estimated_size").get<uint64_t>();
  s.zstd.exact = z.at("exact").get<bool>();
}

Result<LayerSummary> LayerSummaryFromJson(const nlohmann::json& j) {
  try {
    return j.get<LayerSummary>();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("layer summary JSON: ") + e.what());
  }
}

}  // namespace pier::inspect
