#include "cache/db.h"

#include <array>

#include "cache/keys.h"

namespace pier {

const char* CfName(Cf cf) {
  static constexpr std::array<const char*, kNumCfs> kNames = {keys::kBlobs,     keys::kLinks, keys::kBlobRepos,
                                                              keys::kManifests, keys::kTags,  keys::kReferrers,
                                                              keys::kUploads,   keys::kRepos};
  return kNames[static_cast<size_t>(cf)];
}

Result<bool> Db::Has(Family f, std::string_view key) const {
  auto v = Get(f, key);
  if (v.ok()) return true;
  if (v.status().code() == Code::kNotFound) return false;
  return v.status();
}

std::string EncodeCounter(int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((u >> (56 - 8 * i)) & 0xff);
  return out;
}

int64_t DecodeCounter(std::string_view bytes) {
  if (bytes.size() != 8) return 0;
  uint64_t u = 0;
  for (unsigned char c : bytes) u = (u << 8) | c;
  return static_cast<int64_t>(u);
}

Result<int64_t> SumCounters(const Db& db, Family f, std::string_view prefix) {
  int64_t sum = 0;
  Status s = db.Scan(f, prefix, "", [&](std::string_view, std::string_view v) {
    sum += DecodeCounter(v);
    return true;
  });
  if (!s.ok()) return s;
  return sum;
}

}  // namespace pier
