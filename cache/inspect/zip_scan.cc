#include "cache/inspect/zip_scan.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace pier::inspect {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kDescriptorSig = 0x08074b50;
constexpr uint32_t k32Max = 0xffffffff;

uint16_t Le16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}
uint32_t Le32(const char* p) { return Le16(p) | (static_cast<uint32_t>(Le16(p + 2)) << 16); }
uint64_t Le64(const char* p) { return Le32(p) | (static_cast<uint64_t>(Le32(p + 4)) << 32); }

// The zip64 extended-information extra field (0x0001): 8-byte values for
// those of `fields` that were 0xffffffff in the record, in record order.
void ReadZip64(std::string_view extra, std::initializer_list<uint64_t*> fields) {
  while (extra.size() >= 4) {
    const uint16_t id = Le16(extra.data());
    const uint16_t len = Le16(extra.data() + 2);
    if (len > extra.size() - 4) return;
    if (id == 0x0001) {
      std::string_view d = extra.substr(4, len);
      for (uint64_t* f : fields) {
        if (*f != k32Max) continue;
        if (d.size() < 8) return;
        *f = Le64(d.data());
        d.remove_prefix(8);
      }
      return;
    }
    extra.remove_prefix(4 + len);
  }
}

}  // namespace

std::string_view ZipSourceName(ZipSource s) {
  switch (s) {
    case ZipSource::kCentralDirectory: return "central-directory";
    case ZipSource::kLocalHeaders: return "local-headers";
    case ZipSource::kNone: break;
  }
  return "none";
}

ZipSource ParseZipSource(std::string_view name) {
  if (name == "central-directory") return ZipSource::kCentralDirectory;
  if (name == "local-headers") return ZipSource::kLocalHeaders;
  return ZipSource::kNone;
}

// Follows the local file headers through the stream: header, name and
// extra, data (skipped by its size, or inflated to find its end), data
// descriptor; stops at the central directory or at what it cannot follow.
class ZipScanner::LocalWalk {
 public:
  ~LocalWalk() {
    if (inflating_) inflateEnd(&zs_);
  }

  void Add(std::span<const char> b) {
    while (!b.empty() && state_ != kStopped) {
      switch (state_) {
        case kHeader: Header(&b); break;
        case kNameExtra: NameExtra(&b); break;
        case kData: Data(&b); break;
        case kInflate: Inflate(&b); break;
        case kDescriptor: Descriptor(&b); break;
        case kStopped: break;
      }
    }
  }

  // Fills `out` with what was seen; complete when the walk reached the
  // central directory.
  void Result(ZipListing* out) {
    out->entries = std::move(entries_);
    out->source = entries_seen_ ? ZipSource::kLocalHeaders : ZipSource::kNone;
    if (!reached_central_) {
      out->partial = true;
      if (!why_.empty()) {
        out->note += (out->note.empty() ? "" : "; ") + why_;
      } else {
        out->note += (out->note.empty() ? "" : "; ") + std::string("the local headers end before the central directory");
      }
    }
  }

 private:
  enum State { kHeader, kNameExtra, kData, kInflate, kDescriptor, kStopped };

  void Stop(std::string why) {
    state_ = kStopped;
    why_ = std::move(why) + " at zip byte " + std::to_string(offset_);
  }

  // Moves up to `want` total bytes of `b` into pending_; true when complete.
  bool Collect(std::span<const char>* b, size_t want) {
    const size_t take = std::min(want - pending_.size(), b->size());
    pending_.append(b->data(), take);
    *b = b->subspan(take);
    offset_ += take;
    return pending_.size() == want;
  }

  void Header(std::span<const char>* b) {
    if (!Collect(b, 30)) return;
    const uint32_t sig = Le32(pending_.data());
    if (sig == kCentralSig || sig == kEocdSig || sig == kZip64EocdSig) {
      reached_central_ = true;
      state_ = kStopped;
      return;
    }
    if (sig != kLocalSig) {
      offset_ -= 30;
      return Stop("no local file header");
    }
    flags_ = Le16(pending_.data() + 6);
    cur_ = ZipEntry{};
    cur_.method = Le16(pending_.data() + 8);
    cur_.crc32 = Le32(pending_.data() + 14);
    cur_.compressed_size = Le32(pending_.data() + 18);
    cur_.size = Le32(pending_.data() + 22);
    name_len_ = Le16(pending_.data() + 26);
    extra_len_ = Le16(pending_.data() + 28);
    state_ = kNameExtra;
  }

