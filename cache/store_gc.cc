// Online garbage collection, repository by repository (the rule is in
// cache/README.md, "Garbage collection"). For each repository, a plan made
// without its manifest lock, then carried out under it (planned again there
// when a manifest or tag of the stripe changed, or a manifest to delete was
// read or pinned meanwhile, so no manifest put or tag change interleaves):
//   mark   the manifests to keep: tagged, pinned, pushed or read within the
//          grace period, every manifest without a subject unless
//          delete_untagged; then what they reach (index children, referrers
//          of a kept subject);
//   sweep  the manifests not kept, then the repository's links to blobs no
//          kept manifest references, older than the grace period, not read
//          within it and not pinned; each link under its digest's blob lock,
//          re-read there (a commit or mount may have just renewed it). The
//          last link of a blob takes the blob's record and then its file.
// Whole-store passes follow (store_gc_files.cc): blob records with no link,
// expired upload sessions, files a crash left behind.
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/internal_errors.h"
#include "cache/keys.h"
#include "cache/store_gc.h"

namespace pier::internal {
namespace {

// GC is background work: its threads run under SCHED_IDLE (and nice 19, per
// thread on Linux) so pushes and pulls keep the CPUs they need. Nice 19 alone
// is not enough: the scheduler may let a nice-19 thread finish its slice
// before a woken request thread runs, and places that thread as if the CPU
// were busy; a SCHED_IDLE thread is preempted by any woken normal thread and
// its CPU counts as idle. The locks GC takes are short (one repository's
// deletions, one link), and it paces itself while requests come (Pace).
class LowPriority {
 public:
  LowPriority() : tid_(static_cast<id_t>(::syscall(SYS_gettid))) {
    errno = 0;
    const int old = ::getpriority(PRIO_PROCESS, tid_);
    if (errno == 0 && ::setpriority(PRIO_PROCESS, tid_, 19) == 0) old_ = old;
    sched_param param{};
    int policy = 0;
    if (::pthread_getschedparam(::pthread_self(), &policy, &param) == 0) {
      sched_param idle{};
      if (::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &idle) == 0) old_sched_ = {policy, param};
    }
  }
  ~LowPriority() {
    // Going back needs CAP_SYS_NICE or RLIMIT_NICE room; a failure leaves this thread low.
    if (old_sched_) (void)::pthread_setschedparam(::pthread_self(), old_sched_->first, &old_sched_->second);
    if (old_) (void)::setpriority(PRIO_PROCESS, tid_, *old_);
  }
  LowPriority(const LowPriority&) = delete;
  LowPriority& operator=(const LowPriority&) = delete;

 private:
  id_t tid_;
  std::optional<int> old_;
  std::optional<std::pair<int, sched_param>> old_sched_;
};

}  // namespace

GcRun::GcRun(StoreState& st, const GcOptions& options)
    : st_(st), o_(options), now_(st.Now()), cutoff_(now_ - std::max<int64_t>(0, options.grace_seconds)) {}

bool GcRun::Stopping() const { return o_.stop != nullptr && o_.stop->load(); }

void GcRun::Pace(std::chrono::steady_clock::time_point* started, uint64_t* seen) const {
  const uint64_t served = st_.requests.load(std::memory_order_relaxed);
  if (served != *seen && !Stopping()) {
    const auto worked = std::chrono::steady_clock::now() - *started;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(worked * kPaceFactor, kMaxPause));
  }
  *seen = st_.requests.load(std::memory_order_relaxed);
  *started = std::chrono::steady_clock::now();
}

void GcRun::Log(const std::string& line) {
  if (!o_.log) return;
  std::lock_guard lock(log_mu_);
  o_.log((o_.dry_run ? "[dry run] " : "") + line);
}

