#pragma once
// Internal to adapter/registry: what every resource handler gets, and the
// handler entry points (one file per API resource).
#include <memory>
#include <optional>
#include <string>

#include "adapter/auth/auth.h"
#include "adapter/http/message.h"
#include "adapter/registry/errors.h"
#include "adapter/registry/registry.h"
#include "adapter/registry/route.h"
#include "cache/store.h"

namespace pier::registry {

struct Context {
  std::shared_ptr<Store> store;
  std::shared_ptr<auth::Authorizer> authorizer;
  RegistryOptions options;

  // public_url + path (or just path when no public URL is configured).
  std::string Url(std::string_view path) const { return options.public_url + std::string(path); }
};

// A request that passed routing, name validation and authorization.
struct Call {
  const http::Request& req;
  const Route& route;
  const auth::Identity& who;
};

http::Exchange HandleBlob(const Context& ctx, const Call& call);
// A GET of blob `d` (`size` bytes) answered from `fd`, honouring Range:
// 200, 206 or 416. `growing` when the file is still being filled.
http::Response BlobBody(const Call& call, const Digest& d, uint64_t size, UniqueFd fd,
                        std::shared_ptr<GrowingFile> growing = nullptr);
// The same from a reader without a descriptor (blob bytes in S3): streamed
// through a bounded pipe by a reader thread.
http::Response BlobBody(const Call& call, const Digest& d, uint64_t size, std::unique_ptr<BlobReader> reader);
http::Exchange HandleUploadStart(const Context& ctx, const Call& call);
http::Exchange HandleUpload(const Context& ctx, const Call& call);
http::Exchange HandleManifest(const Context& ctx, const Call& call);
http::Exchange HandleTags(const Context& ctx, const Call& call);
http::Exchange HandleCatalog(const Context& ctx, const Call& call);
http::Exchange HandleReferrers(const Context& ctx, const Call& call);

// A 401 with the challenge the registry's auth mode calls for: Basic, or
// Bearer naming the token realm, service and `scope` ("" = none) and, when
// `insufficient`, error="insufficient_scope" (a token that lacks the right).
http::Response Challenge(const Context& ctx, const http::Request& req, std::string_view message,
                         std::string_view scope = {}, bool insufficient = false);
// The Bearer realm URL for this request (see RegistryOptions::token_realm).
std::string TokenRealm(const Context& ctx, const http::Request& req);

// Disk space (space.cc). A write that would add bytes is refused up front
// while the data folder is below its reserve (RegistryOptions::disk_space):
// the refusal (403 DENIED "no space left on device", counted) when `need`
// more bytes do not fit above the reserve, nullopt to go on.
std::optional<http::Response> RefuseIfLow(const Context& ctx, uint64_t need = 0);
// FromStatus for a failed write; a full disk (ResourceExhausted) is also
// counted as a space refusal and makes the next check read the disk afresh.
http::Response WriteFailed(const Context& ctx, const Status& s, std::string_view not_found_code);
// The /readyz body: "ok", plus a storage line while below the reserve.
// *status: 503 while the records or the blob storage do not answer
// (Store::CheckHealth: a replica whose database or bucket is away leaves
// the Service), else 200.
std::string ReadyBody(const Context& ctx, int* status);

// Shared helpers.
http::Response Empty(int status);  // no body, common headers
// Parses the `n` query parameter: nullopt when absent; InvalidArgument when not a number.
Result<std::optional<size_t>> ParseLimit(const http::Request& req);
// `<url>; rel="next"` value for a Link header.
std::string NextLink(const Context& ctx, std::string_view path, size_t n, std::string_view last);

}  // namespace pier::registry
