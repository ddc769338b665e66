// /v2/<name>/blobs/<digest>: HEAD, GET (with Range → 206), DELETE.
#include "adapter/registry/context.h"
#include "adapter/registry/ranges.h"
#include "base/digest.h"

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

http::Response Read(const Context& ctx, const Call& call, const Digest& d) {
  bool head = call.req.method == "HEAD";
  BlobInfo info;
  if (head) {
    Result<BlobInfo> st = ctx.store->StatBlob(call.route.name, d);
    if (!st.ok()) return FromStatus(st.status(), "BLOB_UNKNOWN");
    info = *st;
  }
  Result<UniqueFd> fd = head ? Result<UniqueFd>(UniqueFd()) : ctx.store->OpenBlob(call.route.name, d, &info);
  if (!fd.ok()) return FromStatus(fd.status(), "BLOB_UNKNOWN");
  return BlobBody(call, d, info.size, std::move(*fd));
}

}  // namespace

http::Response BlobBody(const Call& call, const Digest& d, uint64_t size, UniqueFd fd,
                        std::shared_ptr<GrowingFile> growing) {
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
    r.file = http::FileRange{std::move(fd), range.offset, range.length, std::move(growing)};
  }
  return r;
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
