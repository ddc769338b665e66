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

Status UpstreamError(const Upstream& up, const Status& s) {
  return Status::Unavailable("upstream " + up.name + " (" + up.url + "): " + s.message());
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
      offline_until_(upstreams_.size()) {}

PullThrough::~PullThrough() = default;

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
    Result<client::ManifestInfo> head = c.HeadManifest(call, t.upstream_repo, reference);
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
  Result<client::Manifest> m = clients_[t.upstream]->GetManifest(call, t.upstream_repo, digest);
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

// ---------------------------------------------------------------- blobs

Status PullThrough::EnsureBlob(const Target& t, const Digest& d) {
  if (store_->StatBlob(t.local_repo, d).ok()) {
    Report(t, "blob", Outcome::kHit);
    return Status::OK();
  }
  for (int round = 0; round < 2; ++round) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(mu_);
      auto [it, inserted] = flights_.try_emplace("blob:" + d.str());
      if (inserted) it->second = std::make_shared<Flight>();
      flight = it->second;
      leader = inserted;
    }
    if (leader) {
      Status s = FillBlob(t, d);
      flight->Finish(s);
      std::lock_guard lock(mu_);
      flights_.erase("blob:" + d.str());
      return s;
    }
    ++waiting_;
    Status s = flight->Wait();
    --waiting_;
    if (store_->StatBlob(t.local_repo, d).ok()) {
      Report(t, "blob", Outcome::kCoalesced);
      return Status::OK();
    }
    // The fill was for another repository (or failed): this name gets its
    // own check with the upstream, which links the stored bytes if any.
    if (!s.ok() && s.code() != Code::kNotFound) {
      Report(t, "blob", Outcome::kError);
      return s;
    }
  }
  return FillBlob(t, d);
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

Result<uint64_t> PullThrough::BlobSize(const Target& t, const Digest& d) {
  if (Result<BlobInfo> local = store_->StatBlob(t.local_repo, d); local.ok()) {
    Report(t, "blob", Outcome::kHit);
    return local->size;
  }
  const Upstream& up = upstreams_[t.upstream];
  if (Offline(t.upstream)) {
    Report(t, "blob", Outcome::kError);
    return Status::Unavailable("upstream " + up.name + " is offline and blob " + d.str() + " is not cached");
  }
  client::Call call;
  Result<uint64_t> size = clients_[t.upstream]->HeadBlob(call, t.upstream_repo, d);
  Note(t.upstream, call.error);
  if (size.ok() || call.error.kind == client::ErrorKind::kNotFound) return size;
  Report(t, "blob", Outcome::kError);
  return UpstreamError(up, size.status());
}

Status PullThrough::FillBlob(const Target& t, const Digest& d) {
  const Upstream& up = upstreams_[t.upstream];
  client::RegistryClient& c = *clients_[t.upstream];
  if (store_->StatBlob(t.local_repo, d).ok()) {
    Report(t, "blob", Outcome::kCoalesced);
    return Status::OK();
  }
  if (Offline(t.upstream)) {
    Report(t, "blob", Outcome::kError);
    return Status::Unavailable("upstream " + up.name + " is offline and blob " + d.str() + " is not cached");
  }
  // Stored already (pushed here, or cached under another name): the
  // upstream's HEAD confirms this name has it, then it is only linked.
  if (store_->BlobStored(d)) {
    client::Call call;
    Result<uint64_t> size = c.HeadBlob(call, t.upstream_repo, d);
    Note(t.upstream, call.error);
    if (!size.ok()) {
      Report(t, "blob", Outcome::kError);
      if (call.error.kind == client::ErrorKind::kNotFound) return size.status();
      return UpstreamError(up, size.status());
    }
    if (store_->LinkStoredBlob(t.local_repo, d).ok()) {
      Report(t, "blob", Outcome::kHit);
      return Status::OK();
    }
  }

  Result<UploadState> session = store_->StartUpload(t.local_repo);
  if (!session.ok()) return session.status();
  auto cancel = [&] {
    if (Status s = store_->CancelUpload(t.local_repo, session->uuid); !s.ok() && s.code() != Code::kNotFound) {
      ReportInternalError("proxy", "cancelling the fill of " + d.str(), s);
    }
  };
  uint64_t committed = 0;
  Status last;
  client::ClientError last_error;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    const uint64_t before = committed;
    Result<std::unique_ptr<UploadWriter>> w = store_->OpenWriter(t.local_repo, session->uuid, committed);
    if (!w.ok()) {
      cancel();
      return w.status();
    }
    UploadWriter& writer = **w;
    uint64_t unflushed = 0;
    client::Call call;
    Result<uint64_t> got = c.GetBlob(call, t.upstream_repo, d, committed, [&](std::span<const char> data) {
      PIER_TRY(writer.Append(data));
      if (observer_) observer_->OnFetchedBytes(up.name, data.size());
      unflushed += data.size();
      if (unflushed >= options_.flush_every_bytes) {
        PIER_TRY(writer.Flush());
        committed += unflushed;
        unflushed = 0;
      }
      return Status::OK();
    });
    if (got.ok()) {
      Note(t.upstream, call.error);
      Result<BlobInfo> info = writer.Commit(d);
      if (!info.ok()) {
        // A wrong blob is deleted with its session by Commit: nothing stored.
        Report(t, "blob", Outcome::kError);
        if (info.status().code() == Code::kDigestMismatch) {
          log::Warn("upstream sent a blob that does not hash to its digest; not stored",
                    {{"upstream", up.name}, {"digest", d.str()}});
        }
        return info.status();
      }
      Report(t, "blob", Outcome::kMiss);
      return Status::OK();
    }
    // Keep what was made durable; resume from there.
    if (Status s = writer.Flush(); s.ok()) {
      committed += unflushed;
    } else {
      writer.Abort();
    }
    last = got.status();
    last_error = call.error;
    // A cut mid-blob is retried at once from the durable offset; an attempt
    // that moved nothing (upstream down, or refusing) ends the fill.
    if (!call.error.Transient() || committed == before) break;
    log::Info("upstream fill cut; resuming with Range",
              {{"upstream", up.name}, {"digest", d.str()}, {"offset", std::to_string(committed)},
               {"error", last.message()}});
  }
  cancel();
  Note(t.upstream, last_error);
  Report(t, "blob", Outcome::kError);
  if (last.code() == Code::kNotFound || last.code() == Code::kDigestMismatch) return last;
  return UpstreamError(up, last);
}

}  // namespace pier::proxy
