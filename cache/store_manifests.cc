// Manifests and tags of one repository. Changes hold the repository's
// stripe of manifest_locks so a delete's tag scan cannot miss a tag that a
// concurrent put adds.
#include "cache/keys.h"
#include "base/names.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

std::string ManifestKey(std::string_view repo, const Digest& d) { return keys::Join(repo, d.str()); }

Result<records::ManifestRecord> LoadManifest(const Db& db, std::string_view repo, const Digest& d) {
  auto v = db.Get(Cf::kManifests, ManifestKey(repo, d));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("manifest " + d.str() + " unknown");
    return v.status();
  }
  records::ManifestRecord r;
  if (!records::Decode(*v, &r)) return Status::Corruption("bad manifest record " + d.str());
  return r;
}

// A tag resolves through the tags column family; a digest stands for itself.
Result<Digest> ResolveReference(const Db& db, std::string_view repo, std::string_view reference) {
  if (LooksLikeDigest(reference)) return Digest::Parse(reference);
  if (!IsValidTag(reference)) return Status::InvalidArgument("invalid tag");
  auto v = db.Get(Cf::kTags, keys::Join(repo, reference));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound)
      return Status::NotFound("tag " + std::string(reference) + " unknown");
    return v.status();
  }
  auto d = Digest::Parse(*v);
  if (!d.ok()) return Status::Corruption("tag " + std::string(reference) + " holds a bad digest");
  return d;
}

// Everything the manifest needs must already be in the repository.
Status CheckReferences(const Db& db, std::string_view repo, const ParsedManifest& parsed) {
  for (const auto& b : parsed.blobs) {
    if (!b.urls.empty()) continue;  // foreign layer: fetched from its urls, not from us
    auto linked = db.Has(Cf::kLinks, keys::Join(repo, b.digest.str()));
    if (!linked.ok()) return linked.status();
    if (!*linked) return Status::NotFound("blob " + b.digest.str() + " unknown to repository");
  }
  for (const auto& m : parsed.manifests) {
    auto present = db.Has(Cf::kManifests, ManifestKey(repo, m.digest));
    if (!present.ok()) return present.status();
    if (!*present) return Status::NotFound("manifest " + m.digest.str() + " unknown to repository");
  }
  return Status::OK();
}

std::string ReferrerJson(const Digest& d, std::string_view media_type, size_t size,
                         const ParsedManifest& parsed) {
  Descriptor desc;
  desc.media_type = media_type;
  desc.digest = d;
  desc.size = static_cast<int64_t>(size);
  desc.artifact_type = parsed.artifact_type;
  desc.annotations_json = parsed.annotations_json;
  return DescriptorJson(desc);
}

}  // namespace

Result<StoredManifest> StoreImpl::GetManifest(std::string_view repo, std::string_view reference) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  auto d = ResolveReference(*st_->db, repo, reference);
  if (!d.ok()) return d.status();
  auto rec = LoadManifest(*st_->db, repo, *d);
  if (!rec.ok()) return rec.status();
  st_->NoteRead(repo, d->str());
  st_->Served();
  StoredManifest out{*d, std::move(rec->media_type), std::move(rec->bytes), std::nullopt};
  if (!rec->subject.empty()) {
    auto subject = Digest::Parse(rec->subject);
    if (!subject.ok()) return Status::Corruption("manifest " + d->str() + " has a bad subject");
    out.subject = std::move(subject).value();
  }
  return out;
}

Result<Digest> StoreImpl::PutManifest(std::string_view repo, std::optional<std::string_view> tag,
                                      std::string_view media_type, std::string_view bytes,
                                      const ParsedManifest& parsed) {
  return WriteManifest(repo, tag, media_type, bytes, parsed, false);
}

Result<Digest> StoreImpl::PutCachedManifest(std::string_view repo, std::optional<std::string_view> tag,
                                            std::string_view media_type, std::string_view bytes,
                                            const ParsedManifest& parsed) {
  return WriteManifest(repo, tag, media_type, bytes, parsed, true);
}