void GcRun::Add(const GcReport& part) {
  std::lock_guard lock(report_mu_);
  report_.manifests_deleted += part.manifests_deleted;
  report_.links_deleted += part.links_deleted;
  report_.blobs_deleted += part.blobs_deleted;
  report_.blob_bytes_deleted += part.blob_bytes_deleted;
  report_.uploads_deleted += part.uploads_deleted;
  report_.upload_bytes_deleted += part.upload_bytes_deleted;
  report_.orphans_deleted += part.orphans_deleted;
  report_.orphan_bytes_deleted += part.orphan_bytes_deleted;
  report_.pinned_blobs += part.pinned_blobs;
  report_.pinned_bytes += part.pinned_bytes;
}

bool GcRun::Pinned(std::string_view repo, const std::string& digest) const {
  if (!o_.pinned) return false;
  auto d = Digest::Parse(digest);
  return d.ok() && o_.pinned(repo, *d);
}

bool GcRun::Protected(std::string_view repo, const std::string& digest, int64_t since) const {
  // No grace, no protection by reads (as on one node, where a read is never
  // later than now): SharedTouches' rows would protect a second longer.
  return since > cutoff_ || (o_.grace_seconds > 0 && st_.LastRead(repo, digest) > cutoff_);
}

Status GcRun::Run(int workers) {
  std::vector<std::string> repos;
  if (Status s = st_.db->Scan(Cf::kRepos, "", "", [&](std::string_view k, std::string_view) {
        repos.emplace_back(k);
        return true;
      });
      !s.ok()) {
    return s;
  }
  // Repositories are independent: `workers` threads take them in turn.
  std::atomic<size_t> next{0};
  Status first_error;
  std::mutex error_mu;
  auto work = [&] {
    LowPriority low;
    auto started = std::chrono::steady_clock::now();
    uint64_t seen = st_.requests.load(std::memory_order_relaxed);
    for (size_t i = next.fetch_add(1); i < repos.size() && !Stopping(); i = next.fetch_add(1)) {
      if (Status s = SweepRepository(repos[i]); !s.ok()) {
        std::lock_guard lock(error_mu);
        if (first_error.ok()) first_error = Status(s.code(), repos[i] + ": " + s.message());
      }
      Pace(&started, &seen);
    }
  };
  {
    std::vector<std::jthread> threads;
    const int n = std::clamp(workers, 1, 10);
    for (int i = 1; i < n; ++i) threads.emplace_back(work);
    work();
  }
  if (!first_error.ok()) return first_error;
  if (Stopping()) {
    report_.stopped = true;
    return Status::OK();
  }
  LowPriority low;
  if (Status s = SweepUnlinkedBlobs(); !s.ok()) return s;
  if (o_.dry_run) {
    if (Status s = SettleDryRun(); !s.ok()) return s;
  }
  if (Stopping()) {
    report_.stopped = true;
    return Status::OK();
  }
  if (Status s = SweepUploads(); !s.ok()) return s;
  if (Status s = SweepOrphanFiles(); !s.ok()) return s;
  report_.stopped = Stopping();
  if (!o_.dry_run) {
    st_.touches.ForgetBefore(cutoff_);
    if (st_.shared_touches) {
      if (Status f = st_.shared_touches->ForgetBefore(cutoff_); !f.ok()) Log("forgetting old reads failed: " + f.ToString());
    }
  }
  return Status::OK();
}

Status GcRun::SweepRepository(const std::string& repo) {
  // Most repositories have nothing to collect: plan without the lock and
  // take it only to act, planning again if a manifest or tag of a repository
  // on the same stripe changed meanwhile (the stripe's generation moved).
  const uint64_t generation = st_.manifest_locks.Generation(repo);
  RepoPlan plan;
  if (Status s = PlanRepository(repo, &plan); !s.ok()) return s;
  if (plan.manifests.empty() && plan.links.empty()) {
    Add(plan.kept);
    return Status::OK();
  }
  std::optional<Result<KeyLocks::Guard>> lock;
  if (!o_.dry_run) {
    lock.emplace(st_.manifest_locks.Lock(repo));
    PIER_TRY(*lock);
    // A read or a pin since the plan keeps a manifest it meant to delete
    // (and the blobs that manifest references): plan again as well.
    const bool renewed = std::any_of(plan.manifests.begin(), plan.manifests.end(), [&](const auto& m) {
      return (o_.grace_seconds > 0 && st_.LastRead(repo, m.digest) > cutoff_) || Pinned(repo, m.digest);
    });
    if (renewed || !st_.manifest_locks.reliable_generations() || st_.manifest_locks.Generation(repo) != generation) {
      plan = RepoPlan();
      if (Status s = PlanRepository(repo, &plan); !s.ok()) return s;
    }
  }
  return ApplyPlan(repo, plan);
}

