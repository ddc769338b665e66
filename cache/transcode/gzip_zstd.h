#pragma once
// GzipToZstd: one gzip layer in, one zstd frame out, streamed (bounded
// memory whatever the layer's size), with the digests a manifest and its
// config need: sha256 of the zstd bytes (the new layer digest) and of the
// uncompressed tar (the config's diff_id, which must not change).
//
// Promises:
//  - the frame is decodable by every client that supports zstd: window at
//    most 2^27 (libzstd's default decoder limit; klauspost's, used by
//    containerd and containers/image, is 2^29), no long-distance matching,
//    a content checksum;
//  - the output depends only on the input and the level, not on the
//    number of worker threads (libzstd's multithreaded mode is
//    deterministic for any nbWorkers >= 1; workers == 0 is single-threaded
//    and forced to 1 here so both agree), so a transcode made again after
//    its blob was collected has the same digest and an interrupted upload
//    of it resumes;
//  - concatenated gzip members are one stream (gzip(1) semantics); a
//    corrupt or truncated gzip stream is Corruption naming the byte offset,
//    and nothing is promised about what `out` received before it.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <stop_token>

#include "base/digest.h"
#include "base/status.h"

namespace pier::transcode {

inline constexpr int kMaxWindowLog = 27;
inline constexpr int kMinLevel = 1;
inline constexpr int kMaxLevel = 19;

struct ZstdParams {
  int level = 3;    // kMinLevel..kMaxLevel
  int workers = 2;  // compression threads beside the caller's
};

struct TranscodeResult {
  Digest digest;  // sha256 of the zstd bytes
  uint64_t size = 0;
  Digest diff_id;  // sha256 of the uncompressed bytes
  uint64_t tar_size = 0;
  uint64_t gzip_size = 0;
};

// Receives the zstd bytes in order; a non-OK Status ends the transcode.
using ByteSink = std::function<Status(std::span<const char>)>;

// Reads up to out.size() bytes at `offset`, fewer only at the end (0 past
// it): a local file's pread or a remote blob's ranged reads (BlobReader).
using ReadAtFn = std::function<Result<size_t>(uint64_t offset, std::span<char> out)>;

// Reads the gzip stream from offset 0 to its end, in order. A stop request
// ends it with Unavailable("stopped").
Result<TranscodeResult> GzipToZstd(const ReadAtFn& read, const ZstdParams& params, const ByteSink& out,
                                   std::stop_token stop = {});
// The same from `fd` (pread, so the fd may be shared).
Result<TranscodeResult> GzipToZstd(int fd, const ZstdParams& params, const ByteSink& out,
                                   std::stop_token stop = {});

// `data` as one zstd frame (level 3, content size and checksum recorded):
// for small things, e.g. the probe image a destination is tested with.
std::string ZstdOf(std::string_view data);

// The gzip magic (1f 8b) at the start of `head`.
bool HasGzipMagic(std::span<const char> head);

}  // namespace pier::transcode
