#include "cache/proxy/pull_through.h"

#include <algorithm>

#include "base/internal_errors.h"
#include "base/log.h"
#include "base/manifest.h"
#include "base/names.h"

namespace pier::proxy {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kHit: return "hit";
    case Outcome::kMiss: return "miss";
    case Outcome::kCoalesced: return "coalesced";
    case Outcome::kStale: return "stale";
    case Outcome::kError: return "error";
  }
  return "error";
}

// One upstream fetch that other callers wait for.
struct PullThrough::Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status result;

  void Finish(Status s) {
    std::lock_guard lock(mu);
    result = std::move(s);
    done = true;
    cv.notify_all();
  }
  Status Wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    return result;
  }
};

namespace {

// Failures after which asking the upstream again right away is pointless:
// it is down, slow, throttling or refusing Pier's credentials.
bool MakesOffline(const client::ClientError& e) {
  using client::ErrorKind;
  switch (e.kind) {
    case ErrorKind::kNetwork:
    case ErrorKind::kTls:
    case ErrorKind::kTimeout:
    case ErrorKind::kAuth:
    case ErrorKind::kThrottled:
    case ErrorKind::kRemote5xx: return true;
    default: return false;
  }
}

}  // namespace

Result<std::shared_ptr<PullThrough>> PullThrough::Create(std::shared_ptr<Store> store, std::vector<Upstream> upstreams,
                                                         PullThroughOptions options) {
  std::vector<std::unique_ptr<client::RegistryClient>> clients;
  for (const Upstream& up : upstreams) {
    client::ClientOptions o;
    o.url = up.url;
    o.username = up.username;
    o.password = up.password;
    o.ca_pem = up.ca_pem;
    o.insecure = up.insecure;
    o.no_progress_timeout_seconds = options.no_progress_timeout_seconds;
    o.max_idle_connections = 8;
    o.user_agent = "pier-pull-through/0.1";
    auto c = client::RegistryClient::Create(o);
    if (!c.ok()) return Status::InvalidArgument("proxy upstream " + up.name + ": " + c.status().message());
    clients.push_back(std::move(*c));
  }
  return std::make_shared<PullThrough>(std::move(store), std::move(upstreams), std::move(clients), options);
}

PullThrough::PullThrough(std::shared_ptr<Store> store, std::vector<Upstream> upstreams,
                         std::vector<std::unique_ptr<client::RegistryClient>> clients, PullThroughOptions options,
                         const Clock& clock)
    : store_(std::move(store)),
      upstreams_(std::move(upstreams)),
      clients_(std::move(clients)),
      options_(options),
      clock_(clock),
      offline_until_(upstreams_.size()),
      fills_per_upstream_(upstreams_.size()) {}

PullThrough::~PullThrough() {
  stopping_ = true;  // downloads stop at their next byte
  std::unique_lock lock(mu_);
  fills_cv_.wait(lock, [&] { return fill_threads_.empty(); });
  std::vector<std::thread> finished = std::move(finished_threads_);
  lock.unlock();
  for (std::thread& t : finished) t.join();
}

size_t PullThrough::Waiting() const { return waiting_.load(); }

bool PullThrough::Offline(size_t upstream) const {
  std::lock_guard lock(mu_);
  return clock_.Steady() < offline_until_[upstream];
}

void PullThrough::Note(size_t upstream, const client::ClientError& e) {
  bool offline = MakesOffline(e);
  {
    std::lock_guard lock(mu_);
    offline_until_[upstream] =
        offline ? clock_.Steady() + std::chrono::seconds(upstreams_[upstream].offline_period_seconds) : TimePoint{};
  }
  if (observer_) observer_->SetUpstreamUp(upstreams_[upstream].name, !offline);
  if (offline) {
    log::Warn("upstream unreachable; serving from cache",
              {{"upstream", upstreams_[upstream].name},
               {"error", client::ErrorKindName(e.kind)},
               {"offline_seconds", std::to_string(upstreams_[upstream].offline_period_seconds)}});
  }
}

void PullThrough::ReportLatency(size_t upstream, std::chrono::steady_clock::time_point asked) {
  if (!observer_) return;
  observer_->OnUpstreamLatency(upstreams_[upstream].name,
                               std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count());
}

void PullThrough::Report(const Target& t, std::string_view kind, Outcome o) {
  if (observer_) observer_->OnRequest(upstreams_[t.upstream].name, kind, o);
}

// ---------------------------------------------------------------- manifests

