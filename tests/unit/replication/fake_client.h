#pragma once
// An in-memory registry behind the RegistryClient interface, for the
// engine's unit tests: blobs per repository, manifests by tag and digest,
// upload sessions that keep their bytes across a cut (as a spec-following
// registry does), and programmable failures.
//
// FakeRegistry is the shared state (thread-safe); FakeClient one client of
// it; FakeClientFactory hands the engine clients of one FakeRegistry.
#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "adapter/client/registry_client.h"
#include "base/digest.h"
#include "replication/client_factory.h"

namespace pier::replication::testing {

// A failure to inject. `after_bytes`: for body transfers (UploadChunk,
// GetBlob), that many bytes get through before the connection "breaks".
struct Failure {
  Failure(client::ErrorKind k = client::ErrorKind::kNetwork, int status = 0,
          std::optional<uint32_t> retry_after = std::nullopt, uint64_t after = 0)
      : kind(k), http_status(status), retry_after_seconds(retry_after), after_bytes(after) {}
  client::ErrorKind kind;
  int http_status;
  std::optional<uint32_t> retry_after_seconds;
  uint64_t after_bytes;
};

class FakeRegistry {
 public:
  // Consulted at the start of every operation ("HeadBlob", "UploadChunk",
  // "GetBlob", ...): a value makes it fail so. Set before use.
  std::function<std::optional<Failure>(std::string_view op, std::string_view repo)> fail;
  // Called when a blob body starts to arrive (UploadBlob, UploadChunk,
  // FinishUpload with bytes; `digest` is "" for UploadChunk); may block
  // until `stop` (a transfer in flight).
  std::function<void(std::string_view op, std::string_view digest, const std::stop_token& stop)> on_body;
  // Called after each piece of a GetBlob body went to the sink, with the
  // blob offset reached; may block (a download in progress).
  std::function<void(uint64_t offset)> on_get_piece;

  void AddBlob(const std::string& repo, const std::string& bytes) {
    std::lock_guard lock(mu_);
    std::string d = Sha256Of(bytes).str();
    blob_bytes_[d] = bytes;
    repo_blobs_[repo].insert(d);
  }
  // The bytes stored for `digest` ("" when none).
  std::string BlobBytes(const std::string& digest) const {
    std::lock_guard lock(mu_);
    auto it = blob_bytes_.find(digest);
    return it == blob_bytes_.end() ? std::string() : it->second;
  }
  // The manifest under `ref` (media type, bytes; empty when none).
  std::pair<std::string, std::string> ManifestOf(const std::string& repo, const std::string& ref) const {
    std::lock_guard lock(mu_);
    auto r = manifests_.find(repo);
    if (r == manifests_.end()) return {};
    auto m = r->second.find(ref);
    if (m == r->second.end()) return {};
    return {m->second.media_type, m->second.bytes};
  }
  // Stores a manifest under `ref` and under its digest; returns the digest.
  std::string AddManifest(const std::string& repo, const std::string& ref, const std::string& media_type,
                          const std::string& bytes) {
    std::lock_guard lock(mu_);
    Digest d = Sha256Of(bytes);
    auto& m = manifests_[repo];
    m[ref] = Stored{d, media_type, bytes};
    m[d.str()] = Stored{d, media_type, bytes};
    return d.str();
  }
  // Serves `bytes` for `digest` from now on (a registry or proxy that
  // corrupts content).
  void ReplaceBlobBytes(const std::string& digest, std::string bytes) {
    std::lock_guard lock(mu_);
    blob_bytes_[digest] = std::move(bytes);
  }
  bool HasBlob(const std::string& repo, const std::string& digest) const {
    std::lock_guard lock(mu_);
    auto it = repo_blobs_.find(repo);
    return it != repo_blobs_.end() && it->second.count(digest) > 0;
  }
  // The digest `ref` resolves to in `repo` ("" when absent).
  std::string ManifestDigest(const std::string& repo, const std::string& ref) const {
    std::lock_guard lock(mu_);
    auto r = manifests_.find(repo);
    if (r == manifests_.end()) return "";
    auto m = r->second.find(ref);
    return m == r->second.end() ? "" : m->second.digest.str();
  }
  // Blob body bytes that arrived, across every upload.
  uint64_t body_bytes() const {
    std::lock_guard lock(mu_);
    return body_bytes_;
  }
  // Completed uploads (monolithic or chunked) of a digest.
  int uploads(const std::string& digest) const {
    std::lock_guard lock(mu_);
    auto it = uploads_.find(digest);
    return it == uploads_.end() ? 0 : it->second;
  }
  int calls(const std::string& op) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(op);
    return it == calls_.end() ? 0 : it->second;
  }
  std::vector<uint64_t> get_offsets() const {
    std::lock_guard lock(mu_);
    return get_offsets_;
  }
  // The blob offset each UploadChunk (PATCH) started at, in arrival order.
  std::vector<uint64_t> chunk_offsets() const {
    std::lock_guard lock(mu_);
    return chunk_offsets_;
  }
  // Upload sessions open (started, neither finished nor cancelled).
  size_t open_sessions() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }
  // The digests `repo` holds.
  std::set<std::string> BlobsOf(const std::string& repo) const {
    std::lock_guard lock(mu_);
    auto it = repo_blobs_.find(repo);
    return it == repo_blobs_.end() ? std::set<std::string>{} : it->second;
  }

 private:
  friend class FakeClient;
  struct Stored {
    Digest digest;
    std::string media_type;
    std::string bytes;
  };
  struct Session {
    std::string repo;
    std::string data;
  };

  mutable std::mutex mu_;
  std::map<std::string, std::string> blob_bytes_;                   // digest → bytes
  std::map<std::string, std::set<std::string>> repo_blobs_;         // repo → digests
  std::map<std::string, std::map<std::string, Stored>> manifests_;  // repo → tag or digest → manifest
  std::map<std::string, Session> sessions_;                         // location → session
  int next_session_ = 0;
  uint64_t body_bytes_ = 0;
  std::map<std::string, int> uploads_;
  std::map<std::string, int> calls_;
  std::vector<uint64_t> get_offsets_;
  std::vector<uint64_t> chunk_offsets_;
};

