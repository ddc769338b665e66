#pragma once
// ProjectUsage: the bytes each project (a repository name's first component,
// Harbor's project) holds, counting a blob or manifest once per project however
// many of its repositories hold it (Harbor: SUM(size) over project_blob). Derived
// from the links and manifests at startup and kept in step by the store under
// the same locks as the records it mirrors; in memory only, so it can never
// disagree with RocksDB across a crash. Thread-safe.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pier {

// "team" for "team/app/web".
std::string_view ProjectOf(std::string_view repo);

class ProjectUsage {
 public:
  enum class Kind : char { kBlob = 'b', kManifest = 'm' };

  // A repository of `project` now holds `digest`. The first holder adds
  // `size` to the project's usage, unless that would pass `limit` (< 0: no
  // limit): then nothing changes and false is returned.
  bool Add(std::string_view project, Kind kind, std::string_view digest, uint64_t size, int64_t limit = -1);
  // A holder went; the last one takes the bytes back.
  void Remove(std::string_view project, Kind kind, std::string_view digest);
  // Whether some repository of the project holds it (then adding is free).
  bool Holds(std::string_view project, Kind kind, std::string_view digest) const;
  uint64_t Used(std::string_view project) const;
  std::map<std::string, uint64_t> All() const;

 private:
  static std::string Key(std::string_view project, Kind kind, std::string_view digest);
  struct Ref {
    uint32_t holders = 0;
    uint64_t size = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Ref> refs_;
  std::unordered_map<std::string, uint64_t> used_;
};

}  // namespace pier
