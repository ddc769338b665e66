// Store::OpenKeySpace: other components' records in their own column family
// of the store's RocksDB (see keys.h for who keeps what).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "cache/keys.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class KvSpaceImpl final : public KvSpace {
 public:
  KvSpaceImpl(std::shared_ptr<StoreState> st, rocksdb::ColumnFamilyHandle* cf) : st_(std::move(st)), cf_(cf) {}

  Result<std::string> Get(std::string_view key) override {
    std::string value;
    rocksdb::Status s = st_->db->raw()->Get(rocksdb::ReadOptions(), cf_, ToSlice(key), &value);
    if (!s.ok()) return FromRocks(s);
    return value;
  }

  Status Write(const std::vector<Op>& ops) override {
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : ops) {
      if (value) {
        batch.Put(cf_, ToSlice(key), ToSlice(*value));
      } else {
        batch.Delete(cf_, ToSlice(key));
      }
    }
    return st_->db->Write(&batch);
  }

  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(st_->db->raw()->NewIterator(rocksdb::ReadOptions(), cf_));
    for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (!key.starts_with(prefix)) break;
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromRocks(it->status());
  }

 private:
  std::shared_ptr<StoreState> st_;  // keeps the Db (and so cf_) alive
  rocksdb::ColumnFamilyHandle* cf_;
};

}  // namespace

Result<std::shared_ptr<KvSpace>> StoreImpl::OpenKeySpace(std::string_view name) {
  if (name == keys::kQuotas || name == keys::kPulls) return Status::InvalidArgument("column family " + std::string(name) + " is reserved");
  auto cf = st_->db->ExtraFamily(name);
  if (!cf.ok()) return cf.status();
  return std::shared_ptr<KvSpace>(std::make_shared<KvSpaceImpl>(st_, *cf));
}

}  // namespace pier::internal
