#pragma once
// LayerStream: an image layer blob read as its tar, whatever it was stored as.
//
// Promises:
//  - the compression is found from the first bytes: gzip (1f 8b), zstd
//    (28 b5 2f fd), anything else is taken as a plain tar (the tar reader
//    says so when it is not);
//  - concatenated gzip members and concatenated zstd frames (and zstd's
//    skippable frames) are one stream, as gzip(1) and zstd(1) read them;
//  - memory is bounded (one input and one decoder buffer) whatever the size;
//  - a corrupt or truncated stream is Corruption naming the compressed byte
//    offset where it went wrong;
//  - once Read returned 0, digest() is the sha256 of the blob and diff_id()
//    of the tar (what a manifest and an image config call them).
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "cache/inspect/byte_source.h"

namespace pier::inspect {

enum class Compression { kNone, kGzip, kZstd };
std::string_view CompressionName(Compression c);  // "none", "gzip", "zstd"
// The inverse; InvalidArgument for anything else.
Result<Compression> ParseCompression(std::string_view name);

class LayerStream : public ByteSource {
 public:
  // Reads the first bytes of `blob` (kept alive by the caller) to pick the codec.
  static Result<std::unique_ptr<LayerStream>> Open(ByteSource& blob);
  ~LayerStream() override;

  // The tar's bytes, in order; 0 at its end.
  Result<size_t> Read(std::span<char> out) override;

  Compression compression() const { return compression_; }
  uint64_t compressed_bytes() const { return compressed_bytes_; }  // blob bytes read so far
  uint64_t tar_bytes() const { return tar_bytes_; }                // tar bytes produced so far
  bool done() const { return done_; }
  const Digest& digest() const { return digest_; }    // after done()
  const Digest& diff_id() const { return diff_id_; }  // after done()

 private:
  struct Codec;
  explicit LayerStream(ByteSource& blob);
  Status Refill();
  Result<size_t> ReadPlain(std::span<char> out);
  Result<size_t> ReadGzip(std::span<char> out);
  Result<size_t> ReadZstd(std::span<char> out);
  Status Corrupt(std::string_view what) const;
  void Finish();

  ByteSource& blob_;
  Compression compression_ = Compression::kNone;
  std::unique_ptr<Codec> codec_;
  std::vector<char> in_;
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  bool eof_ = false;
  bool frame_done_ = false;  // the last gzip member / zstd frame is complete
  bool done_ = false;
  uint64_t compressed_bytes_ = 0;
  uint64_t tar_bytes_ = 0;
  Sha256 blob_sha_;
  Sha256 tar_sha_;
  Digest digest_;
  Digest diff_id_;
};

}  // namespace pier::inspect
