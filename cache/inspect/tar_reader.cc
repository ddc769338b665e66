#include "cache/inspect/tar_reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>

namespace pier::inspect {

std::string_view EntryTypeName(EntryType t) {
  switch (t) {
    case EntryType::kFile: return "file";
    case EntryType::kDir: return "dir";
    case EntryType::kSymlink: return "symlink";
    case EntryType::kHardlink: return "hardlink";
    case EntryType::kOther: break;
  }
  return "other";
}

Result<EntryType> ParseEntryType(std::string_view name) {
  for (EntryType t : {EntryType::kFile, EntryType::kDir, EntryType::kSymlink, EntryType::kHardlink, EntryType::kOther}) {
    if (EntryTypeName(t) == name) return t;
  }
  return Status::InvalidArgument("unknown entry type \"" + std::string(name) + "\"");
}

std::string NormalisePath(std::string_view p) {
  for (;;) {
    if (p.starts_with("./")) {
      p.remove_prefix(2);
    } else if (p.starts_with("/")) {
      p.remove_prefix(1);
    } else {
      break;
    }
  }
  while (p.ends_with("/")) p.remove_suffix(1);
  if (p.empty() || p == ".") return ".";
  return std::string(p);
}

Result<size_t> EntryContent::Read(std::span<char> out) {
  if (remaining_ == 0) return size_t{0};
  const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), remaining_));
  Result<size_t> n = tar_.Read(out.first(want));
  PIER_TRY(n);
  if (*n == 0) return Status::Corruption("tar stream ends inside an entry's content at tar byte " + std::to_string(*offset_));
  remaining_ -= *n;
  *offset_ += *n;
  return n;
}

class TarWalker {
 public:
  TarWalker(ByteSource& tar, const EntryVisitor& visit) : tar_(tar), visit_(visit) {}

  Status Run() {
    std::array<char, 512> block;
    int zero_blocks = 0;
    for (;;) {
      const uint64_t at = offset_;
      Result<size_t> n = ReadFull(tar_, block);
      PIER_TRY(n);
      offset_ += *n;
      if (*n == 0) return Status::OK();  // no end blocks: accepted
      if (*n < block.size()) return Status::Corruption("tar stream ends inside a header at tar byte " + std::to_string(at));
      if (std::all_of(block.begin(), block.end(), [](char c) { return c == 0; })) {
        if (++zero_blocks == 2) return Drain();
        continue;
      }
      if (zero_blocks > 0) return Status::Corruption("tar has a lone zero block before tar byte " + std::to_string(at));
      PIER_TRY(Header(block.data(), at));
    }
  }

 private:
  Status Drain() {
    std::array<char, 64 << 10> buf;
    for (;;) {
      Result<size_t> n = tar_.Read(buf);
      PIER_TRY(n);
      if (*n == 0) return Status::OK();
      offset_ += *n;
    }
  }

  static std::string Field(const char* p, size_t n) { return std::string(p, strnlen(p, n)); }