class FakeClient final : public client::RegistryClient {
 public:
  explicit FakeClient(std::shared_ptr<FakeRegistry> r) : r_(std::move(r)) {}

  Status Ping(client::Call& call) override { return Begin(call, "Ping", ""); }

  Result<client::ManifestInfo> HeadManifest(client::Call& call, std::string_view repo,
                                            std::string_view reference) override {
    PIER_TRY(Begin(call, "HeadManifest", repo));
    auto m = FindManifest(call, repo, reference);
    if (!m.ok()) return m.status();
    return client::ManifestInfo{m->digest, m->media_type, m->bytes.size()};
  }

  Result<client::Manifest> GetManifest(client::Call& call, std::string_view repo, std::string_view reference) override {
    PIER_TRY(Begin(call, "GetManifest", repo));
    auto m = FindManifest(call, repo, reference);
    if (!m.ok()) return m.status();
    return client::Manifest{m->bytes, m->media_type, m->digest};
  }

  Result<Digest> PutManifest(client::Call& call, std::string_view repo, std::string_view reference,
                             std::string_view media_type, std::string_view bytes) override {
    PIER_TRY(Begin(call, "PutManifest", repo));
    Digest d = Sha256Of(bytes);
    std::lock_guard lock(r_->mu_);
    FakeRegistry::Stored s{d, std::string(media_type), std::string(bytes)};
    auto& m = r_->manifests_[std::string(repo)];
    m[std::string(reference)] = s;
    m[d.str()] = s;
    return d;
  }

  Status DeleteManifest(client::Call& call, std::string_view repo, const Digest& digest) override {
    PIER_TRY(Begin(call, "DeleteManifest", repo));
    std::lock_guard lock(r_->mu_);
    auto& m = r_->manifests_[std::string(repo)];
    bool any = false;
    for (auto it = m.begin(); it != m.end();) {
      if (it->second.digest.str() == digest.str()) {
        it = m.erase(it);
        any = true;
      } else {
        ++it;
      }
    }
    return any ? Status::OK() : NotFound(call, "manifest");
  }

