#include "cache/quota_book.h"

#include <nlohmann/json.hpp>

#include "cache/keys.h"

namespace pier {
namespace {

constexpr std::string_view kPrefix = "p/";
constexpr std::string_view kNextId = "next_id";

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

Status QuotaBook::Load(Db* db) {
  std::lock_guard lock(mu_);
  db_ = db;
  auto cf = db->ExtraFamily(keys::kQuotas);
  if (!cf.ok()) return cf.status();
  cf_ = *cf;
  std::unique_ptr<rocksdb::Iterator> it(db->raw()->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    std::string_view value(it->value().data(), it->value().size());
    if (key == kNextId) {
      last_id_ = std::max<int64_t>(last_id_, std::atoll(std::string(value).c_str()));
      continue;
    }
    if (!key.starts_with(kPrefix)) continue;
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Corruption("bad quota record " + std::string(key));
    Entry e;
    e.id = j.value("id", int64_t{0});
    e.hard = j.value("hard", int64_t{-1});
    e.created_unix = j.value("created", int64_t{0});
    e.updated_unix = j.value("updated", int64_t{0});
    last_id_ = std::max(last_id_, e.id);
    entries_[std::string(key.substr(kPrefix.size()))] = e;
  }
  return FromRocks(it->status());
}

Status QuotaBook::Store(const std::string& project, const Entry& e, bool new_id) {
  const std::string value =
      nlohmann::json{{"id", e.id}, {"hard", e.hard}, {"created", e.created_unix}, {"updated", e.updated_unix}}.dump();
  rocksdb::WriteBatch batch;
  batch.Put(cf_, ToSlice(std::string(kPrefix) + project), ToSlice(value));
  if (new_id) batch.Put(cf_, ToSlice(kNextId), ToSlice(std::to_string(e.id)));
  return db_->Write(&batch);
}

int64_t QuotaBook::Limit(std::string_view project) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(project));
  return it == entries_.end() ? -1 : it->second.hard;
}

Result<QuotaBook::Entry> QuotaBook::Ensure(std::string_view project, int64_t now_unix) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(project));
  if (it != entries_.end()) return it->second;
  Entry e{last_id_ + 1, -1, now_unix, now_unix};
  if (Status s = Store(std::string(project), e, true); !s.ok()) return s;
  last_id_ = e.id;
  entries_[std::string(project)] = e;
  return e;
}

Result<QuotaBook::Entry> QuotaBook::SetLimit(std::string_view project, int64_t hard, int64_t now_unix) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(project));
  const bool is_new = it == entries_.end();
  Entry e = is_new ? Entry{last_id_ + 1, -1, now_unix, now_unix} : it->second;
  e.hard = hard;
  e.updated_unix = now_unix;
  if (Status s = Store(std::string(project), e, is_new); !s.ok()) return s;
  if (is_new) last_id_ = e.id;
  entries_[std::string(project)] = e;
  return e;
}

std::map<std::string, QuotaBook::Entry> QuotaBook::All() const {
  std::lock_guard lock(mu_);
  return entries_;
}

std::optional<std::string> QuotaBook::ProjectById(int64_t id) const {
  std::lock_guard lock(mu_);
  for (const auto& [p, e] : entries_) {
    if (e.id == id) return p;
  }
  return std::nullopt;
}

}  // namespace pier
