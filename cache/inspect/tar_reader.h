#pragma once
// WalkTar: a streaming tar reader for image layers, one entry at a time.
//
// Promises:
//  - reads ustar and GNU tar (long names and link names, 'L' and 'K'),
//    pax extended headers ('x' for the next entry, 'g' for all that follow:
//    path, linkpath, size) and base-256 sizes;
//  - memory is bounded: one 512-byte block, and long names / pax records up
//    to kMaxMetaBytes (bigger is Unsupported, not a reason to allocate);
//  - each entry's path is normalised: no leading "./" or "/", no trailing
//    "/" ("./" itself is "."); link targets are left as written;
//  - the visitor may read the entry's content through EntryContent, as much
//    of it as it likes; what it leaves is skipped;
//  - a header with a bad checksum, a size field that is not a number, or a
//    stream that ends inside a header or an entry's content is Corruption
//    naming the tar byte offset; a stream that ends at a block boundary
//    without the two zero blocks is accepted (some layer writers omit them);
//  - after the end-of-archive blocks the rest of the stream is read (and
//    ignored), so a LayerStream reaches its end and its counts and digests
//    are final when WalkTar returns OK.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "cache/inspect/byte_source.h"

namespace pier::inspect {

inline constexpr size_t kMaxMetaBytes = 1 << 20;

enum class EntryType { kFile, kDir, kSymlink, kHardlink, kOther };
std::string_view EntryTypeName(EntryType t);  // "file", "dir", "symlink", "hardlink", "other"
Result<EntryType> ParseEntryType(std::string_view name);

struct TarEntry {
  std::string path;      // normalised
  std::string linkname;  // symlink target or hardlink source, as written
  EntryType type = EntryType::kOther;
  char typeflag = '0';  // the raw flag ('0', '5', 'S', ...)
  uint64_t size = 0;     // content bytes in the archive
  uint64_t offset = 0;   // tar offset of the entry's (last) header block
  // OCI whiteouts: the basename starts with ".wh." (the lower file named by
  // the rest is deleted); opaque is ".wh..wh..opq" (the directory's lower
  // content is hidden).
  bool whiteout = false;
  bool opaque = false;
};

// The current entry's content; valid only during the visitor call.
class EntryContent : public ByteSource {
 public:
  Result<size_t> Read(std::span<char> out) override;
  uint64_t remaining() const { return remaining_; }

 private:
  friend class TarWalker;
  EntryContent(ByteSource& tar, uint64_t size, uint64_t* offset) : tar_(tar), remaining_(size), offset_(offset) {}
  ByteSource& tar_;
  uint64_t remaining_;
  uint64_t* offset_;  // the walker's tar offset, kept current
};

// A non-OK Status from the visitor ends the walk with that Status.
using EntryVisitor = std::function<Status(const TarEntry&, EntryContent&)>;

Status WalkTar(ByteSource& tar, const EntryVisitor& visit);

// "./a/b/" → "a/b"; "/" and "./" → ".".
std::string NormalisePath(std::string_view raw);

}  // namespace pier::inspect
