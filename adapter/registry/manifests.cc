// /v2/<name>/manifests/<reference>: HEAD, GET (with content negotiation over
// every Accept line), PUT (by tag or digest, all reference checks), DELETE.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "adapter/registry/context.h"
#include "base/digest.h"
#include "base/manifest.h"
#include "base/names.h"

namespace pier::registry {
namespace {

bool Accepts(const std::vector<std::string>& accept, std::string_view media_type) {
  for (const std::string& a : accept) {
    std::string_view t = a;
    t = t.substr(0, t.find(';'));  // drop parameters such as q=
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (t == media_type || t == "*/*") return true;
  }
  return false;
}

bool NamesAnyManifestType(const std::vector<std::string>& accept) {
  for (std::string_view t : {media::kOciManifest, media::kOciIndex, media::kDockerManifest, media::kDockerList}) {
    for (const std::string& a : accept) {
      if (std::string_view(a).substr(0, t.size()) == t) return true;
    }
  }
  return false;
}

// registry:2's fallback for clients that do not understand indexes: serve
// the linux/amd64 image of a list when its type is acceptable.
std::optional<Digest> AmdChild(const StoredManifest& m) {
  auto j = nlohmann::json::parse(m.bytes, nullptr, false);
  if (j.is_discarded() || !j.contains("manifests") || !j["manifests"].is_array()) return std::nullopt;
  for (const auto& c : j["manifests"]) {
    if (!c.is_object() || !c.contains("platform") || !c["platform"].is_object()) continue;
    const auto& p = c["platform"];
    if (p.value("os", "") == "linux" && p.value("architecture", "") == "amd64" && c.contains("digest") &&
        c["digest"].is_string()) {
      Result<Digest> d = Digest::Parse(c["digest"].get<std::string>());
      if (d.ok()) return *d;
    }
  }
  return std::nullopt;
}

http::Response Serve(const Context& ctx, const Call& call) {
  Result<StoredManifest> m = ctx.store->GetManifest(call.route.name, call.route.reference);
  if (!m.ok()) return FromStatus(m.status(), "MANIFEST_UNKNOWN");
  // Tag retention's pull time (latestPulledN, nDaysSinceLastPull): the
  // artifact named, even when content negotiation serves an index's child.
  if (call.req.method == "GET") ctx.store->NotePull(call.route.name, m->digest);
  std::vector<std::string> accept = call.req.HeaderList("accept");
  if (!accept.empty() && NamesAnyManifestType(accept) && !Accepts(accept, m->media_type)) {
    std::optional<Digest> child = IsIndexMediaType(m->media_type) ? AmdChild(*m) : std::nullopt;
    Result<StoredManifest> alt = child ? ctx.store->GetManifest(call.route.name, child->str())
                                       : Result<StoredManifest>(Status::NotFound(""));
    if (!alt.ok() || !Accepts(accept, alt->media_type)) {
      return OciError(404, "MANIFEST_UNKNOWN",
                      "manifest is " + m->media_type + ", which the Accept header does not allow");
    }
    m = std::move(alt);
  }
  http::Response r = Empty(200);
  r.Set("Content-Type", m->media_type);
  r.Set("Docker-Content-Digest", m->digest.str());
  r.Set("ETag", "\"" + m->digest.str() + "\"");
  if (call.req.method == "HEAD") {
    r.head_length = m->bytes.size();
  } else {
    r.body = std::move(m->bytes);
  }
  return r;
}

http::Response StoreManifest(const Context& ctx, const std::string& name, const std::string& reference,
                     const std::string& content_type, http::BodyResult body) {
  if (!body.status.ok()) {
    if (body.status.code() == Code::kSizeInvalid) {
      return OciError(413, "SIZE_INVALID", "manifest larger than " + std::to_string(ctx.options.manifest_limit) +
                                                " bytes");
    }
    return OciError(400, "MANIFEST_INVALID", "manifest body incomplete: " + body.status.message());
  }
  Result<ParsedManifest> parsed = ParseManifest(content_type, body.buffered);
  if (!parsed.ok()) return OciError(400, "MANIFEST_INVALID", parsed.status().message());

  std::optional<std::string_view> tag;
  if (LooksLikeDigest(reference)) {
    Result<Digest> want = Digest::Parse(reference);
    if (!want.ok()) return OciError(400, "DIGEST_INVALID", want.status().message());
    Digest got = Sha256Of(body.buffered);
    if (!(got == *want)) {
      return OciError(400, "DIGEST_INVALID", "manifest digest is " + got.str() + ", not " + want->str());
    }
  } else {
    tag = reference;
  }
  Result<Digest> d = ctx.store->PutManifest(name, tag, parsed->media_type, body.buffered, *parsed);
  if (!d.ok()) {
    if (d.status().code() == Code::kNotFound) {
      return OciError(400, "MANIFEST_BLOB_UNKNOWN", d.status().message());
    }
    return WriteFailed(ctx, d.status(), "MANIFEST_UNKNOWN");
  }
  if (ctx.options.on_event) ctx.options.on_event(ManifestEvent{false, name, reference, d->str()});
  http::Response r = Empty(201);
  r.Set("Location", ctx.Url("/v2/" + name + "/manifests/" + d->str()));
  r.Set("Docker-Content-Digest", d->str());
  if (parsed->subject) r.Set("OCI-Subject", parsed->subject->digest.str());
  return r;
}

http::Response Delete(const Context& ctx, const std::string& name, const std::string& reference) {
  if (!LooksLikeDigest(reference)) {
    Status s = ctx.store->DeleteTag(name, reference);
    if (s.ok() && ctx.options.on_event) ctx.options.on_event(ManifestEvent{true, name, reference, ""});
    return s.ok() ? Empty(202) : WriteFailed(ctx, s, "MANIFEST_UNKNOWN");
  }
  Result<Digest> d = Digest::Parse(reference);
  if (!d.ok()) return OciError(400, "DIGEST_INVALID", d.status().message());
  Status s = ctx.store->DeleteManifest(name, *d);
  if (s.ok() && ctx.options.on_event) ctx.options.on_event(ManifestEvent{true, name, reference, d->str()});
  return s.ok() ? Empty(202) : WriteFailed(ctx, s, "MANIFEST_UNKNOWN");
}

}  // namespace

http::Exchange HandleManifest(const Context& ctx, const Call& call) {
  const std::string& ref = call.route.reference;
  if (LooksLikeDigest(ref)) {
    Result<Digest> d = Digest::Parse(ref);
    if (!d.ok()) return http::Reply(OciError(400, "DIGEST_INVALID", d.status().message()));
  } else if (!IsValidTag(ref)) {
    // A manifest cannot exist under a tag that cannot be stored: reads and
    // deletes answer "unknown" (the conformance suite asks so), a PUT names
    // the problem.
    if (call.req.method != "PUT") {
      return http::Reply(OciError(404, "MANIFEST_UNKNOWN", "no manifest can exist under an invalid tag",
                                  ref.substr(0, 200)));
    }
    return http::Reply(OciError(400, "TAG_INVALID", "invalid tag: up to 128 of [A-Za-z0-9_.-], not starting with . or -",
                                ref.substr(0, 200)));
  }

  const std::string& m = call.req.method;
  if (m == "GET" || m == "HEAD") return http::Reply(Serve(ctx, call));

  http::Exchange ex;
  ex.blocking = true;
  if (m == "DELETE") {
    ex.finish = [&ctx, name = call.route.name, ref](http::BodyResult) { return Delete(ctx, name, ref); };
    return ex;
  }
  ex.mode = http::BodyMode::kBuffer;
  ex.buffer_limit = ctx.options.manifest_limit;
  ex.finish = [&ctx, name = call.route.name, ref, ct = std::string(call.req.Header("content-type"))](
                  http::BodyResult body) { return StoreManifest(ctx, name, ref, ct, std::move(body)); };
  return ex;
}

}  // namespace pier::registry
