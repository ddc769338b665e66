// Artifacts (Harbor's word for a manifest with its tags) and their pull
// times, for tag retention. Pull times are batched (pull_times.h).
#include <algorithm>
#include <map>

#include "base/internal_errors.h"
#include "cache/keys.h"
#include "cache/store_impl.h"

namespace pier::internal {

StoreImpl::~StoreImpl() {
  if (Status s = st_->pulls.Flush(*st_->db, st_->Now()); !s.ok())
    ReportInternalError("store", "writing pull times at close failed", s);
}

void StoreImpl::NotePull(std::string_view repo, const Digest& manifest) {
  const int64_t now = st_->Now();
  if (!st_->pulls.Note(keys::Join(repo, manifest.str()), now)) return;
  if (Status s = st_->pulls.Flush(*st_->db, now); !s.ok())
    ReportInternalError("store", "writing pull times failed", s);
}

Result<std::vector<ArtifactInfo>> StoreImpl::ListArtifacts(std::string_view repo) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  Db& db = *st_->db;
  const std::string prefix = keys::Prefix(repo);
  std::map<std::string, std::vector<std::string>> tags;  // digest → tags
  Status s = db.Scan(Cf::kTags, prefix, "", [&](std::string_view key, std::string_view value) {
    tags[std::string(value)].emplace_back(key.substr(prefix.size()));
    return true;
  });
  if (!s.ok()) return s;
  std::vector<ArtifactInfo> out;
  std::map<std::string, size_t> index_of;
  Status bad = Status::OK();
  s = db.Scan(Cf::kManifests, prefix, "", [&](std::string_view key, std::string_view value) {
    records::ManifestRecord rec;
    auto d = Digest::Parse(key.substr(prefix.size()));
    if (!d.ok() || !records::Decode(value, &rec)) {
      bad = Status::Corruption("bad manifest record " + std::string(key.substr(prefix.size())));
      return false;
    }
    ArtifactInfo a;
    a.digest = std::move(d).value();
    a.media_type = rec.media_type;
    a.pushed_unix = rec.pushed_unix;
    a.size = rec.bytes.size();
    if (!rec.subject.empty()) {
      if (auto sub = Digest::Parse(rec.subject); sub.ok()) a.subject = std::move(sub).value();
    }
    // A stored manifest parsed when it was put; one that no longer parses
    // counts only its own bytes.
    if (auto parsed = ParseManifest(rec.media_type, rec.bytes); parsed.ok()) {
      for (const auto& b : parsed->blobs) a.size += static_cast<uint64_t>(std::max<int64_t>(b.size, 0));
      for (const auto& m : parsed->manifests) a.children.push_back(m.digest);
    }
    if (auto t = tags.find(a.digest.str()); t != tags.end()) a.tags = std::move(t->second);
    index_of[a.digest.str()] = out.size();
    out.push_back(std::move(a));
    return true;
  });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  // An index's size includes its children (one level: an index of indexes is
  // not something registries see in practice).
  std::vector<uint64_t> own(out.size());
  for (size_t i = 0; i < out.size(); ++i) own[i] = out[i].size;
  for (auto& a : out) {
    for (const auto& c : a.children) {
      if (auto it = index_of.find(c.str()); it != index_of.end()) a.size += own[it->second];
    }
  }
  for (auto& a : out) {
    auto t = st_->pulls.Lookup(db, keys::Join(repo, a.digest.str()));
    if (!t.ok()) return t.status();
    a.pulled_unix = *t;
  }
  return out;
}

}  // namespace pier::internal