  Result<uint64_t> HeadBlob(client::Call& call, std::string_view repo, const Digest& digest) override {
    PIER_TRY(Begin(call, "HeadBlob", repo));
    std::lock_guard lock(r_->mu_);
    auto it = r_->repo_blobs_.find(std::string(repo));
    if (it == r_->repo_blobs_.end() || !it->second.count(digest.str())) return NotFound(call, "blob");
    return uint64_t{r_->blob_bytes_[digest.str()].size()};
  }

  Result<uint64_t> GetBlob(client::Call& call, std::string_view repo, const Digest& digest, uint64_t offset,
                           const client::BlobSink& sink) override {
    auto failure = Failing(call, "GetBlob", repo);
    std::string bytes;
    {
      std::lock_guard lock(r_->mu_);
      r_->get_offsets_.push_back(offset);
      auto it = r_->repo_blobs_.find(std::string(repo));
      if (it == r_->repo_blobs_.end() || !it->second.count(digest.str())) return NotFound(call, "blob");
      bytes = r_->blob_bytes_[digest.str()];
    }
    uint64_t end = bytes.size();
    if (failure) end = std::min<uint64_t>(end, offset + failure->after_bytes);
    call.blob_size = bytes.size();  // as Content-Length / Content-Range announce it
    constexpr uint64_t kPiece = 4096;
    uint64_t delivered = 0;
    for (uint64_t at = offset; at < end; at += kPiece) {
      uint64_t n = std::min(kPiece, end - at);
      if (Status s = sink(std::span<const char>(bytes.data() + at, n)); !s.ok()) {
        call.error.kind = client::ErrorKind::kLocal;
        return s;
      }
      delivered += n;
      if (r_->on_get_piece) r_->on_get_piece(at + n);
    }
    if (failure) return Fail(call, *failure, "GetBlob");
    return delivered;
  }

  Status DeleteBlob(client::Call& call, std::string_view repo, const Digest& digest) override {
    PIER_TRY(Begin(call, "DeleteBlob", repo));
    std::lock_guard lock(r_->mu_);
    return r_->repo_blobs_[std::string(repo)].erase(digest.str()) ? Status::OK() : NotFound(call, "blob");
  }

  Result<client::UploadState> StartUpload(client::Call& call, std::string_view repo) override {
    PIER_TRY(Begin(call, "StartUpload", repo));
    return NewSession(repo);
  }

  Result<client::MountResult> MountBlob(client::Call& call, std::string_view repo, const Digest& digest,
                                        std::string_view from_repo) override {
    PIER_TRY(Begin(call, "MountBlob", repo));
    {
      std::lock_guard lock(r_->mu_);
      auto it = r_->repo_blobs_.find(std::string(from_repo));
      if (it != r_->repo_blobs_.end() && it->second.count(digest.str())) {
        r_->repo_blobs_[std::string(repo)].insert(digest.str());
        return client::MountResult{true, {}};
      }
    }
    return client::MountResult{false, NewSession(repo)};
  }

  Result<client::UploadState> GetUploadStatus(client::Call& call, std::string_view repo,
                                              std::string_view location) override {
    PIER_TRY(Begin(call, "GetUploadStatus", repo));
    std::lock_guard lock(r_->mu_);
    auto it = r_->sessions_.find(std::string(location));
    if (it == r_->sessions_.end()) return NotFound(call, "upload session");
    return client::UploadState{it->first, it->second.data.size()};
  }

