#include "cache/quota_book.h"

#include <nlohmann/json.hpp>

#include "cache/keys.h"

namespace pier {
namespace {

constexpr std::string_view kPrefix = "p/";
constexpr std::string_view kNextId = "next_id";

}  // namespace

Status QuotaBook::Load(Db* db) {
  std::lock_guard lock(mu_);
  db_ = db;
  auto family = db->ExtraFamily(keys::kQuotas);
  if (!family.ok()) return family.status();
  family_ = *family;
  return ReloadLocked();
}

Status QuotaBook::ReloadLocked() const {
  std::map<std::string, Entry> entries;
  int64_t last_id = 0;
  std::string bad;
  Status s = db_->Scan(*family_, "", "", [&](std::string_view key, std::string_view value) {
    if (key == kNextId) {
      last_id = std::max<int64_t>(last_id, std::atoll(std::string(value).c_str()));
      return true;
    }
    if (!key.starts_with(kPrefix)) return true;
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      bad = std::string(key);
      return false;
    }
    Entry e;
    e.id = j.value("id", int64_t{0});
    e.hard = j.value("hard", int64_t{-1});
    e.created_unix = j.value("created", int64_t{0});
    e.updated_unix = j.value("updated", int64_t{0});
    last_id = std::max(last_id, e.id);
    entries[std::string(key.substr(kPrefix.size()))] = e;
    return true;
  });
  if (!bad.empty()) return Status::Corruption("bad quota record " + bad);
  if (!s.ok()) return s;
  entries_ = std::move(entries);
  last_id_ = last_id;
  reloaded_ = std::chrono::steady_clock::now();
  return Status::OK();
}

void QuotaBook::CatchUpLocked(bool always) const {
  if (db_ == nullptr || !db_->shared()) return;
  if (!always && std::chrono::steady_clock::now() - reloaded_ < std::chrono::seconds(5)) return;
  // Another replica's entries and limits; on failure the last known stand.
  (void)ReloadLocked();
}

Status QuotaBook::Store(const std::string& project, const Entry& e, bool new_id) {
  const std::string value =
      nlohmann::json{{"id", e.id}, {"hard", e.hard}, {"created", e.created_unix}, {"updated", e.updated_unix}}.dump();
  WriteBatch batch;
  batch.Put(*family_, std::string(kPrefix) + project, value);
  if (new_id) batch.Put(*family_, kNextId, std::to_string(e.id));
  return db_->Write(batch);
}

int64_t QuotaBook::Limit(std::string_view project) const {
  std::lock_guard lock(mu_);
  CatchUpLocked(false);
  auto it = entries_.find(std::string(project));
  return it == entries_.end() ? -1 : it->second.hard;
}

Result<QuotaBook::Entry> QuotaBook::Ensure(std::string_view project, int64_t now_unix) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(project));
  if (it != entries_.end()) return it->second;
  // New here; maybe not to the cluster: ids are allocated under a lock all
  // replicas take, from what the database says.
  auto across = db_->Lock("quotas", "ids", /*wait=*/true);
  if (!across.ok()) return across.status();
  if (db_->shared()) {
    if (Status s = ReloadLocked(); !s.ok()) return s;
    it = entries_.find(std::string(project));
    if (it != entries_.end()) return it->second;
  }
  Entry e{last_id_ + 1, -1, now_unix, now_unix};
  if (Status s = Store(std::string(project), e, true); !s.ok()) return s;
  last_id_ = e.id;
  entries_[std::string(project)] = e;
  return e;
}

Result<QuotaBook::Entry> QuotaBook::SetLimit(std::string_view project, int64_t hard, int64_t now_unix) {
  std::lock_guard lock(mu_);
  auto across = db_->Lock("quotas", "ids", /*wait=*/true);
  if (!across.ok()) return across.status();
  if (db_->shared()) {
    if (Status s = ReloadLocked(); !s.ok()) return s;
  }
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
  CatchUpLocked(true);
  return entries_;
}

std::optional<std::string> QuotaBook::ProjectById(int64_t id) const {
  std::lock_guard lock(mu_);
  CatchUpLocked(true);
  for (const auto& [p, e] : entries_) {
    if (e.id == id) return p;
  }
  return std::nullopt;
}

}  // namespace pier
