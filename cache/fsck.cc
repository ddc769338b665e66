// Fsck: a read-only consistency check of a store's records against its
// blob storage (local files or S3).
//
// With the default RocksDB it opens the database with OpenForReadOnly,
// which takes no lock and writes nothing; it is meant for a stopped store
// (RocksDB leaves a read-only instance next to a live writer undefined).
// With PostgreSQL (shared by running replicas) every scan reads one
// snapshot; a commit racing the check may show up as a blob object without
// a record, never the other way round (objects are placed before records).
// Nothing is modified.
#include <sys/stat.h>

#include <vector>

#include "cache/db.h"
#include "cache/keys.h"
#include "cache/layout.h"
#include "cache/local_blob_storage.h"
#include "cache/storage_marker.h"
#include "cache/records.h"
#include "cache/store.h"

namespace pier {
namespace {

constexpr size_t kHashBufferSize = 1 << 20;

// "a\0b\0c" -> {"a", "b", "c"}
std::vector<std::string_view> SplitKey(std::string_view key) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t z = key.find('\0');
    parts.push_back(key.substr(0, z));
    if (z == std::string_view::npos) return parts;
    key.remove_prefix(z + 1);
  }
}

struct FileHash {
  Digest digest;
  uint64_t size = 0;
};

// Streams the blob through sha256; never holds it whole.
Result<FileHash> HashBlob(BlobStorage& blobs, const Digest& d) {
  auto reader = blobs.Open(d);
  if (!reader.ok()) return reader.status();
  std::vector<char> buf(kHashBufferSize);
  Sha256 sha;
  uint64_t offset = 0;
  while (true) {
    auto n = (*reader)->ReadAt(offset, buf);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    sha.Update(std::span<const char>(buf.data(), *n));
    offset += *n;
  }
  return FileHash{sha.Finish(), offset};
}

class Checker {
 public:
  Checker(const Db& db, BlobStorage& blobs, const Layout& layout, FsckReport* report)
      : db_(db), blobs_(blobs), layout_(layout), report_(report) {}

  Status Run() {
    for (auto check :
         {&Checker::CheckBlobRecords, &Checker::CheckBlobFiles, &Checker::CheckLinks,
          &Checker::CheckManifests, &Checker::CheckTags, &Checker::CheckReferrers, &Checker::CheckUploads}) {
      if (Status s = (this->*check)(); !s.ok()) return s;
    }
    return Status::OK();
  }

 private:
  void Problem(std::string p) { report_->problems.push_back(std::move(p)); }

  bool Has(Cf cf, std::string_view key) {
    auto r = db_.Has(cf, key);
    if (!r.ok()) Problem("read error: " + r.status().ToString());
    return r.ok() && *r;
  }

  // Every blob record has its file, of the recorded size, hashing to its name.
  Status CheckBlobRecords() {
    return db_.Scan(Cf::kBlobs, "", "", [&](std::string_view key, std::string_view value) {
      ++report_->blobs_checked;
      const std::string name(key);
      auto d = Digest::Parse(key);
      records::BlobRecord rec;
      if (!d.ok()) {
        Problem("blob record with bad key " + name);
      } else if (!records::Decode(value, &rec)) {
        Problem("blob " + name + ": undecodable record");
      } else {
        CheckBlobFile(*d, rec);
      }
      return true;
    });
  }

  void CheckBlobFile(const Digest& d, const records::BlobRecord& rec) {
    auto h = HashBlob(blobs_, d);
    if (!h.ok()) {
      Problem("blob " + d.str() + ": " +
              (h.status().code() == Code::kNotFound ? "record without file" : h.status().ToString()));
      return;
    }
    if (h->digest != d) Problem("blob " + d.str() + ": content hashes to " + h->digest.str());
    if (h->size != rec.size) {
      Problem("blob " + d.str() + ": file has " + std::to_string(h->size) + " bytes, record says " +
              std::to_string(rec.size));
    }
  }

  // Every file under blobs/ (every blob object) has a record.
  Status CheckBlobFiles() {
    if (std::string_view(blobs_.kind()) != "filesystem") {
      return blobs_.ListBlobs([&](const StoredObject& o) {
        auto d = Digest::Parse("sha256:" + o.name);
        if (!d.ok()) {
          Problem("stray blob object " + o.name);
        } else if (!Has(Cf::kBlobs, d->str())) {
          Problem("blob object without record: " + d->str());
        }
        return true;
      });
    }
    auto shards = ListDir(layout_.BlobsDir());
    if (!shards.ok()) return shards.status().code() == Code::kNotFound ? Status::OK() : shards.status();
    for (const auto& shard : *shards) {
      auto names = ListDir(layout_.BlobsDir() / shard);
      if (!names.ok()) {
        Problem("stray entry blobs/sha256/" + shard);
        continue;
      }
      for (const auto& name : *names) {
        auto d = Digest::Parse("sha256:" + name);
        if (!d.ok() || layout_.BlobPath(*d) != layout_.BlobsDir() / shard / name) {
          Problem("stray file blobs/sha256/" + shard + "/" + name);
        } else if (!Has(Cf::kBlobs, d->str())) {
          Problem("blob file without record: " + d->str());
        }
      }
    }
    return Status::OK();
  }

