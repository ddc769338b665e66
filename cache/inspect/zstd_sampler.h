#pragma once
// ZstdSampler: what a byte stream compresses to with zstd at a level, either
// exactly (every == 1: one zstd stream over all of it, as zstd(1) makes it
// up to frame headers) or estimated from a sample.
//
// Sampling: the stream is cut in 1 MiB units and every `every`th unit is
// compressed, each as its own frame with the 2 MiB of stream before it as a
// zstd prefix (what level 3's window would have seen there: without it a
// sample misses every match into the skipped bytes). The estimate is
// seen × sampled_out / sampled_in.
//
// How close it comes, measured against zstd -3 of 24-25 MB tars of this
// machine's files: one unit in four was 6-13 % off on /usr/share/doc (text
// and .gz files mixed by package: a few 1 MiB units decide), one in two
// 3-9 %. A ratio estimator (scaling by level 1 over everything) and smaller
// units did no better on those tars. Hence exact is InspectOptions' default
// (it costs a level-3 pass, about what inflating the layer costs) and
// sampling is for high levels, where a pass over everything is slow.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"

namespace pier::inspect {

class ZstdSampler {
 public:
  static constexpr uint64_t kUnitBytes = 1 << 20;
  // zstd level 3's window for a stream of unknown size.
  static constexpr size_t kHistoryBytes = 2 << 20;

  // One unit in `every` (1: all of it, exact) at `level` (1..19).
  static Result<std::unique_ptr<ZstdSampler>> Make(int level, uint32_t every);
  ~ZstdSampler();

  // The next bytes of the stream, in order.
  Status Add(std::span<const char> bytes);
  // Compresses what is pending; the figures are final afterwards.
  Status Finish();

  bool exact() const { return every_ == 1; }
  uint64_t seen() const { return seen_; }
  uint64_t sampled_in() const { return sampled_in_; }
  uint64_t sampled_out() const { return sampled_out_; }
  uint64_t Estimate() const;

 private:
  struct Ctx;
  explicit ZstdSampler(uint32_t every);
  Status Stream(std::span<const char> bytes, bool end);
  Status CompressUnit();
  void Remember(std::span<const char> bytes);

  std::unique_ptr<Ctx> ctx_;
  uint32_t every_;
  uint64_t seen_ = 0;
  uint64_t sampled_in_ = 0;
  uint64_t sampled_out_ = 0;
  std::string unit_;     // the sampled unit being gathered
  std::string history_;  // the stream's last bytes, kHistoryBytes to twice that
};

}  // namespace pier::inspect
