// Capacity eviction (Store::Evict; the rule is in cache/README.md,
// "Capacity eviction"). Plan without locks: every top-level image (a
// manifest no other manifest of its repository names as a child or subject)
// with its last use, pull-through copies first, then hosted ones, oldest
// first. Then image by image, under the repository's manifest lock:
// re-read the repository, take the image's manifests (the top one first, so
// its tags go before anything they lead to), then the links to blobs no
// remaining manifest references, each under its blob lock and only when not
// linked or read within min_idle_seconds; a blob's file goes with its last
// link. A crash between steps leaves untagged manifests or unreferenced
// links, which garbage collection takes; never a tag or a manifest naming
// something missing.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "base/internal_errors.h"
#include "cache/keys.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

struct Candidate {
  std::string repo;
  Digest digest;
  std::vector<std::string> tags;
  int64_t last_used = 0;
  bool cached = false;
};

// Every manifest of `repo` with what it references. The caller holds the
// repository's manifest lock.
Status ReadRepository(StoreState& st, const std::string& repo, std::unordered_map<std::string, ManifestFacts>* out,
                      std::map<std::string, std::vector<std::string>>* tags) {
  PIER_TRY(ScanManifestFacts(st, repo, out));
  const std::string prefix = keys::Prefix(repo);
  return st.db->Scan(Cf::kTags, prefix, "", [&](std::string_view key, std::string_view value) {
    (*tags)[std::string(value)].emplace_back(key.substr(prefix.size()));
    return true;
  });
}

class EvictRun {
 public:
  EvictRun(StoreState& st, const EvictOptions& o) : st_(st), o_(o), cutoff_(st.Now() - std::max<int64_t>(0, o.min_idle_seconds)) {}

  Status Run(Store& store, EvictReport* report) {
    std::vector<Candidate> candidates;
    PIER_TRY(Plan(store, &candidates));
    for (const Candidate& c : candidates) {
      if (report->freed_bytes() >= o_.bytes_to_free) break;
      if (c.last_used > cutoff_) {
        ++report->in_use_images;
        continue;
      }
      if (!c.cached && !(o_.replicated && o_.replicated(c.repo, c.digest, c.tags))) {
        ++report->unsafe_images;
        continue;
      }
      // The guard reads the image's manifests (replication's planner), which
      // the store records as a use: a use counts from after it. (A pass that
      // crossed a second boundary saw its own read as a client's.)
      const int64_t seen = c.cached ? cutoff_ : std::max(cutoff_, st_.touches.LastTouch(c.repo, c.digest.str()));
      PIER_TRY(EvictImage(c, seen, report));
    }
    return Status::OK();
  }

 private:
  int64_t LastUse(const std::string& repo, const std::string& digest, int64_t pushed, int64_t pulled) const {
    return std::max({pushed, pulled, st_.touches.LastTouch(repo, digest)});
  }

  Status Plan(Store& store, std::vector<Candidate>* out) {
    std::vector<std::string> repos;
    PIER_TRY(st_.db->Scan(Cf::kRepos, "", "", [&](std::string_view k, std::string_view) {
      repos.emplace_back(k);
      return true;
    }));
    for (const std::string& repo : repos) {
      auto artifacts = store.ListArtifacts(repo);
      if (!artifacts.ok()) {
        // One repository that cannot be read must not stop eviction elsewhere.
        ReportInternalError("evict", "listing " + repo + " failed; its images are left", artifacts.status());
        continue;
      }
      std::unordered_set<std::string> named;  // children of another manifest
      for (const auto& a : *artifacts) {
        for (const auto& c : a.children) named.insert(c.str());
      }
      for (auto& a : *artifacts) {
        if (a.subject || named.contains(a.digest.str())) continue;  // goes with its subject or index
        if (!a.cached && !o_.evict_hosted) continue;
        Candidate c{repo, a.digest, std::move(a.tags), LastUse(repo, a.digest.str(), a.pushed_unix, a.pulled_unix),
                    a.cached};
        out->push_back(std::move(c));
      }
    }
    // Pull-through copies first (the upstream has them), then by last use.
    std::stable_sort(out->begin(), out->end(), [](const Candidate& a, const Candidate& b) {
      if (a.cached != b.cached) return a.cached;
      return a.last_used < b.last_used;
    });
    return Status::OK();
  }

  bool Pinned(std::string_view repo, const std::string& digest) const {
    if (!o_.pinned) return false;
    auto d = Digest::Parse(digest);
    return d.ok() && o_.pinned(repo, *d);
  }

