#pragma once
// The zstd level a transcoding push uses when its policy leaves it to Pier
// (level 0): the highest level whose compressor still produces at least
// three times what the destination's link carries, so transcodes running
// ahead of the link stay ahead of it (issue 13's rule).
//
// Output rates per level: what this store's own transcodes measured
// (Transcoder::OutputRate), else a table measured on a 2-core VM with the
// least compressible realistic content (a tar of /usr/bin and
// /usr/lib/x86_64-linux-gnu, 2 compression threads): 1: 150, 3: 70, 6: 28,
// 9: 16, 12: 7.5, 15: 2.2, 17: 1.0, 19: 0.7 MB/s of zstd output.
// The link rate: the destination's history (ProgressStore::LinkRate), else
// the policy's speed limit; unknown (a LAN, or nothing
// sent yet) gives kDefaultZstdLevel, fast enough for any link.
#include <functional>
#include <optional>

namespace pier::replication {

inline constexpr int kDefaultZstdLevel = 3;

int ChooseZstdLevel(std::optional<double> link_bytes_per_second,
                    const std::function<std::optional<double>(int level)>& measured_output_rate);

}  // namespace pier::replication
