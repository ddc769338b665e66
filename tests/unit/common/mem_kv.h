#pragma once
// An in-memory KvSpace for unit tests of components that keep state through
// Store::OpenKeySpace (ReplicationStore, SeenEvents): no RocksDB, no files.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cache/store.h"

namespace pier::testing {

class MemKv : public KvSpace {
 public:
  Result<std::string> Get(std::string_view key) override {
    auto it = kv_.find(std::string(key));
    if (it == kv_.end()) return Status::NotFound("no key");
    return it->second;
  }
  Status Write(const std::vector<Op>& ops) override {
    for (const auto& [k, v] : ops) {
      if (v) {
        kv_[k] = *v;
      } else {
        kv_.erase(k);
      }
    }
    ++writes;
    return Status::OK();
  }
  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    for (auto it = kv_.lower_bound(std::string(prefix)); it != kv_.end() && it->first.starts_with(prefix);
         ++it) {
      if (!fn(it->first, it->second)) break;
    }
    return Status::OK();
  }
  Result<std::unique_ptr<HeldLock>> Lock(std::string_view, bool) override { return std::unique_ptr<HeldLock>(); }
  int writes = 0;

 private:
  std::map<std::string, std::string> kv_;
};

}  // namespace pier::testing
