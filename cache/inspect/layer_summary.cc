#include "cache/inspect/layer_summary.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "cache/inspect/zstd_sampler.h"

namespace pier::inspect {
namespace {

constexpr size_t kReadBytes = 256 << 10;

// The tar as the walker reads it, fed to the zstd sampler on the way.
class SampledTar : public ByteSource {
 public:
  SampledTar(ByteSource& tar, ZstdSampler* sampler) : tar_(tar), sampler_(sampler) {}
  Result<size_t> Read(std::span<char> out) override {
    Result<size_t> n = tar_.Read(out);
    PIER_TRY(n);
    if (sampler_ != nullptr && *n > 0) PIER_TRY(sampler_->Add(out.first(*n)));
    return n;
  }

 private:
  ByteSource& tar_;
  ZstdSampler* sampler_;
};

bool IsZipName(std::string_view path) {
  if (path.size() < 4) return false;
  std::string ext(path.substr(path.size() - 4));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jar" || ext == ".war";
}

bool Under(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

void CountPackageFile(const TarEntry& e, PackageState* p) {
  const std::string& path = e.path;
  if (e.type == EntryType::kFile) {
    struct Cache {
      std::string_view dir;
      PackageFiles* files;
    };
    for (const Cache& c : {Cache{"var/lib/apt/lists", &p->apt_lists}, Cache{"var/cache/apt", &p->apt_cache},
                           Cache{"var/cache/apk", &p->apk_cache}, Cache{"var/cache/yum", &p->yum_cache},
                           Cache{"var/cache/dnf", &p->dnf_cache}}) {
      if (Under(path, c.dir)) {
        ++c.files->files;
        c.files->bytes += e.size;
      }
    }
  }
  if (path == "var/lib/dpkg/status" && !e.whiteout) p->dpkg_status = true;
  if (path == "lib/apk/db/installed" && !e.whiteout) p->apk_installed = true;
}

std::string Hex16(const std::string& hex64) { return hex64.substr(0, 32); }

}  // namespace

Result<LayerSummary> InspectLayer(int fd, const InspectOptions& options) {
  FdSource src(fd);
  return InspectLayer(src, options);
}

Result<LayerSummary> InspectLayer(ByteSource& blob, const InspectOptions& options) {
  std::unique_ptr<ZstdSampler> sampler;
  if (options.zstd_sample_every > 0) {
    Result<std::unique_ptr<ZstdSampler>> s = ZstdSampler::Make(options.zstd_level, options.zstd_sample_every);
    PIER_TRY(s);
    sampler = std::move(*s);
  }
  Result<std::unique_ptr<LayerStream>> stream = LayerStream::Open(blob);
  PIER_TRY(stream);
  LayerStream& layer = **stream;
  SampledTar tar(layer, sampler.get());

  LayerSummary out;
  std::vector<char> buf(kReadBytes);
  Status walked = WalkTar(tar, [&](const TarEntry& e, EntryContent& content) -> Status {
    FileEntry f;
    f.path = e.path;
    f.type = e.type;
    f.size = e.size;
    f.linkname = e.linkname;
    f.whiteout = e.whiteout;
    CountPackageFile(e, &out.packages);
    if (e.type == EntryType::kFile && !e.whiteout) {
      Sha256 sha;
      std::optional<ZipScanner> zip;
      if (IsZipName(e.path)) zip.emplace(options.zip_tail_cap);
      for (;;) {
        Result<size_t> n = content.Read(buf);
        PIER_TRY(n);
        if (*n == 0) break;
        const std::span<const char> got(buf.data(), *n);
        sha.Update(got);
        if (zip) zip->Add(got);
      }
      f.hash = Hex16(sha.Finish().hex);
      if (zip) {
        ZipListing listing = zip->Finish();
        if (IsSpringBootJar(listing.entries)) {
          BootJarLayers boot = SplitBootJar(listing.entries);
          FatJar jar;
          jar.path = e.path;
          jar.size = e.size;
          jar.source = listing.source;
          jar.partial = listing.partial;
          jar.note = listing.note;
          jar.has_layers_idx = boot.has_layers_idx;
          jar.layers = boot.layers;
          out.fat_jars.push_back(std::move(jar));
        }
      }
    }
    out.entries.push_back(std::move(f));
    return Status::OK();
  });
  PIER_TRY(walked);
  if (!layer.done()) return Status::Internal("the layer stream was not read to its end");
  out.compression = layer.compression();
  out.digest = layer.digest().str();
  out.diff_id = layer.diff_id().str();
  out.compressed_bytes = layer.compressed_bytes();
  out.tar_bytes = layer.tar_bytes();
  if (sampler) {
    PIER_TRY(sampler->Finish());
    ZstdEstimate& z = out.zstd;
    z.level = options.zstd_level;
    z.sampled_tar = sampler->sampled_in();
    z.sampled_zstd = sampler->sampled_out();
    z.exact = sampler->exact();
    z.estimated_size = sampler->Estimate();
  }
  return out;
}

}  // namespace pier::inspect