  Result<client::UploadState> UploadChunk(client::Call& call, std::string_view repo, std::string_view location,
                                          const client::FileSlice& chunk) override {
    auto failure = Failing(call, "UploadChunk", repo);
    {
      std::lock_guard lock(r_->mu_);
      r_->chunk_offsets_.push_back(chunk.offset);
    }
    PIER_TRY(Body(call, "UploadChunk", ""));
    auto bytes = Read(chunk);
    if (!bytes.ok()) return bytes.status();
    Halfway(call, failure ? std::min<uint64_t>(failure->after_bytes, bytes->size()) : bytes->size());
    std::lock_guard lock(r_->mu_);
    auto it = r_->sessions_.find(std::string(location));
    if (it == r_->sessions_.end()) return NotFound(call, "upload session");
    if (chunk.offset != it->second.data.size()) {
      call.error.kind = client::ErrorKind::kRemote4xx;
      call.error.http_status = 416;
      return Status::OutOfRange("UploadChunk: 416, the session is at " + std::to_string(it->second.data.size()));
    }
    uint64_t n = failure ? std::min<uint64_t>(failure->after_bytes, bytes->size()) : bytes->size();
    it->second.data.append(bytes->data(), n);
    r_->body_bytes_ += n;
    if (call.progress) call.progress(n);
    if (failure) return Fail(call, *failure, "UploadChunk");
    return client::UploadState{it->first, it->second.data.size()};
  }

  Result<Digest> FinishUpload(client::Call& call, std::string_view repo, std::string_view location,
                              const Digest& digest, const client::FileSlice* last_chunk) override {
    PIER_TRY(Begin(call, "FinishUpload", repo));
    std::string tail;
    if (last_chunk) {
      PIER_TRY(Body(call, "FinishUpload", digest.str()));
      auto bytes = Read(*last_chunk);
      if (!bytes.ok()) return bytes.status();
      tail = std::move(*bytes);
      Halfway(call, tail.size());
    }
    std::lock_guard lock(r_->mu_);
    auto it = r_->sessions_.find(std::string(location));
    if (it == r_->sessions_.end()) return NotFound(call, "upload session");
    it->second.data += tail;
    r_->body_bytes_ += tail.size();
    if (call.progress && !tail.empty()) call.progress(tail.size());
    std::string data = std::move(it->second.data);
    r_->sessions_.erase(it);
    return StoreLocked(call, repo, digest, data);
  }

  Status CancelUpload(client::Call& call, std::string_view repo, std::string_view location) override {
    PIER_TRY(Begin(call, "CancelUpload", repo));
    std::lock_guard lock(r_->mu_);
    return r_->sessions_.erase(std::string(location)) ? Status::OK() : NotFound(call, "upload session");
  }

  Result<Digest> UploadBlob(client::Call& call, std::string_view repo, const Digest& digest,
                            const client::FileSlice& blob) override {
    PIER_TRY(Begin(call, "UploadBlob", repo));
    PIER_TRY(Body(call, "UploadBlob", digest.str()));
    auto bytes = Read(blob);
    if (!bytes.ok()) return bytes.status();
    Halfway(call, bytes->size());
    std::lock_guard lock(r_->mu_);
    r_->body_bytes_ += bytes->size();
    if (call.progress) call.progress(bytes->size());
    return StoreLocked(call, repo, digest, *bytes);
  }

  Result<std::vector<std::string>> ListTags(client::Call& call, std::string_view repo, size_t) override {
    PIER_TRY(Begin(call, "ListTags", repo));
    std::lock_guard lock(r_->mu_);
    auto it = r_->manifests_.find(std::string(repo));
    if (it == r_->manifests_.end()) return NotFound(call, "repository");
    std::vector<std::string> tags;
    for (const auto& [ref, m] : it->second) {
      if (ref.rfind("sha256:", 0) != 0) tags.push_back(ref);
    }
    return tags;
  }

  Result<std::vector<std::string>> Catalog(client::Call& call, size_t) override {
    PIER_TRY(Begin(call, "Catalog", ""));
    std::lock_guard lock(r_->mu_);
    std::vector<std::string> repos;
    for (const auto& [repo, m] : r_->manifests_) repos.push_back(repo);
    return repos;
  }

  uint64_t connections_opened() const override { return 0; }

 private:
  // Counts the call and applies an injected failure without a body.
  Status Begin(client::Call& call, std::string_view op, std::string_view repo) {
    auto f = Failing(call, op, repo);
    if (f) return Fail(call, *f, op);
    return Status::OK();
  }

