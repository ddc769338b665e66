#pragma once
// ZipScanner: the entry list of a zip (a jar, a war) that arrives as a
// sequential stream, e.g. as an entry inside a layer's tar, without holding
// the whole zip.
//
// Promises:
//  - memory is bounded by the tail cap (plus the entry list itself): the
//    last `tail_cap` bytes are kept, and at the end the End Of Central
//    Directory (zip64 too) and the central directory are read from them,
//    the authoritative listing (source kCentralDirectory);
//  - a zip whose central directory does not fit the tail (or has none) is
//    listed from the local file headers seen while streaming (source
//    kLocalHeaders). Entries written with a data descriptor (flag bit 3)
//    are followed through their deflate stream to find their end and sizes;
//    a STORED entry with a data descriptor has no findable end, so the walk
//    stops there and the listing is marked partial, as it is when the
//    stream is not a zip past some point;
//  - the local headers are only walked once the zip outgrows the tail, so a
//    small jar costs a copy into the tail and nothing else;
//  - a zip with a prefix (a launch script before it, as Spring Boot's
//    executable jars have) is read too: offsets are taken relative to the
//    records, not the start of the stream.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pier::inspect {

inline constexpr size_t kDefaultZipTailCap = 16 << 20;

struct ZipEntry {
  std::string name;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint32_t crc32 = 0;
  uint16_t method = 0;  // 0 stored, 8 deflated
  bool operator==(const ZipEntry&) const = default;
};

enum class ZipSource { kNone, kCentralDirectory, kLocalHeaders };
std::string_view ZipSourceName(ZipSource s);  // "none", "central-directory", "local-headers"
ZipSource ParseZipSource(std::string_view name);  // unknown → kNone

struct ZipListing {
  ZipSource source = ZipSource::kNone;  // kNone: not a zip as far as could be told
  bool partial = false;                 // entries may be missing
  std::string note;                     // why the fallback or why partial; empty otherwise
  std::vector<ZipEntry> entries;        // in the zip's order
};

class ZipScanner {
 public:
  explicit ZipScanner(size_t tail_cap = kDefaultZipTailCap);
  ~ZipScanner();
  ZipScanner(const ZipScanner&) = delete;
  ZipScanner& operator=(const ZipScanner&) = delete;

  // The next bytes of the zip, in order.
  void Add(std::span<const char> bytes);
  // The listing; the scanner must not be used afterwards.
  ZipListing Finish();

  uint64_t bytes() const { return total_; }

 private:
  class LocalWalk;
  void KeepTail(std::span<const char> bytes);
  bool FromCentralDirectory(const std::string& tail, ZipListing* out, std::string* why) const;

  size_t cap_;
  uint64_t total_ = 0;
  std::vector<char> tail_;  // grows to cap_, then a ring
  size_t ring_pos_ = 0;     // next write in the ring once full
  std::unique_ptr<LocalWalk> walk_;
};

}  // namespace pier::inspect
