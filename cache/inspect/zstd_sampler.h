#pragma once
// ZstdSampler: compresses a sample of a byte stream with libzstd to estimate
// what the whole would compress to (layer_summary.h says how it is used).
#include <cstdint>
#include <memory>
#include <span>

#include "base/status.h"

namespace pier::inspect {

class ZstdSampler {
 public:
  // 1 MiB of every `every_mib` MiB (1: all of it) at `level` (1..19).
  static Result<std::unique_ptr<ZstdSampler>> Make(int level, uint32_t every_mib);
  ~ZstdSampler();

  // The next bytes of the stream, in order.
  Status Add(std::span<const char> bytes);
  // Ends the zstd stream; the counts are final afterwards.
  Status Finish();

  uint64_t seen() const { return seen_; }
  uint64_t sampled_in() const { return sampled_in_; }
  uint64_t sampled_out() const { return sampled_out_; }

 private:
  struct Ctx;
  ZstdSampler(int level, uint32_t every_mib);
  Status Compress(std::span<const char> bytes, bool end);

  std::unique_ptr<Ctx> ctx_;
  uint32_t every_mib_;
  uint64_t seen_ = 0;
  uint64_t sampled_in_ = 0;
  uint64_t sampled_out_ = 0;
};

}  // namespace pier::inspect
