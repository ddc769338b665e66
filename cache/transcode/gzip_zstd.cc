#include "cache/transcode/gzip_zstd.h"

#include <unistd.h>
#include <zlib.h>
// ZSTD_getCParams (the level's default window) is in the experimental API;
// Debian's shared libzstd exports it.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"

namespace pier::transcode {
namespace {

constexpr size_t kInBytes = 256 << 10;
constexpr size_t kTarBytes = 1 << 20;
constexpr size_t kOutBytes = 1 << 20;

struct CctxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// The zstd side: compresses what it is given, hashes and hands on the frame.
class Encoder {
 public:
  Encoder(const ByteSink& out) : out_(out), buf_(kOutBytes) {}

  Status Init(const ZstdParams& p) {
    if (p.level < kMinLevel || p.level > kMaxLevel) {
      return Status::InvalidArgument("zstd level " + std::to_string(p.level) + " is outside " +
                                     std::to_string(kMinLevel) + ".." + std::to_string(kMaxLevel));
    }
    cctx_.reset(ZSTD_createCCtx());
    if (!cctx_) return Status::ResourceExhausted("zstd: no memory for a compression context");
    const int window = std::min<int>(ZSTD_getCParams(p.level, ZSTD_CONTENTSIZE_UNKNOWN, 0).windowLog, kMaxWindowLog);
    PIER_TRY(Set(ZSTD_c_compressionLevel, p.level));
    PIER_TRY(Set(ZSTD_c_windowLog, window));
    PIER_TRY(Set(ZSTD_c_checksumFlag, 1));
    // At least one worker even when asked for none: libzstd's output is the
    // same for every nbWorkers >= 1 but differs from nbWorkers == 0.
    PIER_TRY(Set(ZSTD_c_nbWorkers, std::max(1, p.workers)));
    return Status::OK();
  }

  Status Add(const char* data, size_t n) { return Run(data, n, ZSTD_e_continue); }
  Status End() {
    PIER_TRY(Run(nullptr, 0, ZSTD_e_end));
    return Emit();
  }

  Digest Finish() { return sha_.Finish(); }
  uint64_t size() const { return size_; }

 private:
  Status Set(ZSTD_cParameter param, int value) {
    size_t r = ZSTD_CCtx_setParameter(cctx_.get(), param, value);
    if (ZSTD_isError(r)) return Status::Internal(std::string("zstd parameter: ") + ZSTD_getErrorName(r));
    return Status::OK();
  }

  Status Run(const char* data, size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      ZSTD_outBuffer o{buf_.data() + pos_, buf_.size() - pos_, 0};
      size_t left = ZSTD_compressStream2(cctx_.get(), &o, &in, mode);
      if (ZSTD_isError(left)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(left));
      pos_ += o.pos;
      if (buf_.size() - pos_ < ZSTD_CStreamOutSize()) PIER_TRY(Emit());
      const bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
      if (done) return Status::OK();
    }
  }

  Status Emit() {
    if (pos_ == 0) return Status::OK();
    std::span<const char> bytes(buf_.data(), pos_);
    sha_.Update(bytes);
    size_ += pos_;
    pos_ = 0;
    return out_(bytes);
  }

  const ByteSink& out_;
  std::unique_ptr<ZSTD_CCtx, CctxFree> cctx_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  uint64_t size_ = 0;
  Sha256 sha_;
};

class Inflater {
 public:
  ~Inflater() {
    if (ready_) inflateEnd(&zs_);
  }
  Status Init() {
    std::memset(&zs_, 0, sizeof zs_);
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) return Status::ResourceExhausted("gzip: inflateInit failed");
    ready_ = true;
    return Status::OK();
  }
  z_stream& z() { return zs_; }

 private:
  z_stream zs_;
  bool ready_ = false;
};

}  // namespace

