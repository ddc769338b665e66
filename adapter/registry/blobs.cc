// /v2/<name>/blobs/<digest>: HEAD, GET (with Range → 206), DELETE.
#include "adapter/registry/context.h"
#include "adapter/registry/ranges.h"
#include "base/digest.h"
#include "cache/blob_stream.h"

namespace pier::registry {
namespace {

void BlobHeaders(http::Response& r, const Digest& d) {
  r.Set("Content-Type", "application/octet-stream");
  r.Set("Docker-Content-Digest", d.str());
  r.Set("ETag", "\"" + d.str() + "\"");
  r.Set("Accept-Ranges", "bytes");
  // Content-addressed: the bytes behind a digest never change.
  r.Set("Cache-Control", "max-age=31536000");
}

// How long a presigned redirect stays valid: long enough for a slow client
// to start a big layer, short enough that a leaked URL soon expires.
constexpr int kRedirectSeconds = 20 * 60;

http::Response Read(const Context& ctx, const Call& call, const Digest& d) {
  bool head = call.req.method == "HEAD";
  BlobInfo info;
  if (head) {
    Result<BlobInfo> st = ctx.store->StatBlob(call.route.name, d);
    if (!st.ok()) return FromStatus(st.status(), "BLOB_UNKNOWN");
    return BlobBody(call, d, st->size, UniqueFd());
  }
  auto reader = ctx.store->OpenBlobReader(call.route.name, d, &info);
  if (!reader.ok()) return FromStatus(reader.status(), "BLOB_UNKNOWN");
  if ((*reader)->fd() >= 0) {
    auto fd = (*reader)->TakeFd();
    if (!fd.ok()) return FromStatus(fd.status(), "BLOB_UNKNOWN");
    return BlobBody(call, d, info.size, std::move(*fd));
  }
  // Remote bytes (S3): the object store answers directly when allowed
  // (storage.s3.redirect, as registry:2's `redirect`), else they stream
  // through here. The ACL was checked above, before any URL is handed out.
  if (auto url = ctx.store->blob_storage().RedirectUrl(d, kRedirectSeconds)) {
    http::Response r = Empty(307);
    r.Set("Location", *url);
    r.Set("Docker-Content-Digest", d.str());
    return r;
  }
  return BlobBody(call, d, info.size, std::move(*reader));
}

// Range handling shared by file and stream bodies: 200, 206 or 416, with
// `attach` filling in the body for the chosen range.
template <typename Attach>
http::Response RangedBlob(const Call& call, const Digest& d, uint64_t size, Attach attach) {
  http::Response r = Empty(200);
  BlobHeaders(r, d);
  ByteRange range{0, size};
  std::string_view range_header = call.req.Header("range");
  if (!range_header.empty()) {
    Result<ByteRange> parsed = ParseRangeHeader(range_header, size);
    if (parsed.status().code() == Code::kOutOfRange) {
      http::Response e = OciError(416, "BLOB_UNKNOWN", "requested range not satisfiable");
      e.Set("Content-Range", "bytes */" + std::to_string(size));
      return e;
    }
    if (parsed.ok()) {
      range = *parsed;
      r.status = 206;
      r.Set("Content-Range", "bytes " + std::to_string(range.offset) + "-" +
                                 std::to_string(range.offset + range.length - 1) + "/" + std::to_string(size));
    }
  }
  if (call.req.method == "HEAD") {
    r.head_length = range.length;
  } else {
    attach(r, range);
  }
  return r;
}

}  // namespace

http::Response BlobBody(const Call& call, const Digest& d, uint64_t size, UniqueFd fd,
                        std::shared_ptr<GrowingFile> growing) {
  return RangedBlob(call, d, size, [&](http::Response& r, ByteRange range) {
    r.file = http::FileRange{std::move(fd), range.offset, range.length, std::move(growing)};
  });
}

http::Response BlobBody(const Call& call, const Digest& d, uint64_t size, std::unique_ptr<BlobReader> reader) {
  return RangedBlob(call, d, size, [&](http::Response& r, ByteRange range) {
    if (range.length == 0) return;  // an empty blob: no producer needed
    r.stream = StreamBlobRange(std::move(reader), range.offset, range.length);
    r.stream_length = range.length;
  });
}

http::Exchange HandleBlob(const Context& ctx, const Call& call) {
  Result<Digest> d = Digest::Parse(call.route.reference);
  if (!d.ok()) return http::Reply(OciError(400, "DIGEST_INVALID", d.status().message()));
  if (call.req.method != "DELETE") return http::Reply(Read(ctx, call, *d));

  http::Exchange ex;
  ex.blocking = true;
  ex.finish = [&ctx, name = call.route.name, digest = *d](http::BodyResult) {
    Status s = ctx.store->DeleteBlob(name, digest);
    if (!s.ok()) return WriteFailed(ctx, s, "BLOB_UNKNOWN");
    return Empty(202);
  };
  return ex;
}

}  // namespace pier::registry