Status GcRun::PlanRepository(const std::string& repo, RepoPlan* plan) {
  Db& db = *st_.db;
  const std::string prefix = keys::Prefix(repo);

  // --- mark ---
  std::unordered_map<std::string, ManifestFacts> manifests;
  Status s = ScanManifestFacts(st_, repo, &manifests);
  if (!s.ok()) return s;
  std::unordered_set<std::string> tagged;
  s = db.Scan(Cf::kTags, prefix, "", [&](std::string_view, std::string_view value) {
    tagged.emplace(value);
    return true;
  });
  if (!s.ok()) return s;

  std::unordered_map<std::string, std::vector<std::string>> referrers;  // subject -> manifests
  for (const auto& [d, f] : manifests) {
    if (!f.subject.empty()) referrers[f.subject].push_back(d);
  }
  std::unordered_set<std::string> kept;
  std::vector<std::string> work;
  auto keep = [&](const std::string& d) {
    if (manifests.contains(d) && kept.insert(d).second) work.push_back(d);
  };
  for (const auto& [d, f] : manifests) {
    const bool root = tagged.contains(d) || !f.understood || Protected(repo, d, f.pushed) ||
                      (!o_.delete_untagged && f.subject.empty()) || Pinned(repo, d);
    if (root) keep(d);
  }
  while (!work.empty()) {
    const std::string d = std::move(work.back());
    work.pop_back();
    for (const auto& child : manifests[d].children) keep(child);
    if (auto it = referrers.find(d); it != referrers.end()) {
      for (const auto& r : it->second) keep(r);
    }
  }

  bool all_understood = true;
  std::unordered_set<std::string> referenced;
  for (const auto& [d, f] : manifests) {
    all_understood = all_understood && f.understood;
    if (kept.contains(d)) {
      referenced.insert(f.blobs.begin(), f.blobs.end());
      continue;
    }
    const bool orphan_referrer = !f.subject.empty() && !kept.contains(f.subject);
    plan->manifests.push_back({d, f.subject, orphan_referrer});
  }
  // A manifest that did not parse may reference any blob: leave the links.
  if (!all_understood) {
    ReportInternalError("gc", "a manifest that does not parse: links of " + repo + " left alone",
                        Status::Corruption(repo));
    return Status::OK();
  }

  // --- links nothing kept references, old and unread ---
  std::vector<Digest> candidates;
  s = db.Scan(Cf::kLinks, prefix, "", [&](std::string_view key, std::string_view value) {
    const std::string digest(key.substr(prefix.size()));
    if (referenced.contains(digest)) return true;
    int64_t linked_at = 0;
    if (!records::DecodeLinkTime(value, &linked_at)) return true;  // fsck reports it
    if (Protected(repo, digest, linked_at)) return true;
    auto d = Digest::Parse(digest);
    if (d.ok()) candidates.push_back(std::move(d).value());
    return true;
  });
  if (!s.ok()) return s;
  for (auto& d : candidates) {
    if (o_.pinned && o_.pinned(repo, d)) {
      ++plan->kept.pinned_blobs;
      if (auto v = db.Get(Cf::kBlobs, d.str()); v.ok()) {
        records::BlobRecord r;
        if (records::Decode(*v, &r)) plan->kept.pinned_bytes += r.size;
      }
      continue;
    }
    plan->links.push_back(std::move(d));
  }
  return Status::OK();
}