  // links and blob_repos mirror each other and point at blob records.
  Status CheckLinks() {
    Status s = db_.Scan(Cf::kLinks, "", "", [&](std::string_view key, std::string_view) {
      auto parts = SplitKey(key);
      if (parts.size() != 2) {
        Problem("malformed link key");
        return true;
      }
      const std::string what = "link " + std::string(parts[0]) + " -> " + std::string(parts[1]);
      if (!Has(Cf::kBlobs, parts[1])) Problem(what + ": blob record missing");
      if (!Has(Cf::kBlobRepos, keys::Join(parts[1], parts[0]))) Problem(what + ": reverse entry missing");
      return true;
    });
    if (!s.ok()) return s;
    return db_.Scan(Cf::kBlobRepos, "", "", [&](std::string_view key, std::string_view) {
      auto parts = SplitKey(key);
      if (parts.size() != 2 || !Has(Cf::kLinks, keys::Join(parts[1], parts[0]))) {
        Problem("blob_repos entry without link: " + std::string(parts[0]));
      }
      return true;
    });
  }

  // Manifests hash to their key, parse, and reference what their repo has.
  Status CheckManifests() {
    return db_.Scan(Cf::kManifests, "", "", [&](std::string_view key, std::string_view value) {
      ++report_->manifests_checked;
      auto parts = SplitKey(key);
      records::ManifestRecord rec;
      if (parts.size() != 2 || !records::Decode(value, &rec)) {
        Problem("malformed manifest entry");
        return true;
      }
      CheckManifest(parts[0], parts[1], rec);
      return true;
    });
  }

  void CheckManifest(std::string_view repo, std::string_view digest, const records::ManifestRecord& rec) {
    const std::string what = "manifest " + std::string(repo) + "@" + std::string(digest);
    if (Sha256Of(rec.bytes).str() != digest) Problem(what + ": content does not hash to its digest");
    auto parsed = ParseManifest(rec.media_type, rec.bytes);
    if (!parsed.ok()) {
      Problem(what + ": " + parsed.status().ToString());
      return;
    }
    // A cached manifest's blobs and children arrive when clients ask for them.
    if (rec.cached) return;
    for (const auto& b : parsed->blobs) {
      if (b.urls.empty() && !Has(Cf::kLinks, keys::Join(repo, b.digest.str()))) {
        Problem(what + ": blob " + b.digest.str() + " not linked");
      }
    }
    for (const auto& m : parsed->manifests) {
      if (!Has(Cf::kManifests, keys::Join(repo, m.digest.str()))) {
        Problem(what + ": child manifest " + m.digest.str() + " missing");
      }
    }
  }

  Status CheckTags() {
    return db_.Scan(Cf::kTags, "", "", [&](std::string_view key, std::string_view value) {
      auto parts = SplitKey(key);
      if (parts.size() != 2 || !Has(Cf::kManifests, keys::Join(parts[0], value))) {
        Problem("tag " + std::string(parts[0]) + ":" + std::string(parts.back()) +
                " points at a missing manifest");
      }
      return true;
    });
  }

  Status CheckReferrers() {
    return db_.Scan(Cf::kReferrers, "", "", [&](std::string_view key, std::string_view value) {
      auto parts = SplitKey(key);
      if (parts.size() != 3 || !Has(Cf::kManifests, keys::Join(parts[0], parts[2]))) {
        Problem("referrer entry for a missing manifest in " + std::string(parts[0]));
      } else if (!ParseDescriptorJson(value).ok()) {
        Problem("referrer " + std::string(parts[2]) + " in " + std::string(parts[0]) + ": bad descriptor");
      }
      return true;
    });
  }

  // Session files hold at least their acknowledged bytes.
  Status CheckUploads() {
    return db_.Scan(Cf::kUploads, "", "", [&](std::string_view key, std::string_view value) {
      const std::string uuid(key);
      records::UploadRecord rec;
      if (!IsValidUploadId(uuid) || !records::Decode(value, &rec)) {
        Problem("malformed upload record " + uuid);
        return true;
      }
      // A remote session's bytes are parts and a tail its record names;
      // a local one is a file that holds at least the acknowledged bytes.
      if (!rec.remote.empty() || rec.offset == 0) return true;
      auto object = blobs_.StatUpload(uuid);
      if (!object.ok()) {
        Problem("upload " + uuid + ": " + object.status().ToString());
      } else if (!object->has_value() || (*object)->size < rec.offset) {
        Problem("upload " + uuid + ": file shorter than its committed offset");
      }
      return true;
    });
  }

  const Db& db_;
  BlobStorage& blobs_;
  const Layout& layout_;
  FsckReport* report_;
};

}  // namespace

Result<FsckReport> Fsck(const std::filesystem::path& root, const FsckOptions& options) {
  Layout layout(root);
  std::error_code ec;
  if (!std::filesystem::is_directory(layout.MetaDir(), ec)) {
    return Status::NotFound("no Pier store at " + root.string());
  }
  std::shared_ptr<BlobStorage> blobs =
      options.blob_storage ? options.blob_storage : std::make_shared<LocalBlobStorage>(layout);
  auto where = ReadStorageMarker(layout);
  if (!where.ok()) return where.status();
  if (*where != blobs->identity()) {
    return Status::FailedPrecondition("the blobs of " + root.string() + " are in " + *where + ", not in " +
                                      blobs->identity() + ": check with the config Pier runs with (--config)");
  }
  auto db = options.metadata ? options.metadata() : OpenRocksDb(layout.MetaDir(), /*read_only=*/true);
  if (!db.ok()) return db.status();
  FsckReport report;
  if (Status s = Checker(**db, *blobs, layout, &report).Run(); !s.ok()) return s;
  return report;
}

}  // namespace pier
