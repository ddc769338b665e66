#pragma once
// RegistryClient: Pier's client for remote registries that speak the OCI
// Distribution API (docker-registry/registry:2, Harbor, Aliyun ACR, Pier).
// The replication engine pushes through it; pull-through will read with it.
//
// The contract, for every method:
//  - It blocks the calling thread until done and is safe to call from many
//    threads at once on one client (connections are pooled per host; auth
//    tokens are shared).
//  - It is interruptible: requesting `call.stop` ends it promptly (the socket
//    is closed under a transfer in flight) with call.error.kind kCancelled.
//  - It never gives up on a slow transfer, only on one that stalls: no byte
//    moved for ClientOptions::no_progress_timeout_seconds → kTimeout.
//  - It returns OK, or a Status whose message names the operation, the
//    HTTP status and the registry's error code; call.error holds the same in
//    machine-readable form (ErrorKind, status, code, Retry-After).
//  - 404 answers come back as Status code NotFound (kind kNotFound).
//  - Authentication is automatic (see ClientOptions); credentials and
//    tokens are never logged.
//  - Blob bytes are streamed: uploads read a FileSlice with pread(2) in
//    io_size pieces, each paced by call.limiter first; downloads go to a sink.
//
// Repository names and references are checked against the OCI grammar
// before anything is sent (InvalidArgument, kind kLocal).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/client/call.h"
#include "base/clock.h"
#include "base/digest.h"
#include "base/status.h"

namespace pier::client {

struct ClientOptions {
  // Base URL of the registry: scheme, host, optional port, optional path
  // prefix before /v2/. "https://registry.cn-hangzhou.aliyuncs.com",
  // "http://127.0.0.1:5000". A URL without scheme is taken as https.
  std::string url;
  // Empty username: anonymous (anonymous Bearer tokens are still fetched).
  std::string username;
  std::string password;
  // Extra trusted CA certificates (PEM text, one or more), trusted in
  // addition to the system store.
  std::string ca_pem;
  // Do not verify the server's certificate or host name.
  bool insecure = false;
  // A transfer (or connect, or wait for an answer) fails when no byte moves
  // for this long. There is deliberately no total-time limit.
  int no_progress_timeout_seconds = 60;
  // Idle keep-alive connections kept per host.
  size_t max_idle_connections = 4;
  // Bytes per socket write of a blob body (and per RateLimiter::Acquire).
  size_t io_size = 64 * 1024;
  // Redirects followed by GET/HEAD (blob downloads are often redirected to
  // object storage). Authorization is never sent to another origin.
  int max_redirects = 5;
  std::string user_agent = "pier-registry-client/0.1";
};

// The manifest media types this client asks for (Accept) on HEAD and GET:
// OCI manifest and index, Docker schema2 manifest and manifest list, and the
// OCI artifact manifest.
extern const char* const kManifestMediaTypes[5];

struct ManifestInfo {
  Digest digest;
  std::string media_type;
  uint64_t size = 0;
};

struct Manifest {
  std::string bytes;
  std::string media_type;
  Digest digest;  // sha256 of `bytes`, verified against what was asked and announced
};

// Where an upload session stands: the URL to use for the next request
// (always absolute; registry:2 changes its `_state` query on every answer,
// so always continue with the latest) and the bytes the registry committed.
struct UploadState {
  std::string location;
  uint64_t offset = 0;
};

struct MountResult {
  bool mounted = false;  // true: the blob is in the repository now (201)
  UploadState upload;    // when not mounted: a fresh session to upload into (202)
};

// Receives a blob's bytes in order; a non-OK Status aborts the download
// (kind kLocal) and is returned.
using BlobSink = std::function<Status(std::span<const char>)>;

class RegistryClient {
 public:
  // Checks the options (URL syntax, CA PEM). Sends nothing.
  // InvalidArgument when the URL or the CA certificate is unusable.
  // `clock` (which must outlive the client) times token expiry and turns
  // Retry-After dates into seconds.
  static Result<std::unique_ptr<RegistryClient>> Create(const ClientOptions& options,
                                                        const Clock& clock = SystemClock());
  virtual ~RegistryClient() = default;

  // GET /v2/, authenticating as needed: Harbor's "is the endpoint healthy".
  // OK: reachable and the credentials (if any) are accepted. Failure kinds:
  // kAuth (the registry or its token realm refused the credentials);
  // kNetwork/kTls/kTimeout (unreachable); kNotFound/kRemote4xx/kRemote5xx/
  // kProtocol (something answers, but not a working registry API: 404, 503).
  virtual Status Ping(Call& call) = 0;

  // HEAD a manifest by tag or digest. Returns its digest (from
  // Docker-Content-Digest; when the registry omits it, from the digest
  // reference or a GET), media type and size. NotFound when absent.
  virtual Result<ManifestInfo> HeadManifest(Call& call, std::string_view repo,
                                            std::string_view reference) = 0;

  // GET a manifest (at most 4 MiB) by tag or digest, Accepting every kind
  // in kManifestMediaTypes. The bytes are verified against the requested
  // digest and the announced Docker-Content-Digest (kDigestMismatch).
  // NotFound when absent.
  virtual Result<Manifest> GetManifest(Call& call, std::string_view repo, std::string_view reference) = 0;

