#include "cache/records.h"

#include <chrono>

namespace pier::records {
namespace {

constexpr char kVersion = 0x01;

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Readers consume from the front of `in`; false when it is too short.
bool GetU64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<unsigned char>((*in)[i])) << (8 * i);
  in->remove_prefix(8);
  return true;
}
bool GetI64(std::string_view* in, int64_t* v) {
  uint64_t u = 0;
  if (!GetU64(in, &u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}
bool GetU32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<unsigned char>((*in)[i])) << (8 * i);
  in->remove_prefix(4);
  return true;
}
bool GetLengthPrefixed(std::string_view* in, std::string* s) {
  uint32_t len = 0;
  if (!GetU32(in, &len) || in->size() < len) return false;
  s->assign(in->substr(0, len));
  in->remove_prefix(len);
  return true;
}
bool GetVersion(std::string_view* in) {
  if (in->empty() || (*in)[0] != kVersion) return false;
  in->remove_prefix(1);
  return true;
}

}  // namespace

std::string Encode(const BlobRecord& r) {
  std::string out(1, kVersion);
  PutU64(&out, r.size);
  PutU64(&out, static_cast<uint64_t>(r.created_unix));
  out.push_back(static_cast<char>(r.origin));
  return out;
}

bool Decode(std::string_view in, BlobRecord* r) {
  if (!GetVersion(&in) || !GetU64(&in, &r->size) || !GetI64(&in, &r->created_unix) || in.size() != 1)
    return false;
  auto origin = static_cast<uint8_t>(in[0]);
  if (origin > static_cast<uint8_t>(Origin::kDerived)) return false;
  r->origin = static_cast<Origin>(origin);
  return true;
}

// Version 2 of an upload record carries a remote storage's state; local
// sessions keep writing version 1.
constexpr char kUploadV2 = 0x02;

std::string Encode(const UploadRecord& r) {
  std::string out(1, r.remote.empty() ? kVersion : kUploadV2);
  PutU64(&out, r.offset);
  PutU64(&out, static_cast<uint64_t>(r.started_unix));
  if (r.remote.empty()) {
    out.append(r.repo);
  } else {
    PutLengthPrefixed(&out, r.repo);
    out.append(r.remote);
  }
  return out;
}

bool Decode(std::string_view in, UploadRecord* r) {
  if (in.empty() || (in[0] != kVersion && in[0] != kUploadV2)) return false;
  const bool v2 = in[0] == kUploadV2;
  in.remove_prefix(1);
  if (!GetU64(&in, &r->offset) || !GetI64(&in, &r->started_unix)) return false;
  r->remote.clear();
  if (v2) {
    if (!GetLengthPrefixed(&in, &r->repo)) return false;
    r->remote.assign(in);
    if (r->remote.empty()) return false;
  } else {
    r->repo.assign(in);
  }
  return !r->repo.empty();
}

// Version 2 of a manifest record added a flags byte, version 3 the push
// time; both older versions still decode.
constexpr char kManifestV2 = 0x02;
constexpr char kManifestV3 = 0x03;

std::string Encode(const ManifestRecord& r) {
  std::string out(1, kManifestV3);
  out.reserve(2 + 8 + 8 + r.media_type.size() + r.subject.size() + r.bytes.size());
  out.push_back(r.cached ? 0x01 : 0x00);
  PutU64(&out, static_cast<uint64_t>(r.pushed_unix));
  PutLengthPrefixed(&out, r.media_type);
  PutLengthPrefixed(&out, r.subject);
  out.append(r.bytes);
  return out;
}

bool Decode(std::string_view in, ManifestRecord* r) {
  r->cached = false;
  r->pushed_unix = 0;
  if (!in.empty() && (in[0] == kManifestV2 || in[0] == kManifestV3)) {
    const bool v3 = in[0] == kManifestV3;
    if (in.size() < 2 || (static_cast<uint8_t>(in[1]) & ~0x01u) != 0) return false;
    r->cached = (in[1] & 0x01) != 0;
    in.remove_prefix(2);
    if (v3 && !GetI64(&in, &r->pushed_unix)) return false;
  } else if (!GetVersion(&in)) {
    return false;
  }
  if (!GetLengthPrefixed(&in, &r->media_type) || !GetLengthPrefixed(&in, &r->subject)) {
    return false;
  }
  r->bytes.assign(in);
  return true;
}

std::string EncodeLinkTime(int64_t unix_seconds) {
  std::string out;
  PutU64(&out, static_cast<uint64_t>(unix_seconds));
  return out;
}

bool DecodeLinkTime(std::string_view in, int64_t* unix_seconds) {
  *unix_seconds = 0;
  if (in.empty()) return true;
  return GetI64(&in, unix_seconds) && in.empty();
}

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pier::records
