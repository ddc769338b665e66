#include "cache/inspect/zstd_sampler.h"

#include <zstd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pier::inspect {

struct ZstdSampler::Ctx {
  ZSTD_CCtx* cctx = nullptr;
  std::vector<char> out;
  ~Ctx() { ZSTD_freeCCtx(cctx); }
};

ZstdSampler::ZstdSampler(uint32_t every) : ctx_(std::make_unique<Ctx>()), every_(every) {}
ZstdSampler::~ZstdSampler() = default;

Result<std::unique_ptr<ZstdSampler>> ZstdSampler::Make(int level, uint32_t every) {
  if (level < 1 || level > 19) return Status::InvalidArgument("zstd level " + std::to_string(level) + " is outside 1..19");
  if (every == 0) return Status::InvalidArgument("zstd sample interval must be at least 1");
  std::unique_ptr<ZstdSampler> s(new ZstdSampler(every));
  s->ctx_->cctx = ZSTD_createCCtx();
  if (s->ctx_->cctx == nullptr) return Status::ResourceExhausted("zstd: no memory for a compression context");
  const size_t r = ZSTD_CCtx_setParameter(s->ctx_->cctx, ZSTD_c_compressionLevel, level);
  if (ZSTD_isError(r)) return Status::Internal(std::string("zstd parameter: ") + ZSTD_getErrorName(r));
  s->ctx_->out.resize(every == 1 ? ZSTD_CStreamOutSize() : ZSTD_compressBound(kUnitBytes));
  return s;
}

Status ZstdSampler::Add(std::span<const char> b) {
  if (every_ == 1) {
    seen_ += b.size();
    sampled_in_ += b.size();
    return Stream(b, false);
  }
  while (!b.empty()) {
    // Up to the next unit boundary, sampled or not as a whole.
    const size_t take = static_cast<size_t>(std::min<uint64_t>(kUnitBytes - seen_ % kUnitBytes, b.size()));
    const std::span<const char> part = b.first(take);
    if ((seen_ / kUnitBytes) % every_ == 0) {
      unit_.append(part.data(), part.size());
      if (unit_.size() == kUnitBytes) PIER_TRY(CompressUnit());
    } else {
      Remember(part);
    }
    seen_ += take;
    b = b.subspan(take);
  }
  return Status::OK();
}

Status ZstdSampler::Finish() {
  if (every_ == 1) return Stream({}, true);
  if (!unit_.empty()) PIER_TRY(CompressUnit());
  return Status::OK();
}

uint64_t ZstdSampler::Estimate() const {
  if (every_ == 1 || sampled_in_ == 0) return sampled_out_;
  return static_cast<uint64_t>(static_cast<double>(seen_) * static_cast<double>(sampled_out_) /
                               static_cast<double>(sampled_in_));
}

void ZstdSampler::Remember(std::span<const char> b) {
  history_.append(b.data(), b.size());
  if (history_.size() > 2 * kHistoryBytes) history_.erase(0, history_.size() - kHistoryBytes);
}

Status ZstdSampler::CompressUnit() {
  const size_t keep = std::min(history_.size(), kHistoryBytes);
  // A prefix holds for the next frame only: one frame per unit.
  size_t r = ZSTD_CCtx_refPrefix(ctx_->cctx, history_.data() + history_.size() - keep, keep);
  if (ZSTD_isError(r)) return Status::Internal(std::string("zstd prefix: ") + ZSTD_getErrorName(r));
  r = ZSTD_compress2(ctx_->cctx, ctx_->out.data(), ctx_->out.size(), unit_.data(), unit_.size());
  if (ZSTD_isError(r)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(r));
  sampled_in_ += unit_.size();
  sampled_out_ += r;
  Remember(unit_);
  unit_.clear();
  return Status::OK();
}

Status ZstdSampler::Stream(std::span<const char> bytes, bool end) {
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