  void NameExtra(std::span<const char>* b) {
    if (!Collect(b, 30 + name_len_ + extra_len_)) return;
    cur_.name.assign(pending_.data() + 30, name_len_);
    const std::string_view extra(pending_.data() + 30 + name_len_, extra_len_);
    zip64_ = false;
    if (cur_.size == k32Max || cur_.compressed_size == k32Max) {
      zip64_ = true;
      ReadZip64(extra, {&cur_.size, &cur_.compressed_size});
    }
    pending_.clear();
    entries_seen_ = true;
    const bool descriptor = (flags_ & 0x08) != 0;
    if (descriptor && cur_.compressed_size == 0 && cur_.method == 8) {
      std::memset(&zs_, 0, sizeof zs_);
      if (inflateInit2(&zs_, -MAX_WBITS) != Z_OK) return Stop("no memory to inflate");
      inflating_ = true;
      crc_ = crc32(0, nullptr, 0);
      state_ = kInflate;
      return;
    }
    if (descriptor && cur_.compressed_size == 0 && cur_.method != 0 && cur_.method != 8) {
      return Stop("entry \"" + cur_.name + "\" has a data descriptor and method " + std::to_string(cur_.method));
    }
    if (descriptor && cur_.compressed_size == 0 && cur_.size == 0 && cur_.method == 0) {
      // An empty STORED entry is fine (a directory); a non-empty one has no
      // findable end: what follows can only be guessed at.
      if (!cur_.name.ends_with("/")) return Stop("STORED entry \"" + cur_.name + "\" of unknown size (data descriptor)");
    }
    remaining_ = cur_.compressed_size;
    has_descriptor_ = descriptor;
    state_ = kData;
  }

  void Data(std::span<const char>* b) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, b->size()));
    *b = b->subspan(take);
    remaining_ -= take;
    offset_ += take;
    if (remaining_ > 0) return;
    if (has_descriptor_) {
      state_ = kDescriptor;
    } else {
      entries_.push_back(std::move(cur_));
      state_ = kHeader;
    }
  }

  void Inflate(std::span<const char>* b) {
    char out[16 << 10];
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b->data()));
    zs_.avail_in = static_cast<uInt>(std::min<size_t>(b->size(), 1u << 30));
    const size_t given = zs_.avail_in;
    int r = Z_OK;
    while (zs_.avail_in > 0 && r == Z_OK) {
      zs_.next_out = reinterpret_cast<Bytef*>(out);
      zs_.avail_out = sizeof out;
      r = inflate(&zs_, Z_NO_FLUSH);
      const size_t produced = sizeof out - zs_.avail_out;
      crc_ = crc32(crc_, reinterpret_cast<Bytef*>(out), static_cast<uInt>(produced));
      if (r == Z_BUF_ERROR && produced == 0) r = Z_OK;  // needs more input
    }
    const size_t used = given - zs_.avail_in;
    *b = b->subspan(used);
    offset_ += used;
    if (r == Z_OK && used == 0) r = Z_DATA_ERROR;  // no progress: never loop on it
    if (r == Z_STREAM_END) {
      cur_.compressed_size = zs_.total_in;
      cur_.size = zs_.total_out;
      cur_.crc32 = static_cast<uint32_t>(crc_);
      inflateEnd(&zs_);
      inflating_ = false;
      state_ = kDescriptor;
    } else if (r != Z_OK) {
      inflateEnd(&zs_);
      inflating_ = false;
      Stop("entry \"" + cur_.name + "\" does not inflate");
    }
  }

  // [signature] crc32, compressed size, size: 4-byte sizes, or 8-byte ones
  // for a zip64 entry. 16 bytes are enough to tell whether the signature is there.
  void Descriptor(std::span<const char>* b) {
    if (!Collect(b, 12)) return;
    const bool sig = Le32(pending_.data()) == kDescriptorSig;
    const size_t want = (sig ? 4 : 0) + 4 + (zip64_ ? 16 : 8);
    if (!Collect(b, want)) return;
    const char* d = pending_.data() + (sig ? 4 : 0);
    cur_.crc32 = Le32(d);
    if (state_ == kDescriptor && cur_.compressed_size == 0) {
      cur_.compressed_size = zip64_ ? Le64(d + 4) : Le32(d + 4);
      cur_.size = zip64_ ? Le64(d + 12) : Le32(d + 8);
    }
    pending_.clear();
    entries_.push_back(std::move(cur_));
    state_ = kHeader;
  }

  State state_ = kHeader;
  std::string pending_;
  uint64_t offset_ = 0;
  ZipEntry cur_;
  uint16_t flags_ = 0;
  uint16_t name_len_ = 0;
  uint16_t extra_len_ = 0;
  bool zip64_ = false;
  bool has_descriptor_ = false;
  uint64_t remaining_ = 0;
  z_stream zs_{};
  bool inflating_ = false;
  uLong crc_ = 0;
  bool entries_seen_ = false;
  bool reached_central_ = false;
  std::string why_;
  std::vector<ZipEntry> entries_;
};

ZipScanner::ZipScanner(size_t tail_cap) : cap_(std::max<size_t>(tail_cap, 64)) {}
ZipScanner::~ZipScanner() = default;

