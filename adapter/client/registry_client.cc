// The registry API on top of the transport: URL building, auth retries,
// redirects, answer checking. No Boost here; all I/O goes through Transport.
#include "adapter/client/registry_client.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "adapter/client/auth.h"
#include "adapter/client/errors.h"
#include "adapter/client/parse.h"
#include "adapter/client/transport.h"
#include "adapter/client/url.h"
#include "base/names.h"
#include "base/text.h"

namespace pier::client {

const char* const kManifestMediaTypes[5] = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.artifact.manifest.v1+json",
};

namespace {

constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;
constexpr size_t kMaxListPageBytes = 16 * 1024 * 1024;
constexpr size_t kMaxListPages = 100000;

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "application/json; charset=utf-8" → "application/json"
std::string MediaTypeOf(const std::string& content_type) {
  std::string_view v = content_type;
  return std::string(TrimSpaces(v.substr(0, v.find(';'))));
}

std::optional<uint64_t> ParseLength(const std::string& v) {
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  return n;
}

std::string AcceptManifests() {
  std::string out;
  for (const char* t : kManifestMediaTypes) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

std::string Pull(std::string_view repo) { return Authenticator::RepositoryScope(repo, "pull"); }
std::string Push(std::string_view repo) { return Authenticator::RepositoryScope(repo, "pull,push"); }
// Harbor asks for "*" on deletes; a registry whose token service wants
// "delete" names it in its challenge, which is then added.
std::string Delete(std::string_view repo) { return Authenticator::RepositoryScope(repo, "*"); }

class ClientImpl final : public RegistryClient {
 public:
  ClientImpl(ClientOptions options, Url base, std::unique_ptr<Transport> transport, const Clock& clock)
      : options_(std::move(options)),
        base_(std::move(base)),
        transport_(std::move(transport)),
        clock_(clock),
        auth_(transport_.get(), base_, Credentials{options_.username, options_.password}, clock_) {}

  uint64_t connections_opened() const override { return transport_->connections_opened(); }

  Status Ping(Call& call) override {
    call.error = ClientError();
    HttpRequest req = Request("GET", Api("/v2/"));
    Result<HttpResponse> first = transport_->Send(req, call);
    if (!first.ok()) return Prefixed("ping", first.status());
    auth_.Learn(*first);
    if (first->status / 100 == 2) return Status::OK();
    if (first->status != 401) return HttpFailure(clock_, call, "ping", *first);
    if (!auth_.known())
      return ClientFailure(call, ErrorKind::kAuth, "ping", "401 without a usable challenge");
    Result<HttpResponse> again = Execute(call, "ping", {}, req);
    if (!again.ok()) return again.status();
    if (again->status / 100 == 2) return Status::OK();
    return HttpFailure(clock_, call, "ping", *again);
  }

  Result<ManifestInfo> HeadManifest(Call& call, std::string_view repo, std::string_view reference) override {
    call.error = ClientError();
    std::string op = "HEAD manifest " + Ref(repo, reference);
    if (Status s = CheckReference(call, op, repo, reference); !s.ok()) return s;
    HttpRequest req =
        Request("HEAD", Api("/v2/" + std::string(repo) + "/manifests/" + std::string(reference)));
    req.headers.emplace_back("Accept", AcceptManifests());
    Result<HttpResponse> resp = Execute(call, op, {Pull(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status != 200) return HttpFailure(clock_, call, op, *resp);
    ManifestInfo info;
    info.media_type = MediaTypeOf(resp->Header("content-type"));
    std::optional<uint64_t> size = ParseLength(resp->Header("content-length"));
    Result<Digest> digest = Digest::Parse(resp->Header("docker-content-digest"));
    if (!digest.ok() && LooksLikeDigest(reference)) digest = Digest::Parse(reference);
    if (digest.ok() && size) {
      info.digest = *digest;
      info.size = *size;
      return info;
    }
    // The registry did not say enough on HEAD: ask for the manifest itself.
    Result<Manifest> m = GetManifest(call, repo, reference);
    if (!m.ok()) return m.status();
    return ManifestInfo{m->digest, m->media_type, m->bytes.size()};
  }

  Result<Manifest> GetManifest(Call& call, std::string_view repo, std::string_view reference) override {
    call.error = ClientError();
    std::string op = "GET manifest " + Ref(repo, reference);
    if (Status s = CheckReference(call, op, repo, reference); !s.ok()) return s;
    HttpRequest req =
        Request("GET", Api("/v2/" + std::string(repo) + "/manifests/" + std::string(reference)));
    req.headers.emplace_back("Accept", AcceptManifests());
    req.body_limit = kMaxManifestBytes;
    Result<HttpResponse> resp = Execute(call, op, {Pull(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status != 200) return HttpFailure(clock_, call, op, *resp);
    Manifest m;
    m.bytes = std::move(resp->body);
    m.media_type = MediaTypeOf(resp->Header("content-type"));
    m.digest = Sha256Of(m.bytes);
    if (LooksLikeDigest(reference) && reference != m.digest.str()) {
      return ClientFailure(call, ErrorKind::kDigestMismatch, op, "content hashes to " + m.digest.str());
    }
    std::string announced = resp->Header("docker-content-digest");
    if (announced.rfind("sha256:", 0) == 0 && announced != m.digest.str()) {
      return ClientFailure(call, ErrorKind::kDigestMismatch, op,
                           "registry announced " + announced + ", content hashes to " + m.digest.str());
    }
    return m;
  }

  Result<Digest> PutManifest(Call& call, std::string_view repo, std::string_view reference,
                             std::string_view media_type, std::string_view bytes) override {
    call.error = ClientError();
    std::string op = "PUT manifest " + Ref(repo, reference);
    if (Status s = CheckReference(call, op, repo, reference); !s.ok()) return s;
    if (media_type.empty()) return ClientFailure(call, ErrorKind::kLocal, op, "media type missing");
    Digest local = Sha256Of(bytes);
    if (LooksLikeDigest(reference) && reference != local.str()) {
      return ClientFailure(call, ErrorKind::kLocal, op,
                           "manifest hashes to " + local.str() + ", not the reference");
    }
    HttpRequest req =
        Request("PUT", Api("/v2/" + std::string(repo) + "/manifests/" + std::string(reference)));
    req.headers.emplace_back("Content-Type", std::string(media_type));
    req.body = std::string(bytes);
    Result<HttpResponse> resp = Execute(call, op, {Push(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return HttpFailure(clock_, call, op, *resp);
    std::string announced = resp->Header("docker-content-digest");
    if (announced.rfind("sha256:", 0) == 0 && announced != local.str()) {
      return ClientFailure(call, ErrorKind::kDigestMismatch, op,
                           "registry stored " + announced + ", sent bytes hash to " + local.str());
    }
    return local;
  }

  Status DeleteManifest(Call& call, std::string_view repo, const Digest& digest) override {
    call.error = ClientError();
    std::string op = "DELETE manifest " + std::string(repo) + "@" + digest.str();
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    HttpRequest req = Request("DELETE", Api("/v2/" + std::string(repo) + "/manifests/" + digest.str()));
    Result<HttpResponse> resp = Execute(call, op, {Delete(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return HttpFailure(clock_, call, op, *resp);
    return Status::OK();
  }

  Result<uint64_t> HeadBlob(Call& call, std::string_view repo, const Digest& digest) override {
    call.error = ClientError();
    std::string op = "HEAD blob " + std::string(repo) + "@" + digest.str();
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    HttpRequest req = Request("HEAD", Api("/v2/" + std::string(repo) + "/blobs/" + digest.str()));
    Result<HttpResponse> resp = Execute(call, op, {Pull(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status != 200) return HttpFailure(clock_, call, op, *resp);
    std::optional<uint64_t> size = ParseLength(resp->Header("content-length"));
    if (!size) return ClientFailure(call, ErrorKind::kProtocol, op, "answer without Content-Length");
    return *size;
  }

  Result<uint64_t> GetBlob(Call& call, std::string_view repo, const Digest& digest, uint64_t offset,
                           const BlobSink& sink) override {
    call.error = ClientError();
    call.blob_size.reset();
    std::string op = "GET blob " + std::string(repo) + "@" + digest.str();
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    HttpRequest req = Request("GET", Api("/v2/" + std::string(repo) + "/blobs/" + digest.str()));
    if (offset > 0) req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-");
    uint64_t delivered = 0;
    uint64_t to_skip = 0;
    bool first = true;
    std::optional<Sha256> hasher;
    if (offset == 0) hasher.emplace();
    BodySink body = [&](const HttpResponse& head, std::span<const char> data) -> Status {
      if (first) {
        first = false;
        // A registry that ignores Range sends the whole blob with 200.
        if (offset > 0 && head.status == 200) to_skip = offset;
        call.blob_size = AnnouncedBlobSize(head.status, head.Header("content-range"), head.Header("content-length"),
                                           offset);
      }
      if (to_skip > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(to_skip, data.size()));
        to_skip -= n;
        data = data.subspan(n);
        if (data.empty()) return Status::OK();
      }
      if (hasher) hasher->Update(data);
      delivered += data.size();
      return sink(data);
    };
    Result<HttpResponse> resp = Execute(call, op, {Pull(repo)}, std::move(req), &body);
    if (!resp.ok()) return resp.status();
    if (resp->status != 200 && resp->status != 206) return HttpFailure(clock_, call, op, *resp);
    if (to_skip > 0)
      return ClientFailure(call, ErrorKind::kProtocol, op, "blob shorter than the requested offset");
    if (hasher) {
      Digest got = hasher->Finish();
      if (got != digest) {
        return ClientFailure(call, ErrorKind::kDigestMismatch, op, "downloaded bytes hash to " + got.str());
      }
    }
    return delivered;
  }

  Status DeleteBlob(Call& call, std::string_view repo, const Digest& digest) override {
    call.error = ClientError();
    std::string op = "DELETE blob " + std::string(repo) + "@" + digest.str();
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    HttpRequest req = Request("DELETE", Api("/v2/" + std::string(repo) + "/blobs/" + digest.str()));
    Result<HttpResponse> resp = Execute(call, op, {Delete(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return HttpFailure(clock_, call, op, *resp);
    return Status::OK();
  }

  Result<UploadState> StartUpload(Call& call, std::string_view repo) override {
    call.error = ClientError();
    std::string op = "start upload " + std::string(repo);
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    HttpRequest req = Request("POST", Api("/v2/" + std::string(repo) + "/blobs/uploads/"));
    Url at = req.url;
    Result<HttpResponse> resp = Execute(call, op, {Push(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status != 202) return HttpFailure(clock_, call, op, *resp);
    return SessionFrom(call, op, at, *resp, 0, /*need_location=*/true);
  }

  Result<MountResult> MountBlob(Call& call, std::string_view repo, const Digest& digest,
                                std::string_view from_repo) override {
    call.error = ClientError();
    std::string op =
        "mount " + digest.str() + " from " + std::string(from_repo) + " into " + std::string(repo);
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    if (Status s = CheckRepository(call, op, from_repo); !s.ok()) return s;
    Url url = Api("/v2/" + std::string(repo) + "/blobs/uploads/");
    url.AddQuery("mount", digest.str());
    url.AddQuery("from", from_repo);
    HttpRequest req = Request("POST", url);
    Result<HttpResponse> resp = Execute(call, op, {Push(repo), Pull(from_repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    MountResult out;
    if (resp->status == 201) {
      out.mounted = true;
      return out;
    }
    if (resp->status != 202) return HttpFailure(clock_, call, op, *resp);
    Result<UploadState> session = SessionFrom(call, op, url, *resp, 0, /*need_location=*/true);
    if (!session.ok()) return session.status();
    out.upload = std::move(session).value();
    return out;
  }

  Result<UploadState> GetUploadStatus(Call& call, std::string_view repo, std::string_view location) override {
    call.error = ClientError();
    std::string op = "upload status " + std::string(repo);
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    Result<Url> url = SessionUrl(call, op, location);
    if (!url.ok()) return url.status();
    Url at = *url;
    Result<HttpResponse> resp = Execute(call, op, {Push(repo)}, Request("GET", std::move(url).value()));
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return HttpFailure(clock_, call, op, *resp);
    if (!resp->Has("range")) return ClientFailure(call, ErrorKind::kProtocol, op, "answer without Range");
    return SessionFrom(call, op, at, *resp, 0, /*need_location=*/false);
  }

  Result<UploadState> UploadChunk(Call& call, std::string_view repo, std::string_view location,
                                  const FileSlice& chunk) override {
    call.error = ClientError();
    std::string op = "upload chunk " + std::string(repo) + " [" + std::to_string(chunk.offset) + ", " +
                     std::to_string(chunk.offset + chunk.length) + ")";
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    if (chunk.length == 0) return ClientFailure(call, ErrorKind::kLocal, op, "empty chunk");
    Result<Url> url = SessionUrl(call, op, location);
    if (!url.ok()) return url.status();
    Url at = *url;
    HttpRequest req = Request("PATCH", std::move(url).value());
    req.headers.emplace_back("Content-Type", "application/octet-stream");
    req.headers.emplace_back("Content-Range", std::to_string(chunk.offset) + "-" +
                                                  std::to_string(chunk.offset + chunk.length - 1));
    req.file = chunk;
    Result<HttpResponse> resp = Execute(call, op, {Push(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return HttpFailure(clock_, call, op, *resp);
    return SessionFrom(call, op, at, *resp, chunk.offset + chunk.length, /*need_location=*/false);
  }

  Result<Digest> FinishUpload(Call& call, std::string_view repo, std::string_view location,
                              const Digest& digest, const FileSlice* last_chunk) override {
    call.error = ClientError();
    std::string op = "finish upload " + std::string(repo) + "@" + digest.str();
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    Result<Url> url = SessionUrl(call, op, location);
    if (!url.ok()) return url.status();
    url->AddQuery("digest", digest.str());
    HttpRequest req = Request("PUT", std::move(url).value());
    req.headers.emplace_back("Content-Type", "application/octet-stream");
    if (last_chunk != nullptr && last_chunk->length > 0) {
      req.headers.emplace_back("Content-Range",
                               std::to_string(last_chunk->offset) + "-" +
                                   std::to_string(last_chunk->offset + last_chunk->length - 1));
      req.file = *last_chunk;
    }
    Result<HttpResponse> resp = Execute(call, op, {Push(repo)}, std::move(req));
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return HttpFailure(clock_, call, op, *resp);
    std::string stored = resp->Header("docker-content-digest");
    if (!stored.empty() && stored != digest.str()) {
      return ClientFailure(call, ErrorKind::kDigestMismatch, op, "registry stored " + stored);
    }
    return digest;
  }

  Status CancelUpload(Call& call, std::string_view repo, std::string_view location) override {
    call.error = ClientError();
    std::string op = "cancel upload " + std::string(repo);
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    Result<Url> url = SessionUrl(call, op, location);
    if (!url.ok()) return url.status();
    Result<HttpResponse> resp = Execute(call, op, {Push(repo)}, Request("DELETE", std::move(url).value()));
    if (!resp.ok()) return resp.status();
    if (resp->status / 100 != 2) return HttpFailure(clock_, call, op, *resp);
    return Status::OK();
  }

  Result<Digest> UploadBlob(Call& call, std::string_view repo, const Digest& digest,
                            const FileSlice& blob) override {
    Result<UploadState> session = StartUpload(call, repo);
    if (!session.ok()) return session.status();
    return FinishUpload(call, repo, session->location, digest, &blob);
  }

  Result<std::vector<std::string>> ListTags(Call& call, std::string_view repo, size_t page_size) override {
    call.error = ClientError();
    std::string op = "list tags " + std::string(repo);
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    Url url = Api("/v2/" + std::string(repo) + "/tags/list");
    if (page_size > 0) url.AddQuery("n", std::to_string(page_size));
    return List(call, op, {Pull(repo)}, std::move(url), "tags");
  }

  Result<std::vector<std::string>> Catalog(Call& call, size_t page_size) override {
    call.error = ClientError();
    Url url = Api("/v2/_catalog");
    if (page_size > 0) url.AddQuery("n", std::to_string(page_size));
    return List(call, "catalog", {"registry:catalog:*"}, std::move(url), "repositories");
  }

 private:
  // base URL + API path, keeping a path prefix the base URL may have.
  Url Api(const std::string& path) const {
    Url u = base_;
    std::string prefix(base_.path());
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    u.target = prefix + path;
    return u;
  }

  static HttpRequest Request(std::string method, Url url) {
    HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    return r;
  }

  static std::string Ref(std::string_view repo, std::string_view reference) {
    return std::string(repo) + (LooksLikeDigest(reference) ? "@" : ":") + std::string(reference);
  }

  static Status Prefixed(std::string_view op, const Status& s) {
    return Status(s.code(), std::string(op) + ": " + s.message());
  }

  static Status CheckRepository(Call& call, std::string_view op, std::string_view repo) {
    if (!IsValidRepositoryName(repo)) {
      return ClientFailure(call, ErrorKind::kLocal, op,
                           "invalid repository name \"" + std::string(repo) + "\"");
    }
    return Status::OK();
  }

  static Status CheckReference(Call& call, std::string_view op, std::string_view repo,
                               std::string_view reference) {
    if (Status s = CheckRepository(call, op, repo); !s.ok()) return s;
    if (LooksLikeDigest(reference) ? Digest::Parse(reference).ok() : IsValidTag(reference))
      return Status::OK();
    return ClientFailure(call, ErrorKind::kLocal, op,
                         "invalid tag or digest \"" + std::string(reference) + "\"");
  }

  // A session URL from the caller: absolute as returned by this client, or
  // relative to the registry.
  Result<Url> SessionUrl(Call& call, std::string_view op, std::string_view location) const {
    Result<Url> url = base_.Resolve(location);
    if (!url.ok()) return ClientFailure(call, ErrorKind::kLocal, op, url.status().message());
    return url;
  }

  // The session state an upload answer describes: its Location resolved
  // against the request URL (or `at` itself when absent and not required),
  // and its Range (or `assumed` when absent).
  Result<UploadState> SessionFrom(Call& call, std::string_view op, const Url& at, const HttpResponse& resp,
                                  uint64_t assumed, bool need_location) const {
    UploadState st;
    std::string location = resp.Header("location");
    if (location.empty()) {
      if (need_location) return ClientFailure(call, ErrorKind::kProtocol, op, "answer without Location");
      st.location = at.str();
    } else {
      Result<Url> next = at.Resolve(location);
      if (!next.ok())
        return ClientFailure(call, ErrorKind::kProtocol, op, "bad Location: " + next.status().message());
      st.location = next->str();
    }
    st.offset = assumed;
    if (resp.Has("range")) {
      Result<uint64_t> committed = ParseUploadRange(resp.Header("range"));
      if (!committed.ok()) return ClientFailure(call, ErrorKind::kProtocol, op, committed.status().message());
      st.offset = *committed;
    }
    return st;
  }

  Result<std::vector<std::string>> List(Call& call, const std::string& op, std::vector<std::string> scopes,
                                        Url url, const char* field) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (size_t page = 0; page < kMaxListPages; ++page) {
      if (!seen.insert(url.str()).second) break;  // a Link back to a page already read
      HttpRequest req = Request("GET", url);
      req.headers.emplace_back("Accept", "application/json");
      req.body_limit = kMaxListPageBytes;
      Result<HttpResponse> resp = Execute(call, op, scopes, std::move(req));
      if (!resp.ok()) return resp.status();
      if (resp->status != 200) return HttpFailure(clock_, call, op, *resp);
      nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) return ClientFailure(call, ErrorKind::kProtocol, op, "answer is not a JSON object");
      auto it = j.find(field);
      if (it != j.end() && it->is_array()) {
        for (const auto& v : *it) {
          if (v.is_string()) out.push_back(v.get<std::string>());
        }
      } else if (it != j.end() && !it->is_null()) {
        return ClientFailure(call, ErrorKind::kProtocol, op, std::string("\"") + field + "\" is not a list");
      }
      std::optional<std::string> next;
      for (const std::string& link : resp->HeaderAll("link")) {
        next = ParseNextLink(link);
        if (next) break;
      }
      if (!next) return out;
      Result<Url> n = url.Resolve(*next);
      if (!n.ok()) return ClientFailure(call, ErrorKind::kProtocol, op, "bad Link: " + n.status().message());
      url = std::move(n).value();
    }
    return out;
  }

  static bool HasAuthorization(const HttpRequest& r) {
    for (const auto& h : r.headers) {
      if (h.first == "Authorization") return true;  // the spelling Authenticator adds
    }
    return false;
  }

  // Learns the registry's auth scheme with an unauthenticated GET /v2/.
  Status Probe(Call& call, std::string_view op) {
    Result<HttpResponse> resp = transport_->Send(Request("GET", Api("/v2/")), call);
    if (!resp.ok()) return Prefixed(op, resp.status());
    auth_.Learn(*resp);
    if (auth_.known()) return Status::OK();
    if (resp->status == 401)
      return ClientFailure(call, ErrorKind::kAuth, op, "401 without a usable challenge");
    return HttpFailure(clock_, call, std::string(op) + " (GET /v2/)", *resp);
  }

  // Sends `req` with authorization for `scopes`: learns the auth scheme
  // first, retries once after a 401 with a fresh token or credentials, and
  // follows redirects of GET/HEAD. Returns the final answer whatever its
  // status; fails only when no answer could be had.
  Result<HttpResponse> Execute(Call& call, std::string_view op, std::vector<std::string> scopes,
                               HttpRequest req, const BodySink* sink = nullptr) {
    // A request without a body goes straight out: its 401 carries the same
    // challenge a GET /v2/ probe would (retried below), and an open
    // registry answers at once — the probe's round trip saved on every
    // fresh client's first requests (which go out together). A body is not
    // risked on an unknown scheme.
    const bool bodiless = !req.file && req.body.empty();
    const bool unknown = !auth_.known();
    if (unknown && !bodiless) {
      if (Status s = Probe(call, op); !s.ok()) return s;
    }
    const bool redirectable = req.method == "GET" || req.method == "HEAD";
    int redirects = 0;
    bool auth_retried = false;
    bool discovered = false;
    while (true) {
      HttpRequest attempt = req;
      if (Status s = auth_.Authorize(call, scopes, attempt); !s.ok()) return Prefixed(op, s);
      Result<HttpResponse> resp = transport_->Send(attempt, call, sink);
      if (!resp.ok()) return Prefixed(op, resp.status());
      // A write let through without credentials: this registry wants none
      // (a later 401 says otherwise), so bodies need no probe either.
      if (unknown && !auth_retried && resp->status / 100 == 2 && req.method != "GET" && req.method != "HEAD" &&
          req.url.Origin() == base_.Origin()) {
        auth_.Learn(*resp);
      }
      // The 401 of a request sent before the scheme was known is the probe's
      // answer: learn from it and send again (not the one retry a refused
      // token or credential gets; concurrent requests learn it too).
      if (resp->status == 401 && unknown && !discovered && req.url.Origin() == base_.Origin() &&
          !HasAuthorization(attempt)) {
        discovered = true;
        auth_.Learn(*resp);
        if (auth_.known()) continue;
      }
      if (resp->status == 401 && !auth_retried && req.url.Origin() == base_.Origin()) {
        auth_retried = true;
        if (auth_.OnUnauthorized(*resp, scopes)) continue;
      }
      if (redirectable && IsRedirect(resp->status) && resp->Has("location")) {
        if (++redirects > options_.max_redirects) {
          return ClientFailure(call, ErrorKind::kProtocol, op,
                               "more than " + std::to_string(options_.max_redirects) + " redirects");
        }
        Result<Url> next = req.url.Resolve(resp->Header("location"));
        if (!next.ok())
          return ClientFailure(call, ErrorKind::kProtocol, op, "bad redirect: " + next.status().message());
        req.url = std::move(next).value();
        continue;
      }
      return resp;
    }
  }

  ClientOptions options_;
  Url base_;
  std::unique_ptr<Transport> transport_;
  const Clock& clock_;
  Authenticator auth_;
};

}  // namespace

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(const ClientOptions& options, const Clock& clock) {
  std::string text = options.url;
  if (text.find("://") == std::string::npos) text = "https://" + text;
  Result<Url> base = Url::Parse(text);
  if (!base.ok()) return base.status();
  if (!base->query().empty())
    return Status::InvalidArgument("registry URL must not have a query: " + options.url);
  TransportOptions t;
  t.ca_pem = options.ca_pem;
  t.insecure = options.insecure;
  t.no_progress_timeout_ms = options.no_progress_timeout_seconds * 1000;
  t.max_idle_per_origin = options.max_idle_connections;
  t.io_size = options.io_size;
  t.user_agent = options.user_agent;
  Result<std::unique_ptr<Transport>> transport = Transport::Create(t);
  if (!transport.ok()) return transport.status();
  return std::unique_ptr<RegistryClient>(
      std::make_unique<ClientImpl>(options, std::move(base).value(), std::move(transport).value(), clock));
}

}  // namespace pier::client
