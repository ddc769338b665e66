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

}  // namespace pier
