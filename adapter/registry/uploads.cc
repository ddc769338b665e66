// /v2/<name>/blobs/uploads/[<uuid>]: start (POST, also monolithic ?digest=
// and cross-repo ?mount=&from=), chunk (PATCH, with or without
// Content-Range, chunked transfer encoding welcome), status (GET), close
// (PUT ?digest=), cancel (DELETE). The store owns the resumable state; this
// file only maps HTTP onto it.
//
// Disk space (space.cc): a start, a chunk or a closing PUT that carries bytes
// is refused up front (403 DENIED "no space left on device") while the data
// folder is below its reserve, and so is a body that would take it below
// while it streams (checked every kSpaceCheckEvery bytes); an actual ENOSPC
// gets the same answer. Either way the session keeps its last acknowledged
// offset (a monolithic upload is dropped), so nothing is half-written.
// Not refused, because they add no blob bytes: a cross-repository mount,
// and a PUT without a body that only commits bytes already on disk (a
// RocksDB batch of a few hundred bytes, which the reserve is there for;
// refusing it would throw away a whole uploaded layer).
#include <optional>

#include "adapter/registry/context.h"
#include "base/internal_errors.h"
#include "adapter/registry/ranges.h"
#include "base/digest.h"
#include "cache/layout.h"
#include "base/names.h"