  std::optional<Failure> Failing(client::Call& call, std::string_view op, std::string_view repo) {
    call.error = {};
    {
      std::lock_guard lock(r_->mu_);
      ++r_->calls_[std::string(op)];
    }
    if (call.stop.stop_requested()) return Failure{client::ErrorKind::kCancelled};
    return r_->fail ? r_->fail(op, repo) : std::nullopt;
  }

  // A body starts to move: the on_body hook may hold it until a stop.
  Status Body(client::Call& call, std::string_view op, std::string_view digest) {
    if (r_->on_body) r_->on_body(op, digest, call.stop);
    if (call.stop.stop_requested()) return Fail(call, Failure{client::ErrorKind::kCancelled}, op);
    return Status::OK();
  }

  // As the transport's sampler would on a slow link: half of the `n` body
  // bytes that get through are acknowledged before the answer.
  static void Halfway(client::Call& call, uint64_t n) {
    if (call.body_acked && n > 1) call.body_acked(n / 2);
  }

  static Status Fail(client::Call& call, const Failure& f, std::string_view op) {
    call.error.kind = f.kind;
    call.error.http_status = f.http_status;
    call.error.retry_after_seconds = f.retry_after_seconds;
    std::string what = std::string(op) + ": injected " + client::ErrorKindName(f.kind);
    if (f.kind == client::ErrorKind::kNotFound) return Status::NotFound(what);
    if (f.kind == client::ErrorKind::kDigestMismatch) return Status::DigestMismatch(what);
    return Status::Internal(what);
  }

  static Status NotFound(client::Call& call, const std::string& what) {
    call.error.kind = client::ErrorKind::kNotFound;
    call.error.http_status = 404;
    return Status::NotFound(what + " unknown");
  }

  Result<FakeRegistry::Stored> FindManifest(client::Call& call, std::string_view repo, std::string_view ref) {
    std::lock_guard lock(r_->mu_);
    auto it = r_->manifests_.find(std::string(repo));
    if (it == r_->manifests_.end()) return NotFound(call, "manifest");
    auto m = it->second.find(std::string(ref));
    if (m == it->second.end()) return NotFound(call, "manifest");
    return m->second;
  }

  client::UploadState NewSession(std::string_view repo) {
    std::lock_guard lock(r_->mu_);
    std::string loc = "http://fake/v2/" + std::string(repo) + "/blobs/uploads/" + std::to_string(++r_->next_session_);
    r_->sessions_[loc] = FakeRegistry::Session{std::string(repo), ""};
    return client::UploadState{loc, 0};
  }

  // Under r_->mu_: verifies and stores a finished blob.
  Result<Digest> StoreLocked(client::Call& call, std::string_view repo, const Digest& digest, const std::string& data) {
    if (Sha256Of(data).str() != digest.str()) {
      call.error.kind = client::ErrorKind::kDigestMismatch;
      return Status::DigestMismatch("the bytes do not hash to " + digest.str());
    }
    r_->blob_bytes_[digest.str()] = data;
    r_->repo_blobs_[std::string(repo)].insert(digest.str());
    ++r_->uploads_[digest.str()];
    return digest;
  }

  static Result<std::string> Read(const client::FileSlice& s) {
    std::string out(s.length, '\0');
    uint64_t got = 0;
    while (got < s.length) {
      ssize_t n = ::pread(s.fd, out.data() + got, s.length - got, static_cast<off_t>(s.offset + got));
      if (n <= 0) return Status::IOError("fake client: reading the body");
      got += static_cast<uint64_t>(n);
    }
    return out;
  }

  std::shared_ptr<FakeRegistry> r_;
};

class FakeClientFactory final : public ClientFactory {
 public:
  explicit FakeClientFactory(std::shared_ptr<FakeRegistry> r) : r_(std::move(r)) {}
  Result<std::unique_ptr<client::RegistryClient>> Create(const Endpoint&) override {
    return std::unique_ptr<client::RegistryClient>(std::make_unique<FakeClient>(r_));
  }

 private:
  std::shared_ptr<FakeRegistry> r_;
};

}  // namespace pier::replication::testing
