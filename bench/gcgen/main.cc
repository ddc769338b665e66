// gcgen --pier DIR --registry DIR [--repos N] [--manifests N] [--untagged N]
//       [--loose N] [--blob-bytes N] [--age-seconds N]
//
// Per repository bench/rNNNN: one base layer shared by its manifests,
// `manifests` images (a config and 3 layers of their own + the base), the
// last `untagged` of them without a tag, and `loose` blobs no manifest
// references. Every record and link is dated `age-seconds` ago (past any
// grace period). Defaults: 1,000 repositories x 20 manifests = 20,000
// manifests and 100,000 blobs (81,000 referenced + 19,000 loose).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/manifest.h"
#include "cache/db.h"
#include "cache/keys.h"
#include "cache/layout.h"
#include "cache/records.h"

namespace fs = std::filesystem;
using namespace pier;

namespace {

struct Args {
  std::string pier, registry;
  int repos = 1000, manifests = 20, untagged = 4, loose = 19;
  size_t blob_bytes = 1024;
  int64_t age_seconds = 86400;
};

void WriteFile(const fs::path& p, std::string_view content) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!f) {
    std::cerr << "gcgen: cannot write " << p << "\n";
    std::exit(1);
  }
}

class Writer {
 public:
  Writer(const Args& a) : a_(a), layout_(a.pier), reg_(fs::path(a.registry) / "docker" / "registry" / "v2") {
    for (const auto& d : {layout_.MetaDir(), layout_.BlobsDir(), layout_.UploadsDir()}) fs::create_directories(d);
    auto db = OpenRocksDb(layout_.MetaDir(), false);
    if (!db.ok()) {
      std::cerr << "gcgen: " << db.status().ToString() << "\n";
      std::exit(1);
    }
    db_ = std::move(db).value();
    when_ = records::NowUnix() - a.age_seconds;
  }

  // A blob of `content` linked to `repo` in both stores.
  Digest Blob(const std::string& repo, const std::string& content) {
    const Digest d = Sha256Of(content);
    if (!fs::exists(layout_.BlobPath(d))) {
      WriteFile(layout_.BlobPath(d), content);
      batch_.Put(Cf::kBlobs, d.str(), records::Encode(records::BlobRecord{content.size(), when_}));
      WriteFile(reg_ / "blobs" / "sha256" / d.hex.substr(0, 2) / d.hex / "data", content);
      ++blobs_;
    }
    batch_.Put(Cf::kLinks, keys::Join(repo, d.str()), records::EncodeLinkTime(when_));
    batch_.Put(Cf::kBlobRepos, keys::Join(d.str(), repo), "");
    batch_.Put(Cf::kRepos, repo, "");
    WriteFile(reg_ / "repositories" / repo / "_layers" / "sha256" / d.hex / "link", d.str());
    Flush(false);
    return d;
  }

  void Manifest(const std::string& repo, const std::string& tag, const std::string& bytes) {
    const Digest d = Sha256Of(bytes);
    records::ManifestRecord rec{std::string(media::kOciManifest), "", bytes, false, when_};
    batch_.Put(Cf::kManifests, keys::Join(repo, d.str()), records::Encode(rec));
    WriteFile(reg_ / "blobs" / "sha256" / d.hex.substr(0, 2) / d.hex / "data", bytes);
    const fs::path m = reg_ / "repositories" / repo / "_manifests";
    WriteFile(m / "revisions" / "sha256" / d.hex / "link", d.str());
    if (!tag.empty()) {
      batch_.Put(Cf::kTags, keys::Join(repo, tag), d.str());
      WriteFile(m / "tags" / tag / "current" / "link", d.str());
      WriteFile(m / "tags" / tag / "index" / "sha256" / d.hex / "link", d.str());
    }
    ++manifests_;
  }

  void Flush(bool force) {
    if (batch_.size() == 0 || (!force && batch_.size() < 20000)) return;
    if (Status s = db_->Write(batch_); !s.ok()) {
      std::cerr << "gcgen: " << s.ToString() << "\n";
      std::exit(1);
    }
    batch_.Clear();
  }

  std::string Content(const std::string& seed) const {
    std::string c = seed + "\n";
    while (c.size() < a_.blob_bytes) c += c;
    c.resize(a_.blob_bytes);
    return c;
  }

  size_t blobs_ = 0, manifests_ = 0;

 private:
  const Args& a_;
  Layout layout_;
  fs::path reg_;
  std::unique_ptr<Db> db_;
  WriteBatch batch_;
  int64_t when_ = 0;
};

nlohmann::json Desc(std::string_view mt, const Digest& d, size_t size) {
  return {{"mediaType", mt}, {"digest", d.str()}, {"size", size}};
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--pier") a.pier = v;
    else if (k == "--registry") a.registry = v;
    else if (k == "--repos") a.repos = std::stoi(v);
    else if (k == "--manifests") a.manifests = std::stoi(v);
    else if (k == "--untagged") a.untagged = std::stoi(v);
    else if (k == "--loose") a.loose = std::stoi(v);
    else if (k == "--blob-bytes") a.blob_bytes = std::stoul(v);
    else if (k == "--age-seconds") a.age_seconds = std::stoll(v);
    else {
      std::cerr << "gcgen: unknown flag " << k << "\n";
      return 2;
    }
  }
  if (a.pier.empty() || a.registry.empty()) {
    std::cerr << "usage: gcgen --pier DIR --registry DIR [--repos N] [--manifests N] [--untagged N] [--loose N]\n";
    return 2;
  }
  Writer w(a);
  for (int r = 0; r < a.repos; ++r) {
    char name[32];
    std::snprintf(name, sizeof(name), "bench/r%04d", r);
    const std::string repo = name;
    const std::string base_content = w.Content(repo + " base");
    const Digest base = w.Blob(repo, base_content);
    for (int m = 0; m < a.manifests; ++m) {
      const std::string seed = repo + " m" + std::to_string(m);
      const std::string cfg = w.Content(seed + " config");
      nlohmann::json layers = nlohmann::json::array({Desc("application/vnd.oci.image.layer.v1.tar", base,
                                                          base_content.size())});
      for (int l = 0; l < 3; ++l) {
        const std::string c = w.Content(seed + " layer " + std::to_string(l));
        layers.push_back(Desc("application/vnd.oci.image.layer.v1.tar", w.Blob(repo, c), c.size()));
      }
      const nlohmann::json manifest{
          {"schemaVersion", 2},
          {"mediaType", media::kOciManifest},
          {"config", Desc("application/vnd.oci.image.config.v1+json", w.Blob(repo, cfg), cfg.size())},
          {"layers", layers}};
      const bool tagged = m < a.manifests - a.untagged;
      w.Manifest(repo, tagged ? "v" + std::to_string(m) : "", manifest.dump());
    }
    for (int l = 0; l < a.loose; ++l) w.Blob(repo, w.Content(repo + " loose " + std::to_string(l)));
  }
  w.Flush(true);
  ::sync();
  std::cout << "gcgen: " << w.blobs_ << " blobs, " << w.manifests_ << " manifests in " << a.repos
            << " repositories\n";
  return 0;
}
