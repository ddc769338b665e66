// Destination naming, see naming.h. Mirrors Harbor's replaceNamespace: split
// the source on '/', then flatten, prepend, or drop `count` leading components.
#include "replication/naming.h"

#include <vector>

namespace pier::replication {
namespace {

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

}  // namespace

int RepositoryLevels(std::string_view repo) { return static_cast<int>(Split(repo).size()); }

Result<std::string> DestinationRepository(std::string_view src_repo, std::string_view dest_namespace,
                                          int replace_count) {
  if (replace_count < -1) {
    return Status::InvalidArgument("dest_namespace_replace_count: must be -1 (flatten) or >= 0, got " +
                                   std::to_string(replace_count));
  }
  if (dest_namespace.empty()) return std::string(src_repo);
  auto parts = Split(src_repo);
  std::string out(dest_namespace);
  out += '/';
  if (replace_count == -1) {
    out += parts.back();
    return out;
  }
  if (replace_count == 0) {
    out += src_repo;
    return out;
  }
  if (static_cast<size_t>(replace_count) >= parts.size()) {
    return Status::InvalidArgument("dest_namespace_replace_count: the source repository \"" +
                                   std::string(src_repo) + "\" has " + std::to_string(parts.size() - 1) +
                                   " namespace level(s) before its last component, cannot replace " +
                                   std::to_string(replace_count));
  }
  for (size_t i = static_cast<size_t>(replace_count); i < parts.size(); ++i) {
    if (i > static_cast<size_t>(replace_count)) out += '/';
    out += parts[i];
  }
  return out;
}

Status CheckAcrName(std::string_view dest_repo) {
  auto parts = Split(dest_repo);
  bool empty_part = false;
  for (auto p : parts) empty_part = empty_part || p.empty();
  if (parts.size() == 2 && !empty_part) return Status::OK();
  return Status::InvalidArgument(
      "destination repository \"" + std::string(dest_repo) +
      "\" does not fit Aliyun ACR (personal edition), which accepts exactly two levels namespace/repo; it "
      "has " +
      std::to_string(parts.size()) + (empty_part ? " level(s), some empty" : " level(s)") +
      " — adjust dest_namespace / dest_namespace_replace_count or the name filter");
}

}  // namespace pier::replication