Status PullThrough::EnsureManifest(const Target& t, std::string_view reference) {
  const bool by_digest = reference.find(':') != std::string_view::npos;
  const std::string key = t.local_repo + (by_digest ? "@" : ":") + std::string(reference);
  const auto now = clock_.Steady();
  Result<StoredManifest> local = store_->GetManifest(t.local_repo, reference);
  if (by_digest && local.ok()) {
    Report(t, "manifest", Outcome::kHit);  // content-addressed: never stale
    return Status::OK();
  }
  {
    std::lock_guard lock(mu_);
    if (local.ok()) {
      auto it = tag_checked_.find(key);
      if (it != tag_checked_.end() &&
          now - it->second < std::chrono::seconds(upstreams_[t.upstream].tag_ttl_seconds)) {
        Report(t, "manifest", Outcome::kHit);
        return Status::OK();
      }
    } else if (auto nf = not_found_.find(key); nf != not_found_.end()) {
      if (now < nf->second) return Status::NotFound("manifest unknown to upstream " + upstreams_[t.upstream].name);
      not_found_.erase(nf);
    }
  }
  if (Offline(t.upstream)) {
    if (local.ok()) {
      Report(t, "manifest", Outcome::kStale);
      return Status::OK();
    }
    Report(t, "manifest", Outcome::kError);
    return Status::Unavailable("upstream " + upstreams_[t.upstream].name + " is offline and " +
                               std::string(reference) + " is not cached");
  }

  // Ask the upstream; the same question from other clients waits for this one.
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = flights_.try_emplace("manifest:" + key);
    if (inserted) it->second = std::make_shared<Flight>();
    flight = it->second;
    leader = inserted;
  }
  if (!leader) {
    ++waiting_;
    Status s = flight->Wait();
    --waiting_;
    Report(t, "manifest", s.ok() ? Outcome::kCoalesced : Outcome::kError);
    return s;
  }
  Status result;
  client::Call call;
  client::RegistryClient& c = *clients_[t.upstream];
  if (by_digest) {
    result = FetchManifest(t, reference, std::nullopt);
  } else {
    const auto asked = std::chrono::steady_clock::now();
    Result<client::ManifestInfo> head = c.HeadManifest(call, t.upstream_repo, reference);
    ReportLatency(t.upstream, asked);
    if (head.ok()) {
      Note(t.upstream, call.error);
      if (local.ok() && local->digest == head->digest) {
        result = Status::OK();
        Report(t, "manifest", Outcome::kHit);
      } else {
        result = FetchManifest(t, head->digest.str(), reference);
      }
      if (result.ok()) {
        std::lock_guard lock(mu_);
        tag_checked_[key] = clock_.Steady();
      }
    } else if (call.error.kind == client::ErrorKind::kNotFound) {
      Note(t.upstream, call.error);
      Report(t, "manifest", Outcome::kMiss);
      std::lock_guard lock(mu_);
      // Bounded so a tag pushed upstream a moment later shows up soon.
      not_found_[key] = clock_.Steady() + std::chrono::seconds(std::min<int64_t>(upstreams_[t.upstream].tag_ttl_seconds, 30));
      result = Status::NotFound("manifest " + t.upstream_repo + ":" + std::string(reference) + " unknown to upstream " +
                                upstreams_[t.upstream].name);
    } else {
      Note(t.upstream, call.error);
      if (local.ok()) {
        Report(t, "manifest", Outcome::kStale);
        result = Status::OK();
      } else {
        Report(t, "manifest", Outcome::kError);
        result = UpstreamError(upstreams_[t.upstream], head.status());
      }
    }
  }
  flight->Finish(result);
  std::lock_guard lock(mu_);
  flights_.erase("manifest:" + key);
  return result;
}

// GET of a manifest by digest (verified by the client) into the cache; moves
// `tag` to it when given.
Status PullThrough::FetchManifest(const Target& t, std::string_view digest, std::optional<std::string_view> tag) {
  if (!tag && store_->GetManifest(t.local_repo, digest).ok()) return Status::OK();
  client::Call call;
  const auto asked = std::chrono::steady_clock::now();
  Result<client::Manifest> m = clients_[t.upstream]->GetManifest(call, t.upstream_repo, digest);
  ReportLatency(t.upstream, asked);
  Note(t.upstream, call.error);
  if (!m.ok()) {
    Report(t, "manifest", Outcome::kError);
    if (call.error.kind == client::ErrorKind::kNotFound) return m.status();
    if (call.error.kind == client::ErrorKind::kDigestMismatch) return m.status();
    return UpstreamError(upstreams_[t.upstream], m.status());
  }
  Result<ParsedManifest> parsed = ParseManifest(m->media_type, m->bytes);
  if (!parsed.ok()) {
    Report(t, "manifest", Outcome::kError);
    return Status::Unsupported("upstream " + upstreams_[t.upstream].name + " sent a manifest Pier cannot store: " +
                               parsed.status().message());
  }
  Result<Digest> stored = store_->PutCachedManifest(t.local_repo, tag, m->media_type, m->bytes, *parsed);
  if (!stored.ok()) return stored.status();
  if (observer_) observer_->OnFetchedBytes(upstreams_[t.upstream].name, m->bytes.size());
  Report(t, "manifest", Outcome::kMiss);
  return Status::OK();
}

bool PullThrough::Fresh(const Target& t, std::string_view reference, bool blob) {
  bool fresh = false;
  if (blob) {
    Result<Digest> d = Digest::Parse(reference);
    fresh = d.ok() && store_->StatBlob(t.local_repo, *d).ok();
  } else if (reference.find(':') != std::string_view::npos) {
    fresh = store_->GetManifest(t.local_repo, reference).ok();
  } else {
    std::lock_guard lock(mu_);
    auto it = tag_checked_.find(t.local_repo + ":" + std::string(reference));
    fresh = it != tag_checked_.end() &&
            clock_.Steady() - it->second < std::chrono::seconds(upstreams_[t.upstream].tag_ttl_seconds);
  }
  // A tag confirmed upstream whose local copy was deleted meanwhile is not fresh.
  if (fresh && !blob && reference.find(':') == std::string_view::npos) {
    fresh = store_->GetManifest(t.local_repo, reference).ok();
  }
  if (fresh) Report(t, blob ? "blob" : "manifest", Outcome::kHit);
  return fresh;
}

}  // namespace pier::proxy