  // PUT a manifest under a tag or its digest with Content-Type `media_type`.
  // Returns its digest (sha256 of `bytes`); kDigestMismatch if the registry
  // announces another. Registry refusals (MANIFEST_BLOB_UNKNOWN,
  // MANIFEST_INVALID...) come back as kRemote4xx with the code.
  virtual Result<Digest> PutManifest(Call& call, std::string_view repo, std::string_view reference,
                                     std::string_view media_type, std::string_view bytes) = 0;

  // DELETE a manifest by digest. NotFound when absent; kRemote4xx
  // (UNSUPPORTED) when the registry does not allow deletes.
  virtual Status DeleteManifest(Call& call, std::string_view repo, const Digest& digest) = 0;

  // HEAD a blob. Returns its size. NotFound when the repository lacks it.
  virtual Result<uint64_t> HeadBlob(Call& call, std::string_view repo, const Digest& digest) = 0;

  // GET a blob from byte `offset` on (Range: bytes=offset-) into `sink`,
  // following redirects (without Authorization to other hosts). Returns the
  // bytes delivered. When offset is 0 the bytes are hashed on the way and a
  // wrong digest fails with kDigestMismatch after the last byte went to the
  // sink (the caller discards what it wrote); with an offset the caller
  // verifies. A registry that ignores Range is handled (skipped bytes are
  // not delivered). NotFound when absent.
  virtual Result<uint64_t> GetBlob(Call& call, std::string_view repo, const Digest& digest, uint64_t offset,
                                   const BlobSink& sink) = 0;

  // DELETE a blob. NotFound when absent; kRemote4xx when deletes are off.
  virtual Status DeleteBlob(Call& call, std::string_view repo, const Digest& digest) = 0;

  // POST /v2/<repo>/blobs/uploads/: opens an upload session. Returns its
  // absolute Location and offset 0. kProtocol when no Location comes back.
  virtual Result<UploadState> StartUpload(Call& call, std::string_view repo) = 0;

  // POST ?mount=<digest>&from=<from_repo>: asks the registry to link a blob
  // it already holds in another repository. Returns mounted (201), or a
  // session to upload into (202: the registry could not or would not mount).
  virtual Result<MountResult> MountBlob(Call& call, std::string_view repo, const Digest& digest,
                                        std::string_view from_repo) = 0;

  // GET <location>: how many bytes the session has committed (from `Range`,
  // see ParseUploadRange for the "0-0" rule: read as 0) and the Location to
  // continue with. NotFound when the registry no longer knows the session:
  // expired, cancelled, or — registry:2 — poisoned by a PATCH cut off
  // mid-body (registry:2 keeps the partial bytes but not their offset and
  // discards the session: BLOB_UPLOAD_INVALID). Then start a new upload.
  virtual Result<UploadState> GetUploadStatus(Call& call, std::string_view repo,
                                              std::string_view location) = 0;

  // PATCH <location> with bytes [chunk.offset, chunk.offset + chunk.length)
  // of the blob file `chunk.fd` (so chunk.offset is the blob offset), with
  // `Content-Range: <first>-<last>`, streamed and paced. Returns the next
  // Location and the committed offset the registry reports (chunk end when
  // it reports none). A chunk that does not start at the registry's offset
  // fails with kRemote4xx/OutOfRange (416) on spec-following registries;
  // registry:2 ignores Content-Range and appends, so the caller must only
  // send from the committed offset. A cut transfer leaves the session in
  // the state GetUploadStatus reports.
  virtual Result<UploadState> UploadChunk(Call& call, std::string_view repo, std::string_view location,
                                          const FileSlice& chunk) = 0;

  // PUT <location>?digest=<digest> (appended with & when the Location has a
  // query) closing the session, optionally carrying a last chunk. Returns the
  // digest the registry stored. kDigestMismatch when the registry finds the
  // bytes do not hash to `digest` (DIGEST_INVALID) or announces another.
  virtual Result<Digest> FinishUpload(Call& call, std::string_view repo, std::string_view location,
                                      const Digest& digest, const FileSlice* last_chunk) = 0;

  // DELETE <location>: abandons the session. NotFound when already gone.
  virtual Status CancelUpload(Call& call, std::string_view repo, std::string_view location) = 0;

  // Monolithic upload for small blobs: POST a session, then PUT the whole
  // blob with ?digest=. Returns the stored digest (as FinishUpload).
  virtual Result<Digest> UploadBlob(Call& call, std::string_view repo, const Digest& digest,
                                    const FileSlice& blob) = 0;

  // Every tag of a repository, following `Link: <...>; rel="next"` across
  // pages of `page_size` (0: the registry's default page). NotFound when the
  // repository is unknown.
  virtual Result<std::vector<std::string>> ListTags(Call& call, std::string_view repo,
                                                    size_t page_size = 0) = 0;

  // Every repository in the registry (GET /v2/_catalog), following Link
  // pages. kAuth when the credentials may not list the catalog.
  virtual Result<std::vector<std::string>> Catalog(Call& call, size_t page_size = 0) = 0;

  // Connections opened so far (keep-alive reuse shows as a small number).
  virtual uint64_t connections_opened() const = 0;
};

}  // namespace pier::client