Status GcRun::ApplyPlan(const std::string& repo, const RepoPlan& plan) {
  Db& db = *st_.db;
  GcReport part = plan.kept;
  for (const auto& m : plan.manifests) {
    Log("delete manifest " + repo + "@" + m.digest + (m.orphan_referrer ? " (its subject is gone)" : " (untagged)"));
    ++part.manifests_deleted;
    if (o_.dry_run) continue;
    // As StoreImpl::DeleteManifest: the record, its referrer entry and its
    // pull time (retention must not see a pull of a manifest that is gone).
    const std::string key = keys::Join(repo, m.digest);
    CountedBatch counted(st_);
    if (Status r = counted.RemoveHolder(ProjectOf(repo), ProjectUsage::Kind::kManifest, m.digest); !r.ok()) return r;
    WriteBatch& batch = counted.batch();
    batch.Delete(Cf::kManifests, key);
    if (!m.subject.empty()) batch.Delete(Cf::kReferrers, keys::Join(repo, m.subject, m.digest));
    auto pulls = db.ExtraFamily(keys::kPulls);
    if (!pulls.ok()) return pulls.status();
    batch.Delete(*pulls, key);
    if (Status w = counted.Write(); !w.ok()) return w;
    st_.manifest_locks.Bump(repo);
    st_.pulls.Forget(key);
  }
  for (const auto& d : plan.links) {
    if (Stopping()) break;
    auto blob_lock = st_.blob_locks.Lock(d.hex);
    PIER_TRY(blob_lock);
    // A commit or mount since the scan renewed the link: it is a fresh one.
    auto linked_at = LinkTime(st_, repo, d);
    if (!linked_at.ok()) {
      if (linked_at.status().code() == Code::kNotFound) continue;
      return linked_at.status();
    }
    if (Protected(repo, d.str(), *linked_at)) continue;
    Log("delete blob link " + repo + "@" + d.str());
    ++part.links_deleted;
    if (o_.dry_run) {
      std::lock_guard l(report_mu_);
      ++dry_unlinks_[d.str()];
      continue;
    }
    uint64_t freed = 0;
    if (Status u = UnlinkBlobLocked(st_, repo, d, &freed); !u.ok() && u.code() != Code::kNotFound) return u;
    if (freed > 0) {
      ++part.blobs_deleted;
      part.blob_bytes_deleted += freed;
      Log("delete blob " + d.str() + " (" + std::to_string(freed) + " bytes)");
    }
  }
  Add(part);
  return Status::OK();
}

// A dry run deleted nothing, so a blob is counted as freed when every one of
// its links would have gone.
Status GcRun::SettleDryRun() {
  for (const auto& [digest, unlinks] : dry_unlinks_) {
    uint64_t links = 0;
    Status s = st_.db->Scan(Cf::kBlobRepos, keys::Prefix(digest), "", [&](std::string_view, std::string_view) {
      ++links;
      return true;
    });
    if (!s.ok()) return s;
    if (links > unlinks) continue;
    auto v = st_.db->Get(Cf::kBlobs, digest);
    records::BlobRecord r;
    if (!v.ok() || !records::Decode(*v, &r)) continue;
    ++report_.blobs_deleted;
    report_.blob_bytes_deleted += r.size;
    Log("delete blob " + digest + " (" + std::to_string(r.size) + " bytes)");
  }
  return Status::OK();
}

Result<GcReport> StoreImpl::CollectGarbage(const GcOptions& options) {
  std::lock_guard lock(st_->gc_mu);
  // One collection at a time across replicas too: a second would only
  // race the first for the same garbage.
  auto across = st_->db->Lock("gc", "run", /*wait=*/false);
  if (!across.ok()) {
    if (across.status().code() == Code::kFailedPrecondition) {
      return Status::FailedPrecondition("a garbage collection is running on another replica");
    }
    return across.status();
  }
  GcRun run(*st_, options);
  if (Status s = run.Run(options.workers); !s.ok()) return s;
  return run.report();
}

}  // namespace pier::internal
