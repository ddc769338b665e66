#include "cache/inspect/zstd_sampler.h"

#include <zstd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pier::inspect {
namespace {
constexpr uint64_t kMiB = 1 << 20;
}

struct ZstdSampler::Ctx {
  ZSTD_CCtx* cctx = nullptr;
  std::vector<char> out;
  ~Ctx() { ZSTD_freeCCtx(cctx); }
};

ZstdSampler::ZstdSampler(int, uint32_t every_mib) : ctx_(std::make_unique<Ctx>()), every_mib_(every_mib) {}
ZstdSampler::~ZstdSampler() = default;

Result<std::unique_ptr<ZstdSampler>> ZstdSampler::Make(int level, uint32_t every_mib) {
  if (level < 1 || level > 19) return Status::InvalidArgument("zstd level " + std::to_string(level) + " is outside 1..19");
  if (every_mib == 0) return Status::InvalidArgument("zstd sample interval must be at least 1 MiB");
  std::unique_ptr<ZstdSampler> s(new ZstdSampler(level, every_mib));
  s->ctx_->cctx = ZSTD_createCCtx();
  if (s->ctx_->cctx == nullptr) return Status::ResourceExhausted("zstd: no memory for a compression context");
  ZSTD_CCtx_setParameter(s->ctx_->cctx, ZSTD_c_compressionLevel, level);
  s->ctx_->out.resize(ZSTD_CStreamOutSize());
  return s;
}

Status ZstdSampler::Add(std::span<const char> b) {
  while (!b.empty()) {
    // Up to the next MiB boundary, compressed or not as a whole.
    const uint64_t in_mib = kMiB - seen_ % kMiB;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(in_mib, b.size()));
    if ((seen_ / kMiB) % every_mib_ == 0) {
      PIER_TRY(Compress(b.first(take), false));
      sampled_in_ += take;
    }
    seen_ += take;
    b = b.subspan(take);
  }
  return Status::OK();
}

Status ZstdSampler::Finish() { return Compress({}, true); }

Status ZstdSampler::Compress(std::span<const char> bytes, bool end) {
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  for (;;) {
    ZSTD_outBuffer o{ctx_->out.data(), ctx_->out.size(), 0};
    const size_t left = ZSTD_compressStream2(ctx_->cctx, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(left));
    sampled_out_ += o.pos;
    if (end ? left == 0 : in.pos == in.size) return Status::OK();
  }
}

}  // namespace pier::inspect
