// Dispatch: route → name validation → authentication → authorization →
// resource handler; plus the access log line for every request.
#include "adapter/registry/registry.h"

#include <algorithm>

#include "adapter/registry/context.h"
#include "adapter/http/access_log.h"
#include "cache/proxy/pull_through.h"
#include "base/log.h"
#include "base/names.h"

namespace pier::registry {
namespace {


unsigned RequiredActions(RouteKind kind, std::string_view method) {
  switch (kind) {
    case RouteKind::kBase:
    case RouteKind::kCatalog:
    case RouteKind::kNone: return 0;
    case RouteKind::kUploadStart: return auth::kPush;
    case RouteKind::kUpload:
      // Reading an upload's status is a pull, as in docker-registry: Harbor
      // asks for a `pull` token for that GET when it resumes a failed chunk.
      return method == "GET" ? auth::kPull : auth::kPush;
    case RouteKind::kManifest:
    case RouteKind::kBlob:
      if (method == "DELETE") return auth::kDelete;
      if (method == "PUT") return auth::kPush;
      return auth::kPull;
    case RouteKind::kTags:
    case RouteKind::kReferrers: return auth::kPull;
  }
  return 0;
}

// The actions a Bearer challenge asks for: push implies pull, as
// docker-registry's challenges say.
std::string ScopeActions(unsigned need) {
  if (need & auth::kPush) return "pull,push";
  if (need & auth::kDelete) return "delete";
  return "pull";
}

bool MethodAllowed(RouteKind kind, std::string_view m) {
  bool read = m == "GET" || m == "HEAD";
  switch (kind) {
    case RouteKind::kBase:
    case RouteKind::kCatalog:
    case RouteKind::kTags:
    case RouteKind::kReferrers: return read;
    case RouteKind::kManifest: return read || m == "PUT" || m == "DELETE";
    case RouteKind::kBlob: return read || m == "DELETE";
    case RouteKind::kUploadStart: return m == "POST";
    case RouteKind::kUpload: return m == "GET" || m == "PATCH" || m == "PUT" || m == "DELETE";
    case RouteKind::kNone: return false;
  }
  return false;
}

// GET/HEAD of a manifest or blob under a pull-through name: the upstream
// fill (network, disk) runs on the blocking pool, then the ordinary handler
// answers from the cache. The request and identity are copied: the exchange
// outlives the call that began it.
http::Exchange PullThrough(const Context& ctx, const http::Request& req, const Route& route,
                           const auth::Identity& who, const proxy::Target& target) {
  const bool manifest = route.kind == RouteKind::kManifest;
  std::optional<Digest> blob;
  if (!manifest) {
    Result<Digest> d = Digest::Parse(route.reference);
    if (!d.ok()) return HandleBlob(ctx, Call{req, route, who});  // answers DIGEST_INVALID
    blob = *d;
  } else if (!Digest::Parse(route.reference).ok() && !IsValidTag(route.reference)) {
    return HandleManifest(ctx, Call{req, route, who});  // answers the reference's problem
  }
  // Warm: answered like a hosted name, on the I/O thread.
  if (ctx.options.pull_through->Fresh(target, route.reference, blob.has_value())) {
    return blob ? HandleBlob(ctx, Call{req, route, who}) : HandleManifest(ctx, Call{req, route, who});
  }
  http::Exchange ex;
  ex.blocking = true;
  ex.finish = [&ctx, req, route, who, target, blob](http::BodyResult) -> http::Response {
    if (blob && req.method == "HEAD") {
      Result<uint64_t> size = ctx.options.pull_through->BlobSize(target, *blob);
      if (!size.ok()) return FromStatus(size.status(), "BLOB_UNKNOWN");
      http::Response r = Empty(200);
      r.Set("Content-Type", "application/octet-stream");
      r.Set("Docker-Content-Digest", blob->str());
      r.Set("Accept-Ranges", "bytes");
      r.head_length = *size;
      return r;
    }
    if (blob) {
      // Served from the download as it arrives; the ordinary handler when
      // the blob turned out to be stored.
      Result<proxy::PullThrough::BlobStream> stream = ctx.options.pull_through->StreamBlob(target, *blob);
      if (!stream.ok() && stream.status().code() != Code::kNotFound) return FromStatus(stream.status(), "BLOB_UNKNOWN");
      if (stream.ok() && !stream->stored) {
        return BlobBody(Call{req, route, who}, *blob, stream->size, std::move(stream->fd), std::move(stream->growing));
      }
    }
    Status s = blob ? Status::OK() : ctx.options.pull_through->EnsureManifest(target, route.reference);
    // NotFound: the ordinary handler answers with the right error code.
    if (!s.ok() && s.code() != Code::kNotFound) return FromStatus(s, blob ? "BLOB_UNKNOWN" : "MANIFEST_UNKNOWN");
    http::Exchange inner = blob ? HandleBlob(ctx, Call{req, route, who}) : HandleManifest(ctx, Call{req, route, who});
    if (inner.immediate) return std::move(*inner.immediate);
    return inner.finish(http::BodyResult{});
  };
  return ex;
}

bool IsWrite(RouteKind kind, std::string_view method) {
  return kind == RouteKind::kUploadStart || (kind == RouteKind::kUpload && method != "GET") ||
         (kind == RouteKind::kManifest && method == "PUT");
}

}  // namespace

struct RegistryHandler::Impl {
  Context ctx;

