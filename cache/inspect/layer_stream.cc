#include "cache/inspect/layer_stream.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace pier::inspect {
namespace {

constexpr size_t kInBytes = 256 << 10;

bool StartsWith(const char* p, size_t n, std::initializer_list<unsigned char> magic) {
  if (n < magic.size()) return false;
  size_t i = 0;
  for (unsigned char m : magic) {
    if (static_cast<unsigned char>(p[i++]) != m) return false;
  }
  return true;
}

}  // namespace

struct LayerStream::Codec {
  z_stream zs{};
  bool zs_ready = false;
  ZSTD_DCtx* zd = nullptr;
  ~Codec() {
    if (zs_ready) inflateEnd(&zs);
    ZSTD_freeDCtx(zd);
  }
};

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
    case Compression::kNone: break;
  }
  return "none";
}

Result<Compression> ParseCompression(std::string_view name) {
  if (name == "none") return Compression::kNone;
  if (name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  return Status::InvalidArgument("unknown compression \"" + std::string(name) + "\"");
}

LayerStream::LayerStream(ByteSource& blob) : blob_(blob), codec_(std::make_unique<Codec>()), in_(kInBytes) {}
LayerStream::~LayerStream() = default;

Result<std::unique_ptr<LayerStream>> LayerStream::Open(ByteSource& blob) {
  std::unique_ptr<LayerStream> s(new LayerStream(blob));
  // A full first buffer, so the magic is seen even from a source that
  // hands out a byte at a time.
  Result<size_t> n = ReadFull(blob, std::span<char>(s->in_));
  PIER_TRY(n);
  s->in_len_ = *n;
  s->eof_ = *n < s->in_.size();
  s->compressed_bytes_ = *n;
  s->blob_sha_.Update(std::span<const char>(s->in_.data(), *n));
  if (StartsWith(s->in_.data(), *n, {0x1f, 0x8b})) {
    s->compression_ = Compression::kGzip;
    if (inflateInit2(&s->codec_->zs, 16 + MAX_WBITS) != Z_OK) return Status::ResourceExhausted("gzip: inflateInit failed");
    s->codec_->zs_ready = true;
  } else if (StartsWith(s->in_.data(), *n, {0x28, 0xb5, 0x2f, 0xfd})) {
    s->compression_ = Compression::kZstd;
    s->codec_->zd = ZSTD_createDCtx();
    if (s->codec_->zd == nullptr) return Status::ResourceExhausted("zstd: no memory for a decompression context");
  }
  return s;
}

Status LayerStream::Refill() {
  if (in_pos_ < in_len_ || eof_) return Status::OK();
  Result<size_t> n = blob_.Read(std::span<char>(in_));
  PIER_TRY(n);
  in_pos_ = 0;
  in_len_ = *n;
  eof_ = *n == 0;
  compressed_bytes_ += *n;
  blob_sha_.Update(std::span<const char>(in_.data(), *n));
  return Status::OK();
}

Status LayerStream::Corrupt(std::string_view what) const {
  const uint64_t at = compressed_bytes_ - (in_len_ - in_pos_);
  return Status::Corruption(std::string(CompressionName(compression_)) + " stream " + std::string(what) +
                            " at compressed byte " + std::to_string(at));
}

void LayerStream::Finish() {
  if (done_) return;
  done_ = true;
  digest_ = blob_sha_.Finish();
  diff_id_ = tar_sha_.Finish();
}

Result<size_t> LayerStream::Read(std::span<char> out) {
  if (done_ || out.empty()) return size_t{0};
  Result<size_t> n = compression_ == Compression::kGzip   ? ReadGzip(out)
                     : compression_ == Compression::kZstd ? ReadZstd(out)
                                                          : ReadPlain(out);
  PIER_TRY(n);
  if (*n == 0) {
    Finish();
  } else {
    tar_bytes_ += *n;
    tar_sha_.Update(std::span<const char>(out.data(), *n));
  }
  return n;
}

Result<size_t> LayerStream::ReadPlain(std::span<char> out) {
  PIER_TRY(Refill());
  const size_t n = std::min(out.size(), in_len_ - in_pos_);
  std::memcpy(out.data(), in_.data() + in_pos_, n);
  in_pos_ += n;
  return n;
}

Result<size_t> LayerStream::ReadGzip(std::span<char> out) {
  z_stream& zs = codec_->zs;
  for (;;) {
    PIER_TRY(Refill());
    const bool input_left = in_pos_ < in_len_;
    if (frame_done_) {
      if (!input_left) return size_t{0};
      // Another member follows (gzip(1) concatenation); anything that is
      // not a gzip header makes inflate fail below.
      inflateReset(&zs);
      frame_done_ = false;
    }
    zs.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
    zs.avail_in = static_cast<uInt>(in_len_ - in_pos_);
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size(), 1u << 30));
    const uInt out_room = zs.avail_out;
    const int r = inflate(&zs, Z_NO_FLUSH);
    in_pos_ = in_len_ - zs.avail_in;
    const size_t produced = out_room - zs.avail_out;
    if (r == Z_STREAM_END) {
      frame_done_ = true;
    } else if (r == Z_BUF_ERROR) {
      // No progress possible: more input is needed, and there is none.
      if (in_pos_ == in_len_ && eof_) return Corrupt("is truncated");
    } else if (r != Z_OK) {
      return Corrupt(std::string("is corrupt (") + (zs.msg != nullptr ? zs.msg : "inflate error " + std::to_string(r)) + ")");
    }
    if (produced > 0) return produced;
  }
}

Result<size_t> LayerStream::ReadZstd(std::span<char> out) {
  for (;;) {
    PIER_TRY(Refill());
    ZSTD_inBuffer in{in_.data() + in_pos_, in_len_ - in_pos_, 0};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    const size_t r = ZSTD_decompressStream(codec_->zd, &o, &in);
    if (ZSTD_isError(r)) return Corrupt(std::string("is corrupt (") + ZSTD_getErrorName(r) + ")");
    in_pos_ += in.pos;
    // 0: a frame ended and everything it holds was handed out; the next
    // call starts another frame if input is left. A call that did nothing
    // (no input left) says nothing about the last frame.
    if (in.pos > 0 || o.pos > 0) frame_done_ = r == 0;
    if (o.pos > 0) return o.pos;
    if (in_pos_ == in_len_ && eof_) {
      if (frame_done_) return size_t{0};
      return Corrupt("is truncated");
    }
  }
}

}  // namespace pier::inspect