std::string ZstdOf(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  size_t n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(c);
  out.resize(ZSTD_isError(n) ? 0 : n);  // cannot fail: the buffer is the bound
  return out;
}

bool HasGzipMagic(std::span<const char> head) {
  return head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b;
}

Result<TranscodeResult> GzipToZstd(int fd, const ZstdParams& params, const ByteSink& out, std::stop_token stop) {
  return GzipToZstd([fd](uint64_t offset, std::span<char> data) { return ReadAt(fd, offset, data); }, params, out,
                    stop);
}

Result<TranscodeResult> GzipToZstd(const ReadAtFn& read, const ZstdParams& params, const ByteSink& out,
                                   std::stop_token stop) {
  Encoder enc(out);
  PIER_TRY(enc.Init(params));
  Inflater inf;
  PIER_TRY(inf.Init());
  z_stream& zs = inf.z();
  std::vector<char> in(kInBytes);
  std::vector<char> tar(kTarBytes);
  Sha256 diff;
  uint64_t offset = 0;      // gzip bytes read
  uint64_t tar_size = 0;
  bool member_done = false;  // the last member ended; more input starts another
  bool any = false;
  // One inflate call into `tar`, its output hashed and compressed; returns
  // inflate's code, or kSinkFailed with sink_error set.
  constexpr int kSinkFailed = -1000;
  Status sink_error;
  auto step = [&](size_t* produced) {
    zs.next_out = reinterpret_cast<Bytef*>(tar.data());
    zs.avail_out = static_cast<uInt>(tar.size());
    int r = inflate(&zs, Z_NO_FLUSH);
    *produced = tar.size() - zs.avail_out;
    if (*produced > 0) {
      diff.Update(std::span<const char>(tar.data(), *produced));
      tar_size += *produced;
      sink_error = enc.Add(tar.data(), *produced);
      if (!sink_error.ok()) return kSinkFailed;
    }
    return r;
  };
  for (;;) {
    if (stop.stop_requested()) return Status::Unavailable("stopped");
    Result<size_t> n = read(offset, std::span<char>(in.data(), in.size()));
    if (!n.ok()) return Status(n.status().code(), "reading the gzip layer: " + n.status().message());
    const size_t got = *n;
    if (got == 0) break;
    any = true;
    zs.next_in = reinterpret_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(got);
    const uint64_t chunk_start = offset;
    offset += static_cast<uint64_t>(got);
    while (zs.avail_in > 0) {
      if (member_done) {
        // Another member follows (gzip(1) concatenation); anything else is
        // not gzip and inflate says so below.
        inflateReset(&zs);
        member_done = false;
      }
      size_t produced = 0;
      int r = step(&produced);
      if (r == kSinkFailed) return sink_error;
      if (r == Z_STREAM_END) {
        member_done = true;
      } else if (r != Z_OK && !(r == Z_BUF_ERROR && produced == 0 && zs.avail_in == 0)) {
        const uint64_t at = chunk_start + (got - zs.avail_in);
        return Status::Corruption("gzip stream is corrupt at byte " + std::to_string(at) + ": " +
                                  (zs.msg != nullptr ? zs.msg : "inflate error " + std::to_string(r)));
      }
    }
    // Output may still be pending in inflate's window with no input left.
    while (!member_done) {
      size_t produced = 0;
      int r = step(&produced);
      if (r == kSinkFailed) return sink_error;
      if (r == Z_STREAM_END) member_done = true;
      if (produced == 0 || r != Z_OK) break;
    }
  }
  if (!any) return Status::Corruption("gzip stream is empty");
  if (!member_done) return Status::Corruption("gzip stream is truncated after " + std::to_string(offset) + " bytes");
  PIER_TRY(enc.End());
  TranscodeResult res;
  res.size = enc.size();
  res.digest = enc.Finish();
  res.diff_id = diff.Finish();
  res.tar_size = tar_size;
  res.gzip_size = offset;
  return res;
}

}  // namespace pier::transcode