  // `seen`: uses up to this time were judged in the plan (or are the guard's).
  Status EvictImage(const Candidate& c, int64_t seen, EvictReport* report) {
    auto lock = st_.manifest_locks.Lock(c.repo);
    PIER_TRY(lock);
    std::unordered_map<std::string, ManifestFacts> manifests;
    std::map<std::string, std::vector<std::string>> tags;
    PIER_TRY(ReadRepository(st_, c.repo, &manifests, &tags));
    const std::string top = c.digest.str();
    auto it = manifests.find(top);
    if (it == manifests.end()) return Status::OK();  // deleted meanwhile
    // Pushed, read or retagged since the plan: in use now.
    auto current_tags = tags[top];
    std::sort(current_tags.begin(), current_tags.end());
    if (LastUse(c.repo, top, it->second.pushed, 0) > seen || current_tags != c.tags) {
      ++report->in_use_images;
      return Status::OK();
    }
    std::map<std::string, std::vector<std::string>> referrers;  // subject -> manifests
    for (const auto& [d, f] : manifests) {
      if (!f.understood) {
        // What it references is unknown: no link of this repository may go.
        ReportInternalError("evict", "a manifest that does not parse: " + c.repo + " left alone",
                            Status::Corruption(c.repo + "@" + d));
        return Status::OK();
      }
      if (!f.subject.empty()) referrers[f.subject].push_back(d);
    }
    // The image: the top manifest, what it names, what refers to those.
    std::vector<std::string> order{top};
    std::set<std::string> unit{top};
    for (size_t i = 0; i < order.size(); ++i) {
      const ManifestFacts& f = manifests[order[i]];
      for (const auto& child : f.children) {
        if (manifests.contains(child) && unit.insert(child).second) order.push_back(child);
      }
      for (const auto& r : referrers[order[i]]) {
        if (unit.insert(r).second) order.push_back(r);
      }
    }
    // A child another index outside the image also names stays (with what it names).
    std::vector<std::string> keep_work;
    for (const auto& [d, f] : manifests) {
      if (!unit.contains(d)) keep_work.insert(keep_work.end(), f.children.begin(), f.children.end());
    }
    while (!keep_work.empty()) {
      std::string d = std::move(keep_work.back());
      keep_work.pop_back();
      if (unit.erase(d) == 0) continue;
      const ManifestFacts& f = manifests[d];
      keep_work.insert(keep_work.end(), f.children.begin(), f.children.end());
    }
    std::erase_if(order, [&](const std::string& d) { return !unit.contains(d); });

    std::unordered_set<std::string> referenced_elsewhere;
    std::set<std::string> blobs;
    for (const auto& [d, f] : manifests) {
      if (unit.contains(d)) {
        blobs.insert(f.blobs.begin(), f.blobs.end());
      } else {
        referenced_elsewhere.insert(f.blobs.begin(), f.blobs.end());
      }
    }
    for (const auto& d : order) {
      if (Pinned(c.repo, d)) {
        ++report->pinned_images;
        return Status::OK();
      }
    }
    for (const auto& b : blobs) {
      if (Pinned(c.repo, b)) {
        ++report->pinned_images;
        return Status::OK();
      }
    }

    for (const auto& d : order) {
      auto digest = Digest::Parse(d);
      if (!digest.ok()) continue;
      if (Status s = DeleteManifestLocked(st_, c.repo, *digest); !s.ok() && s.code() != Code::kNotFound) return s;
    }
    uint64_t freed_total = 0;
    for (const auto& b : blobs) {
      if (referenced_elsewhere.contains(b)) continue;
      auto d = Digest::Parse(b);
      if (!d.ok()) continue;
      auto blob_lock = st_.blob_locks.Lock(d->hex);
      PIER_TRY(blob_lock);
      auto linked_at = LinkTime(st_, c.repo, *d);
      if (!linked_at.ok()) {
        if (linked_at.status().code() == Code::kNotFound) continue;
        return linked_at.status();
      }
      // Linked (a commit or mount) or read lately: someone is using it.
      if (*linked_at > cutoff_ || st_.touches.LastTouch(c.repo, b) > cutoff_) continue;
      uint64_t freed = 0;
      if (Status u = UnlinkBlobLocked(st_, c.repo, *d, &freed); !u.ok() && u.code() != Code::kNotFound) return u;
      if (freed > 0) {
        ++report->blobs_deleted;
        freed_total += freed;
      }
    }
    ++report->images_evicted;
    (c.cached ? report->cached_bytes : report->replicated_bytes) += freed_total;
    if (o_.log) {
      o_.log("evicted " + c.repo + "@" + top + (c.cached ? " (pull-through copy)" : " (held by its destinations)") +
             ": " + std::to_string(order.size()) + " manifest(s), " + std::to_string(freed_total) + " bytes freed");
    }
    return Status::OK();
  }

  StoreState& st_;
  const EvictOptions& o_;
  const int64_t cutoff_;  // used after this: in use
};

}  // namespace

Result<EvictReport> StoreImpl::Evict(const EvictOptions& options) {
  std::lock_guard lock(st_->evict_mu);
  auto across = st_->db->Lock("evict", "run", /*wait=*/false);  // one pass across replicas
  if (!across.ok()) {
    if (across.status().code() == Code::kFailedPrecondition) return EvictReport{};  // another replica's pass
    return across.status();
  }
  EvictReport report;
  EvictRun run(*st_, options);
  if (Status s = run.Run(*this, &report); !s.ok()) return s;
  return report;
}

}  // namespace pier::internal
