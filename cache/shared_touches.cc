#include "cache/shared_touches.h"

#include <vector>

#include "cache/keys.h"

namespace pier {

Status SharedTouches::Touch(std::string_view repo, std::string_view digest, int64_t now_unix) {
  std::string key = keys::Join(repo, digest);
  {
    std::lock_guard lock(mu_);
    auto it = written_.find(key);
    if (it != written_.end() && now_unix - it->second < coalesce_) return Status::OK();
  }
  WriteBatch b;
  b.Put(family_, key, EncodeCounter(now_unix));
  if (Status s = db_->Write(b); !s.ok()) return s;
  std::lock_guard lock(mu_);
  if (written_.size() >= capacity_) written_.clear();
  int64_t& t = written_[std::move(key)];
  t = std::max(t, now_unix);
  return Status::OK();
}

Result<int64_t> SharedTouches::LastTouch(std::string_view repo, std::string_view digest) const {
  auto v = db_->Get(family_, keys::Join(repo, digest));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return int64_t{0};
    return v.status();
  }
  return DecodeCounter(*v) + coalesce_;
}

Status SharedTouches::ForgetBefore(int64_t unix_seconds) {
  WriteBatch b;
  Status s = db_->Scan(family_, "", "", [&](std::string_view key, std::string_view v) {
    if (DecodeCounter(v) + coalesce_ <= unix_seconds) b.Delete(family_, key);
    return true;
  });
  if (!s.ok()) return s;
  // In slices: one transaction per thousand rows, not one for all.
  WriteBatch slice;
  for (const auto& op : b.ops()) {
    slice.Delete(op.family, op.key);
    if (slice.size() >= 1000) {
      if (Status w = db_->Write(slice); !w.ok()) return w;
      slice.Clear();
    }
  }
  return db_->Write(slice);
}

}  // namespace pier