namespace pier::registry {
namespace {

std::string UploadPath(std::string_view name, std::string_view uuid) {
  return "/v2/" + std::string(name) + "/blobs/uploads/" + std::string(uuid);
}

// "0-<last byte>" as registry:2 writes it (an empty upload reads "0-0").
std::string RangeValue(uint64_t size) { return "0-" + std::to_string(size == 0 ? 0 : size - 1); }

http::Response Accepted(const Context& ctx, std::string_view name, std::string_view uuid, uint64_t size) {
  http::Response r = Empty(202);
  r.Set("Location", ctx.Url(UploadPath(name, uuid)));
  r.Set("Range", RangeValue(size));
  r.Set("Docker-Upload-UUID", std::string(uuid));
  return r;
}

http::Response Created(const Context& ctx, std::string_view name, const Digest& d) {
  http::Response r = Empty(201);
  r.Set("Location", ctx.Url("/v2/" + std::string(name) + "/blobs/" + d.str()));
  r.Set("Docker-Content-Digest", d.str());
  return r;
}

http::Response UploadError(const Context& ctx, const Status& s, std::string_view name, std::string_view uuid) {
  http::Response r = FromStatus(s, "BLOB_UPLOAD_UNKNOWN");
  if (r.status == 416 || r.status == 409) {
    // Tell the client where the session really is so it can resend from there.
    r.status = 416;
    Result<UploadState> st = ctx.store->GetUpload(name, uuid);
    if (st.ok()) {
      r.Set("Range", RangeValue(st->offset));
      r.Set("Location", ctx.Url(UploadPath(name, uuid)));
      r.Set("Docker-Upload-UUID", std::string(uuid));
    }
  }
  return r;
}

// A streaming body looks at the reserve again after this many bytes.
constexpr uint64_t kSpaceCheckEvery = 1 << 20;

// Streams the request body into an UploadWriter, stopping (ResourceExhausted)
// when the disk falls below its reserve.
struct WriterSink : http::BodySink {
  WriterSink(std::unique_ptr<UploadWriter> w, DiskSpace* s) : writer(std::move(w)), space(s) {}
  Status Write(std::span<const char> data) override {
    since_check += data.size();
    if (space != nullptr && since_check >= kSpaceCheckEvery) {
      since_check = 0;
      PIER_TRY(space->CheckReserve());
    }
    return writer->Append(data);
  }
  std::unique_ptr<UploadWriter> writer;
  DiskSpace* space;  // null: no reserve checks
  uint64_t since_check = 0;
};

struct ChunkPlan {
  std::optional<ChunkRange> range;
  std::optional<uint64_t> expected_offset;
};

// Reads Content-Range and checks it agrees with Content-Length.
Result<ChunkPlan> PlanChunk(const http::Request& req) {
  ChunkPlan plan;
  std::string_view cr = req.Header("content-range");
  if (cr.empty()) return plan;
  Result<ChunkRange> r = ParseContentRange(cr);
  if (!r.ok()) return r.status();
  if (req.content_length && *req.content_length != r->length()) {
    return Status::InvalidArgument("Content-Range length " + std::to_string(r->length()) +
                                   " disagrees with Content-Length " + std::to_string(*req.content_length));
  }
  plan.range = *r;
  plan.expected_offset = r->first;
  return plan;
}

// An exchange that streams the body into `uuid` and then runs `done` with the
// writer on the blocking pool. Cut-short bodies and size mismatches discard
// what this request appended, so only whole chunks ever count.
http::Exchange StreamInto(const Context& ctx, const Call& call, std::string uuid, std::optional<uint64_t> expected,
                          std::optional<ChunkRange> range, bool ephemeral,
                          std::function<http::Response(UploadWriter&)> done) {
  const std::string& name = call.route.name;
  // Bytes announced: refused up front unless they fit above the reserve.
  const uint64_t announced = call.req.content_length.value_or(0);
  if (announced > 0 || call.req.chunked) {
    if (auto refused = RefuseIfLow(ctx, announced)) {
      if (ephemeral) {
        if (Status s = ctx.store->CancelUpload(name, uuid); !s.ok())
          ReportInternalError("registry", "cancelling a refused monolithic upload failed", s);
      }
      return http::Reply(std::move(*refused));
    }
  }
  Result<std::unique_ptr<UploadWriter>> w = ctx.store->OpenWriter(name, uuid, expected);
  if (!w.ok()) return http::Reply(UploadError(ctx, w.status(), name, uuid));
  uint64_t start = (*w)->size();
  auto sink = std::make_shared<WriterSink>(std::move(*w), ctx.options.disk_space.get());
  http::Exchange ex;
  ex.mode = http::BodyMode::kStream;
  ex.sink = sink;
  ex.blocking = true;
  ex.finish = [&ctx, sink, name, uuid, start, range, ephemeral, done = std::move(done)](http::BodyResult body) {
    UploadWriter& writer = *sink->writer;
    std::optional<http::Response> failure;
    if (body.status.code() == Code::kResourceExhausted) {
      failure = WriteFailed(ctx, body.status, "BLOB_UPLOAD_UNKNOWN");  // reserve reached, or ENOSPC
    } else if (!body.status.ok()) {
      failure = OciError(400, "BLOB_UPLOAD_INVALID", "upload body incomplete: " + body.status.message());
    } else if (range && writer.size() - start != range->length()) {
      failure = OciError(400, "SIZE_INVALID", "received " + std::to_string(writer.size() - start) +
                                                  " bytes, Content-Range announced " + std::to_string(range->length()));
    }
    if (!failure) return done(writer);
    writer.Abort();
    if (ephemeral) {
      // A monolithic POST has no session the client could resume.
      sink->writer.reset();
      if (Status s = ctx.store->CancelUpload(name, uuid); !s.ok())
        ReportInternalError("registry", "cancelling a failed monolithic upload failed", s);
    }
    return std::move(*failure);
  };
  return ex;
}

http::Exchange StartMonolithic(const Context& ctx, const Call& call, const Digest& digest) {
  const std::string& name = call.route.name;
  // Quota first, on the announced size: refused before any byte is sent.
  if (Status q = ctx.store->CheckQuota(name, call.req.content_length.value_or(0)); !q.ok()) {
    return http::Reply(FromStatus(q, "BLOB_UPLOAD_UNKNOWN"));
  }
  if (auto refused = RefuseIfLow(ctx, call.req.content_length.value_or(0))) return http::Reply(std::move(*refused));
  Result<UploadState> st = ctx.store->StartUpload(name);
  if (!st.ok()) return http::Reply(WriteFailed(ctx, st.status(), "BLOB_UPLOAD_UNKNOWN"));
  return StreamInto(ctx, call, st->uuid, 0, std::nullopt, /*ephemeral=*/true, [&ctx, name, digest](UploadWriter& w) {
    Result<BlobInfo> info = w.Commit(digest);
    if (!info.ok()) return WriteFailed(ctx, info.status(), "BLOB_UPLOAD_UNKNOWN");
    return Created(ctx, name, digest);
  });
}

}  // namespace

http::Exchange HandleUploadStart(const Context& ctx, const Call& call) {
  const http::Request& req = call.req;
  const std::string& name = call.route.name;

  std::optional<std::string> digest_param = req.Query("digest");
  if (digest_param) {
    Result<Digest> d = Digest::Parse(*digest_param);
    if (!d.ok()) return http::Reply(OciError(400, "DIGEST_INVALID", d.status().message()));
    return StartMonolithic(ctx, call, *d);
  }

  // Cross-repository mount: only from a repository the caller may pull.
  std::optional<Digest> mount;
  std::string from;
  if (auto m = req.Query("mount")) {
    Result<Digest> d = Digest::Parse(*m);
    if (!d.ok()) return http::Reply(OciError(400, "DIGEST_INVALID", d.status().message()));
    auto f = req.Query("from");
    if (f && IsValidRepositoryName(*f) && ctx.authorizer->Allowed(call.who, *f, auth::kPull)) {
      mount = *d;
      from = *f;
    }
  }

  http::Exchange ex;
  ex.blocking = true;
  ex.finish = [&ctx, name, mount, from](http::BodyResult) {
    if (mount) {
      Result<BlobInfo> info = ctx.store->MountBlob(name, from, *mount);
      if (info.ok()) return Created(ctx, name, *mount);
      // Over quota: an upload would be refused the same way.
      if (info.status().code() == Code::kQuotaExceeded) return FromStatus(info.status(), "BLOB_UPLOAD_UNKNOWN");
      // Not mountable: fall back to an ordinary upload session, as the spec says.
    }
    // Harbor refuses an upload start once the project is over its quota.
    if (Status q = ctx.store->CheckQuota(name, 0); !q.ok()) return FromStatus(q, "BLOB_UPLOAD_UNKNOWN");
    // A session is for bytes to come: not below the reserve. (A mount adds
    // none and went ahead above.)
    if (auto refused = RefuseIfLow(ctx)) return std::move(*refused);
    Result<UploadState> st = ctx.store->StartUpload(name);
    if (!st.ok()) return WriteFailed(ctx, st.status(), "BLOB_UPLOAD_UNKNOWN");
    return Accepted(ctx, name, st->uuid, 0);
  };
  return ex;
}

http::Exchange HandleUpload(const Context& ctx, const Call& call) {
  const http::Request& req = call.req;
  const std::string& name = call.route.name;
  const std::string& uuid = call.route.reference;
  if (!IsValidUploadId(uuid)) return http::Reply(OciError(404, "BLOB_UPLOAD_UNKNOWN", "unknown upload id"));

  if (req.method == "GET") {
    Result<UploadState> st = ctx.store->GetUpload(name, uuid);
    if (!st.ok()) return http::Reply(FromStatus(st.status(), "BLOB_UPLOAD_UNKNOWN"));
    http::Response r = Accepted(ctx, name, uuid, st->offset);
    r.status = 204;
    return http::Reply(std::move(r));
  }
  if (req.method == "DELETE") {
    http::Exchange ex;
    ex.blocking = true;
    ex.finish = [&ctx, name, uuid](http::BodyResult) {
      Status s = ctx.store->CancelUpload(name, uuid);
      if (!s.ok()) return FromStatus(s, "BLOB_UPLOAD_UNKNOWN");
      return Empty(204);
    };
    return ex;
  }

  Result<ChunkPlan> plan = PlanChunk(req);
  if (!plan.ok()) return http::Reply(OciError(400, "BLOB_UPLOAD_INVALID", plan.status().message()));

  if (req.method == "PATCH") {
    return StreamInto(ctx, call, uuid, plan->expected_offset, plan->range, false, [&ctx, name, uuid](UploadWriter& w) {
      Status s = w.Flush();
      if (!s.ok()) return WriteFailed(ctx, s, "BLOB_UPLOAD_UNKNOWN");
      return Accepted(ctx, name, uuid, w.size());
    });
  }

  // PUT ?digest= closes the session, optionally with a last chunk.
  std::optional<std::string> digest_param = req.Query("digest");
  if (!digest_param) return http::Reply(OciError(400, "DIGEST_INVALID", "digest query parameter is required"));
  Result<Digest> d = Digest::Parse(*digest_param);
  if (!d.ok()) return http::Reply(OciError(400, "DIGEST_INVALID", d.status().message()));
  return StreamInto(ctx, call, uuid, plan->expected_offset, plan->range, false, [&ctx, name, digest = *d](UploadWriter& w) {
    Result<BlobInfo> info = w.Commit(digest);
    if (!info.ok()) return WriteFailed(ctx, info.status(), "BLOB_UPLOAD_UNKNOWN");
    return Created(ctx, name, digest);
  });
}

}  // namespace pier::registry