void ZipScanner::KeepTail(std::span<const char> b) {
  if (b.size() >= cap_) {
    tail_.assign(b.end() - static_cast<ptrdiff_t>(cap_), b.end());
    ring_pos_ = 0;
    return;
  }
  if (tail_.size() < cap_) {
    const size_t take = std::min(cap_ - tail_.size(), b.size());
    tail_.insert(tail_.end(), b.begin(), b.begin() + static_cast<ptrdiff_t>(take));
    b = b.subspan(take);
  }
  while (!b.empty()) {
    const size_t take = std::min(cap_ - ring_pos_, b.size());
    std::memcpy(tail_.data() + ring_pos_, b.data(), take);
    ring_pos_ = (ring_pos_ + take) % cap_;
    b = b.subspan(take);
  }
}

void ZipScanner::Add(std::span<const char> b) {
  if (!walk_ && total_ + b.size() > cap_) {
    // The zip outgrows the tail: from here on the central directory may not
    // fit, so the local headers are followed from the start (still whole in
    // the tail, which has not wrapped yet).
    walk_ = std::make_unique<LocalWalk>();
    walk_->Add(tail_);
  }
  if (walk_) walk_->Add(b);
  KeepTail(b);
  total_ += b.size();
}

bool ZipScanner::FromCentralDirectory(const std::string& t, ZipListing* out, std::string* why) const {
  if (t.size() < 22) {
    *why = "too short for a zip";
    return false;
  }
  // The EOCD is the last 22 bytes plus a comment of up to 64 KiB.
  size_t eocd = std::string::npos;
  const size_t lowest = t.size() >= 22 + 65535 ? t.size() - 22 - 65535 : 0;
  for (size_t p = t.size() - 22 + 1; p-- > lowest;) {
    if (Le32(t.data() + p) == kEocdSig && p + 22 + Le16(t.data() + p + 20) <= t.size()) {
      eocd = p;
      break;
    }
  }
  if (eocd == std::string::npos) {
    *why = "no end of central directory record";
    return false;
  }
  uint64_t count = Le16(t.data() + eocd + 10);
  uint64_t cd_size = Le32(t.data() + eocd + 12);
  size_t cd_end = eocd;
  if (count == 0xffff || cd_size == k32Max || Le32(t.data() + eocd + 16) == k32Max) {
    // zip64: the locator sits right before the EOCD and, with no extensible
    // data, the zip64 EOCD (56 bytes) right before the locator.
    if (eocd < 20 + 56 || Le32(t.data() + eocd - 20) != kZip64LocatorSig ||
        Le32(t.data() + eocd - 20 - 56) != kZip64EocdSig) {
      *why = "zip64 end of central directory not found in the tail";
      return false;
    }
    const char* z = t.data() + eocd - 20 - 56;
    count = Le64(z + 32);
    cd_size = Le64(z + 40);
    cd_end = eocd - 20 - 56;
  }
  if (cd_size > cd_end) {
    *why = "the central directory (" + std::to_string(cd_size) + " bytes) does not fit the " + std::to_string(cap_) +
           "-byte tail";
    return false;
  }
  // Located from its end, not from its recorded offset: a prefix before the
  // zip shifts every offset.
  size_t p = cd_end - static_cast<size_t>(cd_size);
  std::vector<ZipEntry> entries;
  entries.reserve(static_cast<size_t>(std::min<uint64_t>(count, cd_size / 46)));
  while (p < cd_end) {
    if (cd_end - p < 46 || Le32(t.data() + p) != kCentralSig) {
      *why = "malformed central directory";
      return false;
    }
    const char* h = t.data() + p;
    ZipEntry e;
    e.method = Le16(h + 10);
    e.crc32 = Le32(h + 16);
    e.compressed_size = Le32(h + 20);
    e.size = Le32(h + 24);
    const size_t n = Le16(h + 28), m = Le16(h + 30), k = Le16(h + 32);
    if (cd_end - p < 46 + n + m + k) {
      *why = "malformed central directory";
      return false;
    }
    e.name.assign(h + 46, n);
    uint64_t offset = Le32(h + 42);
    ReadZip64(std::string_view(h + 46 + n, m), {&e.size, &e.compressed_size, &offset});
    entries.push_back(std::move(e));
    p += 46 + n + m + k;
  }
  if (entries.size() != count) {
    *why = "the central directory lists " + std::to_string(entries.size()) + " entries, the end record " + std::to_string(count);
    return false;
  }
  out->source = ZipSource::kCentralDirectory;
  out->entries = std::move(entries);
  return true;
}

ZipListing ZipScanner::Finish() {
  std::string t;
  t.reserve(tail_.size());
  if (tail_.size() == cap_ && ring_pos_ != 0) {
    t.append(tail_.data() + ring_pos_, cap_ - ring_pos_);
    t.append(tail_.data(), ring_pos_);
  } else {
    t.append(tail_.data(), tail_.size());
  }
  std::vector<char>().swap(tail_);
  ZipListing out;
  std::string why;
  if (FromCentralDirectory(t, &out, &why)) return out;
  out.note = why;
  if (!walk_) {
    // Never outgrew the tail: the whole zip is in `t`.
    walk_ = std::make_unique<LocalWalk>();
    walk_->Add(t);
  }
  walk_->Result(&out);
  return out;
}

}  // namespace pier::inspect
