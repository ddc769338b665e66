// Store::OpenKeySpace: other components' records in their own column family
// of the store's Db (see keys.h for who keeps what).
#include "cache/keys.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

class KvSpaceImpl final : public KvSpace {
 public:
  KvSpaceImpl(std::shared_ptr<StoreState> st, Family f, std::string name)
      : st_(std::move(st)), f_(f), name_(std::move(name)) {}

  Result<std::string> Get(std::string_view key) override { return st_->db->Get(f_, key); }

  Status Write(const std::vector<Op>& ops) override {
    WriteBatch batch;
    for (const auto& [key, value] : ops) {
      if (value) {
        batch.Put(f_, key, *value);
      } else {
        batch.Delete(f_, key);
      }
    }
    return st_->db->Write(batch);
  }

  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    return st_->db->Scan(f_, prefix, "", fn);
  }

  Result<std::unique_ptr<HeldLock>> Lock(std::string_view name, bool wait) override {
    return st_->db->Lock("kv/" + name_, name, wait);
  }

 private:
  std::shared_ptr<StoreState> st_;  // keeps the Db (and so f_) alive
  Family f_;
  std::string name_;
};

}  // namespace

Result<std::shared_ptr<KvSpace>> StoreImpl::OpenKeySpace(std::string_view name) {
  if (name == keys::kQuotas || name == keys::kPulls) return Status::InvalidArgument("column family " + std::string(name) + " is reserved");
  auto cf = st_->db->ExtraFamily(name);
  if (!cf.ok()) return cf.status();
  return std::shared_ptr<KvSpace>(std::make_shared<KvSpaceImpl>(st_, *cf, std::string(name)));
}

}  // namespace pier::internal