  // An octal (or base-256) number field; nullopt when it is neither.
  static std::optional<uint64_t> Number(const char* p, size_t n) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    if (u[0] & 0x80) {
      if (u[0] == 0xff) return std::nullopt;  // negative
      uint64_t v = u[0] & 0x7f;
      for (size_t i = 1; i < n; ++i) {
        if (v >> 56) return std::nullopt;
        v = (v << 8) | u[i];
      }
      return v;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == 0)) ++i;
    uint64_t v = 0;
    bool any = false;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
      if (v >> 60) return std::nullopt;
      v = v * 8 + static_cast<uint64_t>(p[i] - '0');
      any = true;
    }
    for (; i < n; ++i) {
      if (p[i] != ' ' && p[i] != 0) return std::nullopt;
    }
    return any ? v : 0;
  }

  static bool ChecksumOk(const char* b) {
    std::optional<uint64_t> want = Number(b + 148, 8);
    if (!want) return false;
    uint64_t sum_u = 0;
    int64_t sum_s = 0;  // historic tars summed signed chars
    for (int i = 0; i < 512; ++i) {
      const char c = (i >= 148 && i < 156) ? ' ' : b[i];
      sum_u += static_cast<unsigned char>(c);
      sum_s += static_cast<signed char>(c);
    }
    return *want == sum_u || static_cast<int64_t>(*want) == sum_s;
  }

  // The content of a metadata entry (long name, pax records), bounded.
  Result<std::string> ReadMeta(uint64_t size, uint64_t at) {
    if (size > kMaxMetaBytes) {
      return Status::Unsupported("tar metadata entry of " + std::to_string(size) + " bytes at tar byte " + std::to_string(at));
    }
    std::string s(size, '\0');
    EntryContent c(tar_, size, &offset_);
    size_t got = 0;
    while (got < size) {
      Result<size_t> n = c.Read(std::span<char>(s.data() + got, size - got));
      PIER_TRY(n);
      got += *n;
    }
    PIER_TRY(SkipPadding(size));
    return s;
  }

  Status Skip(uint64_t n) {
    std::array<char, 64 << 10> buf;
    while (n > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(n, buf.size()));
      Result<size_t> got = tar_.Read(std::span<char>(buf.data(), want));
      PIER_TRY(got);
      if (*got == 0) return Status::Corruption("tar stream ends inside an entry's content at tar byte " + std::to_string(offset_));
      n -= *got;
      offset_ += *got;
    }
    return Status::OK();
  }

  Status SkipPadding(uint64_t size) { return Skip((512 - size % 512) % 512); }

  // "len key=value\n" records; keys this reader uses go into `out`.
  static Status ParsePax(std::string_view recs, std::map<std::string, std::string>* out, uint64_t at) {
    while (!recs.empty()) {
      size_t sp = recs.find(' ');
      size_t len = 0;
      bool ok = sp != std::string_view::npos && sp > 0;
      for (size_t i = 0; ok && i < sp; ++i) {
        if (recs[i] < '0' || recs[i] > '9' || len > kMaxMetaBytes) ok = false;
        else len = len * 10 + static_cast<size_t>(recs[i] - '0');
      }
      if (!ok || len <= sp + 1 || len > recs.size() || recs[len - 1] != '\n') {
        return Status::Corruption("malformed pax record in the header at tar byte " + std::to_string(at));
      }
      std::string_view kv = recs.substr(sp + 1, len - sp - 2);
      recs.remove_prefix(len);
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos) return Status::Corruption("malformed pax record in the header at tar byte " + std::to_string(at));
      std::string key(kv.substr(0, eq));
      if (key == "path" || key == "linkpath" || key == "size") (*out)[key] = std::string(kv.substr(eq + 1));
    }
    return Status::OK();
  }

  Status Header(const char* b, uint64_t at) {
    if (!ChecksumOk(b)) return Status::Corruption("tar header checksum mismatch at tar byte " + std::to_string(at));
    std::optional<uint64_t> size = Number(b + 124, 12);
    if (!size) return Status::Corruption("tar header size field is not a number at tar byte " + std::to_string(at));
    const char flag = b[156];
    switch (flag) {
      case 'L': {
        Result<std::string> s = ReadMeta(*size, at);
        PIER_TRY(s);
        long_name_ = Field(s->data(), s->size());
        return Status::OK();
      }
      case 'K': {
        Result<std::string> s = ReadMeta(*size, at);
        PIER_TRY(s);
        long_link_ = Field(s->data(), s->size());
        return Status::OK();
      }
      case 'x':
      case 'g': {
        Result<std::string> s = ReadMeta(*size, at);
        PIER_TRY(s);
        return ParsePax(*s, flag == 'x' ? &pax_ : &global_, at);
      }
      default: break;
    }
    TarEntry e;
    e.typeflag = flag;
    e.offset = at;
    std::string name = Field(b, 100);
    // POSIX ustar splits long names into prefix/name; old GNU tars ("ustar  ")
    // keep other fields there.
    if (std::memcmp(b + 257, "ustar\0", 6) == 0) {
      std::string prefix = Field(b + 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    std::string link = Field(b + 157, 100);
    auto pick = [&](const char* key) -> const std::string* {
      if (auto it = pax_.find(key); it != pax_.end()) return &it->second;
      if (auto it = global_.find(key); it != global_.end()) return &it->second;
      return nullptr;
    };
    if (!long_name_.empty()) name = long_name_;
    if (!long_link_.empty()) link = long_link_;
    if (const std::string* v = pick("path")) name = *v;
    if (const std::string* v = pick("linkpath")) link = *v;
    if (const std::string* v = pick("size")) {
      uint64_t d = 0;
      if (v->empty()) return Status::Corruption("pax size is empty at tar byte " + std::to_string(at));
      for (char c : *v) {
        if (c < '0' || c > '9' || d > (UINT64_MAX / 10)) return Status::Corruption("pax size \"" + *v + "\" is not a number at tar byte " + std::to_string(at));
        d = d * 10 + static_cast<uint64_t>(c - '0');
      }
      size = d;
    }
    pax_.clear();
    long_name_.clear();
    long_link_.clear();

    switch (flag) {
      case '0': case '\0': case '7': e.type = EntryType::kFile; break;
      case '1': e.type = EntryType::kHardlink; break;
      case '2': e.type = EntryType::kSymlink; break;
      case '5': e.type = EntryType::kDir; break;
      default: e.type = EntryType::kOther; break;
    }
    // Old tars mark directories by a trailing slash on a regular-file flag.
    if (e.type == EntryType::kFile && name.ends_with("/")) e.type = EntryType::kDir;
    e.path = NormalisePath(name);
    e.linkname = std::move(link);
    // Header-only types carry no content whatever their size field says
    // (as Go's archive/tar, which containerd and Docker unpack with, reads
    // them); every other type's size is honoured to stay aligned.
    const bool header_only = flag >= '1' && flag <= '6';
    e.size = header_only || e.type == EntryType::kDir ? 0 : *size;
    const std::string_view base = std::string_view(e.path).substr(e.path.rfind('/') + 1);
    e.whiteout = base.starts_with(".wh.");
    e.opaque = base == ".wh..wh..opq";

    EntryContent content(tar_, e.size, &offset_);
    PIER_TRY(visit_(e, content));
    PIER_TRY(Skip(content.remaining()));
    return SkipPadding(e.size);
  }

  ByteSource& tar_;
  const EntryVisitor& visit_;
  uint64_t offset_ = 0;
  std::string long_name_;
  std::string long_link_;
  std::map<std::string, std::string> pax_;
  std::map<std::string, std::string> global_;
};

Status WalkTar(ByteSource& tar, const EntryVisitor& visit) { return TarWalker(tar, visit).Run(); }

}  // namespace pier::inspect
