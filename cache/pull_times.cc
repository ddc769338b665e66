#include "cache/pull_times.h"


#include <algorithm>

#include "cache/db.h"
#include "cache/keys.h"

namespace pier {
namespace {

std::string EncodeTime(int64_t t) {
  std::string out(8, '\0');
  uint64_t u = static_cast<uint64_t>(t);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((u >> (8 * i)) & 0xff);
  return out;
}

bool DecodeTime(std::string_view in, int64_t* t) {
  if (in.size() != 8) return false;
  uint64_t u = 0;
  for (int i = 7; i >= 0; --i) u = (u << 8) | static_cast<unsigned char>(in[i]);
  *t = static_cast<int64_t>(u);
  return true;
}

}  // namespace

bool PullTimes::Note(std::string key, int64_t now) {
  std::lock_guard lock(mu_);
  int64_t& t = pending_[std::move(key)];
  t = std::max(t, now);
  if (last_flush_ < 0) last_flush_ = now;
  return now - last_flush_ >= kFlushSeconds;
}

Result<int64_t> PullTimes::Lookup(Db& db, std::string_view key) {
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(std::string(key));
    if (it != pending_.end()) return it->second;
  }
  auto cf = db.ExtraFamily(keys::kPulls);
  if (!cf.ok()) return cf.status();
  auto value = db.Get(*cf, key);
  if (value.status().code() == Code::kNotFound) return int64_t{0};
  if (!value.ok()) return value.status();
  int64_t t = 0;
  if (!DecodeTime(*value, &t)) return Status::Corruption("bad pull time record");
  return t;
}

Status PullTimes::Flush(Db& db, int64_t now) {
  std::unordered_map<std::string, int64_t> batch_items;
  {
    std::lock_guard lock(mu_);
    last_flush_ = now;
    batch_items.swap(pending_);
  }
  if (batch_items.empty()) return Status::OK();
  auto cf = db.ExtraFamily(keys::kPulls);
  Status s = cf.status();
  if (s.ok()) {
    WriteBatch batch;
    for (const auto& [key, t] : batch_items) batch.Put(*cf, key, EncodeTime(t));
    s = db.Write(batch);
  }
  if (!s.ok()) {
    // Keep them for the next attempt (newer notes win).
    std::lock_guard lock(mu_);
    for (auto& [key, t] : batch_items) pending_.try_emplace(key, t);
  }
  return s;
}

void PullTimes::Forget(std::string_view key) {
  std::lock_guard lock(mu_);
  pending_.erase(std::string(key));
}

size_t PullTimes::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

}  // namespace pier