Result<Digest> StoreImpl::WriteManifest(std::string_view repo, std::optional<std::string_view> tag,
                                        std::string_view media_type, std::string_view bytes,
                                        const ParsedManifest& parsed, bool cached) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  if (tag && !IsValidTag(*tag)) return Status::InvalidArgument("invalid tag");
  const Digest d = Sha256Of(bytes);
  const std::string_view mt = media_type.empty() ? std::string_view(parsed.media_type) : media_type;
  st_->Served();
  auto lock = st_->manifest_locks.Lock(repo);
  PIER_TRY(lock);
  Db& db = *st_->db;
  if (!cached) {
    if (Status s = CheckReferences(db, repo, parsed); !s.ok()) return s;
  }
  // A manifest new to the repository counts toward its project's usage
  // (once per project); a cached one is never refused (its upstream has it).
  auto present = db.Has(Cf::kManifests, ManifestKey(repo, d));
  if (!present.ok()) return present.status();
  const std::string_view project = ProjectOf(repo);
  CountedBatch counted(*st_);
  if (!*present) {
    if (Status q = counted.AddHolder(project, ProjectUsage::Kind::kManifest, d.str(), bytes.size(),
                                     cached ? -1 : st_->quotas.Limit(project));
        !q.ok()) {
      return q;
    }
  }
  records::ManifestRecord rec{std::string(mt), parsed.subject ? parsed.subject->digest.str() : "",
                              std::string(bytes), cached, st_->Now()};
  WriteBatch& batch = counted.batch();
  batch.Put(Cf::kManifests, ManifestKey(repo, d), records::Encode(rec));
  if (tag) batch.Put(Cf::kTags, keys::Join(repo, *tag), d.str());
  if (parsed.subject) {
    batch.Put(Cf::kReferrers, keys::Join(repo, rec.subject, d.str()),
             ReferrerJson(d, mt, bytes.size(), parsed));
  }
  batch.Put(Cf::kRepos, repo, "");
  if (Status s = counted.Write(); !s.ok()) return s;
  st_->manifest_locks.Bump(repo);
  return d;
}

Status StoreImpl::DeleteManifest(std::string_view repo, const Digest& d) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  if (Status s = CheckBlobDigest(d); !s.ok()) return s;
  auto lock = st_->manifest_locks.Lock(repo);
  PIER_TRY(lock);
  return DeleteManifestLocked(*st_, repo, d);
}

Status ScanManifestFacts(const StoreState& st, std::string_view repo,
                         std::unordered_map<std::string, ManifestFacts>* out) {
  const std::string prefix = keys::Prefix(repo);
  return st.db->Scan(Cf::kManifests, prefix, "", [&](std::string_view key, std::string_view value) {
    ManifestFacts& f = (*out)[std::string(key.substr(prefix.size()))];
    records::ManifestRecord rec;
    if (!records::Decode(value, &rec)) {
      f.understood = false;
      return true;
    }
    f.subject = rec.subject;
    f.pushed = rec.pushed_unix;
    auto parsed = ParseManifest(rec.media_type, rec.bytes);
    if (!parsed.ok()) {
      f.understood = false;
      return true;
    }
    for (const auto& b : parsed->blobs) {
      if (b.urls.empty()) f.blobs.push_back(b.digest.str());
    }
    for (const auto& m : parsed->manifests) f.children.push_back(m.digest.str());
    return true;
  });
}

Status DeleteManifestLocked(StoreState& st, std::string_view repo, const Digest& d) {
  Db& db = *st.db;
  auto rec = LoadManifest(db, repo, d);
  if (!rec.ok()) return rec.status();
  const std::string target = d.str();
  CountedBatch counted(st);
  if (Status s = counted.RemoveHolder(ProjectOf(repo), ProjectUsage::Kind::kManifest, target); !s.ok()) return s;
  WriteBatch& batch = counted.batch();
  batch.Delete(Cf::kManifests, ManifestKey(repo, d));
  Status scan = db.Scan(Cf::kTags, keys::Prefix(repo), "", [&](std::string_view key, std::string_view value) {
    if (value == target) batch.Delete(Cf::kTags, key);
    return true;
  });
  if (!scan.ok()) return scan;
  if (!rec->subject.empty()) batch.Delete(Cf::kReferrers, keys::Join(repo, rec->subject, target));
  const std::string pull_key = ManifestKey(repo, d);
  auto pulls = db.ExtraFamily(keys::kPulls);
  if (!pulls.ok()) return pulls.status();
  batch.Delete(*pulls, pull_key);
  if (Status s = counted.Write(); !s.ok()) return s;
  st.manifest_locks.Bump(repo);
  st.pulls.Forget(pull_key);
  return Status::OK();
}

Status StoreImpl::DeleteTag(std::string_view repo, std::string_view tag) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  if (!IsValidTag(tag)) return Status::InvalidArgument("invalid tag");
  auto lock = st_->manifest_locks.Lock(repo);
  PIER_TRY(lock);
  Db& db = *st_->db;
  const std::string key = keys::Join(repo, tag);
  auto present = db.Has(Cf::kTags, key);
  if (!present.ok()) return present.status();
  if (!*present) return Status::NotFound("tag " + std::string(tag) + " unknown");
  WriteBatch batch;
  batch.Delete(Cf::kTags, key);
  if (Status s = db.Write(batch); !s.ok()) return s;
  st_->manifest_locks.Bump(repo);
  return Status::OK();
}

}  // namespace pier::internal