  // Basic credentials, or (token realm on) a bearer token Pier issued.
  Result<auth::Identity> Authenticate(const http::Request& req) const {
    std::string_view header = req.Header("authorization");
    std::string_view bearer;
    if (ctx.options.token && ctx.authorizer->enabled() && auth::ParseBearerAuthorization(header, &bearer)) {
      return ctx.options.token->Verify(bearer);
    }
    return ctx.authorizer->Authenticate(header);
  }

  http::Exchange Dispatch(const http::Request& req) {
    if (req.path == "/healthz" || req.path == "/readyz") {
      http::Response r;
      // Liveness stays a bare "ok"; readiness also reports storage pressure.
      r.body = req.path == "/readyz" ? ReadyBody(ctx, &r.status) : "ok\n";
      r.Set("Content-Type", "text/plain");
      return http::Reply(std::move(r));
    }
    Route route = ParseRoute(req.path);
    if (route.kind == RouteKind::kNone) {
      if (req.path.rfind("/v2/", 0) == 0) return http::Reply(OciError(404, "NAME_UNKNOWN", "unknown registry path"));
      http::Response r;
      r.status = 404;
      r.body = "404 page not found\n";
      r.Set("Content-Type", "text/plain");
      return http::Reply(std::move(r));
    }
    if (!MethodAllowed(route.kind, req.method)) {
      return http::Reply(OciError(405, "UNSUPPORTED", "method " + req.method + " not allowed here"));
    }
    bool has_name = route.kind != RouteKind::kBase && route.kind != RouteKind::kCatalog;
    if (has_name && !IsValidRepositoryName(route.name)) {
      // Upper case is the usual mistake (Docker Hub style "MyOrg/App"): say so.
      bool upper = std::any_of(route.name.begin(), route.name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
      return http::Reply(OciError(400, "NAME_INVALID",
                                  upper ? "invalid repository name: must be lowercase"
                                        : "invalid repository name: lowercase components of [a-z0-9] joined by "
                                          "'.', '_', '__' or '-', separated by '/', at most 255 characters",
                                  route.name.substr(0, 300)));
    }

    // A name served from an upstream is checked and stored under its local
    // name (<prefix>/<upstream repository>), whichever way it was addressed.
    std::optional<proxy::Target> proxied;
    if (has_name && ctx.options.pull_through) {
      std::optional<std::string> ns = req.Query("ns");
      proxied = ctx.options.pull_through->Resolve(route.name, ns ? std::optional<std::string_view>(*ns) : std::nullopt);
      if (proxied) route.name = proxied->local_repo;
    }

    unsigned need = RequiredActions(route.kind, req.method);
    std::string scope = route.kind == RouteKind::kCatalog ? "registry:catalog:*"
                        : need != 0                       ? "repository:" + route.name + ":" + ScopeActions(need)
                                                          : "";
    Result<auth::Identity> who = Authenticate(req);
    if (!who.ok()) {
      return http::Reply(Challenge(ctx, req, "authentication required: " + who.status().message(), scope));
    }
    bool token = who->grants != nullptr;
    if (ctx.authorizer->enabled() && who->anonymous && !token && route.kind == RouteKind::kBase) {
      return http::Reply(Challenge(ctx, req, "authentication required"));
    }
    if (need != 0 && !ctx.authorizer->Allowed(*who, route.name, need)) {
      // A token lacking the right is answered like docker-registry does, so
      // clients fetch a wider token; Basic users get the usual 403.
      if (token) return http::Reply(Challenge(ctx, req, "insufficient scope", scope, true));
      if (who->anonymous) return http::Reply(Challenge(ctx, req, "authentication required", scope));
      return http::Reply(OciError(403, "DENIED", "requested access to the resource is denied"));
    }
    // The catalog needs registry:catalog:* in a token; what it lists is then
    // what the token's subject may pull under the ACL.
    auth::Identity subject = *who;
    if (token && route.kind == RouteKind::kCatalog) {
      if (!auth::GrantsCatalog(*who->grants)) {
        return http::Reply(Challenge(ctx, req, "insufficient scope", scope, true));
      }
      subject.grants = nullptr;
    }

    if (proxied) {
      const proxy::Upstream& up = ctx.options.pull_through->upstreams()[proxied->upstream];
      if (IsWrite(route.kind, req.method)) {
        return http::Reply(OciError(405, "UNSUPPORTED",
                                    route.name + " is a pull-through cache of " + up.url + " (upstream " + up.name +
                                        "): push to the upstream instead"));
      }
      if ((route.kind == RouteKind::kManifest || route.kind == RouteKind::kBlob) && req.method != "DELETE") {
        return PullThrough(ctx, req, route, subject, *proxied);
      }
    }
    Call call{req, route, subject};
    switch (route.kind) {
      case RouteKind::kBase: {
        http::Response r = Empty(200);
        r.body = "{}";
        r.Set("Content-Type", "application/json");
        return http::Reply(std::move(r));
      }
      case RouteKind::kCatalog: return HandleCatalog(ctx, call);
      case RouteKind::kTags: return HandleTags(ctx, call);
      case RouteKind::kManifest: return HandleManifest(ctx, call);
      case RouteKind::kBlob: return HandleBlob(ctx, call);
      case RouteKind::kUploadStart: return HandleUploadStart(ctx, call);
      case RouteKind::kUpload: return HandleUpload(ctx, call);
      case RouteKind::kReferrers: return HandleReferrers(ctx, call);
      case RouteKind::kNone: break;
    }
    return http::Reply(OciError(404, "NAME_UNKNOWN", "unknown registry path"));
  }
};

RegistryHandler::RegistryHandler(std::shared_ptr<Store> store, std::shared_ptr<auth::Authorizer> authorizer,
                                 RegistryOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->ctx.store = std::move(store);
  impl_->ctx.authorizer = std::move(authorizer);
  // A trailing slash would double up with the "/v2/..." paths appended to it.
  while (!options.public_url.empty() && options.public_url.back() == '/') options.public_url.pop_back();
  impl_->ctx.options = std::move(options);
}

http::Exchange RegistryHandler::Begin(const http::Request& req) {
  http::Exchange ex = impl_->Dispatch(req);
  if (!impl_->ctx.options.access_log) return ex;
  // One access-log line per request, written when the response is decided.
  http::AccessLog log_line(req, true);
  if (ex.immediate) {
    log_line(*ex.immediate);
    return ex;
  }
  ex.finish = [inner = std::move(ex.finish), log_line](http::BodyResult body) {
    http::Response r = inner(std::move(body));
    log_line(r);
    return r;
  };
  return ex;
}

http::Response Empty(int status) {
  http::Response r;
  r.status = status;
  AddCommonHeaders(r);
  return r;
}

Result<std::optional<size_t>> ParseLimit(const http::Request& req) {
  auto n = req.Query("n");
  if (!n) return std::optional<size_t>();
  if (n->empty() || n->size() > 9) return Status::InvalidArgument("n must be a non-negative integer");
  size_t v = 0;
  for (char c : *n) {
    if (c < '0' || c > '9') return Status::InvalidArgument("n must be a non-negative integer");
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return std::optional<size_t>(v);
}

std::string NextLink(const Context& ctx, std::string_view path, size_t n, std::string_view last) {
  return "<" + ctx.Url(path) + "?n=" + std::to_string(n) + "&last=" + http::PercentEncode(last) + ">; rel=\"next\"";
}

}  // namespace pier::registry
