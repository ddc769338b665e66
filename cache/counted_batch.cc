#include "cache/counted_batch.h"

#include <functional>
#include <utility>
#include <thread>
#include <vector>

#include "base/log.h"
#include "cache/keys.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

// Counter shards: a writer picks one by thread, readers add them up.
constexpr size_t kShards = 8;
std::string Shard() {
  static thread_local const std::string shard =
      std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()) % kShards);
  return shard;
}

std::string RefKey(std::string_view project, ProjectUsage::Kind kind, std::string_view digest) {
  std::string d(1, static_cast<char>(kind));
  d.append(digest);
  return keys::Join("ref", project, d);
}
std::string UsedPrefix(std::string_view project) { return keys::Prefix(keys::Join("used", project)); }
constexpr std::string_view kBlobsPrefix{"blobs\0", 6};
constexpr std::string_view kBlobBytesPrefix{"blob_bytes\0", 11};

using Ref = HolderRef;
std::string EncodeRef(const Ref& r) { return EncodeCounter(r.holders) + EncodeCounter(r.size); }
Ref DecodeRef(std::string_view v) {
  if (v.size() != 16) return {};
  return Ref{DecodeCounter(v.substr(0, 8)), DecodeCounter(v.substr(8))};
}

Result<Ref> LoadRef(const StoreState& st, const std::string& key) {
  auto v = st.db->Get(*st.counts, key);
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Ref{};
    return v.status();
  }
  return DecodeRef(*v);
}

}  // namespace

CountedBatch::CountedBatch(StoreState& st) : st_(st), shared_(st.counts.has_value()) {}

CountedBatch::~CountedBatch() {
  if (!written_ && added_) st_.usage.Remove(added_->project, added_->kind, added_->digest);
}

Result<HolderRef> CountedBatch::LockedRef(const std::string& key) {
  auto g = st_.usage_locks.Lock(key);
  if (!g.ok()) return g.status();
  ref_lock_.emplace(std::move(g).value());
  return LoadRef(st_, key);
}

Status CountedBatch::AddHolder(std::string_view project, ProjectUsage::Kind kind, std::string_view digest,
                               uint64_t size, int64_t limit) {
  if (std::exchange(holder_changed_, true)) return Status::FailedPrecondition("internal: one usage change per batch");
  if (!shared_) {
    if (!st_.usage.Add(project, kind, digest, size, limit)) return QuotaRefusal(st_, project, size);
    added_ = Holder{std::string(project), kind, std::string(digest)};
    return Status::OK();
  }
  const std::string key = RefKey(project, kind, digest);
  auto ref = LockedRef(key);
  if (!ref.ok()) return ref.status();
  if (ref->holders == 0) {
    if (limit >= 0) {
      auto used = ProjectUsed(st_, project);
      if (!used.ok()) return used.status();
      if (*used + size > static_cast<uint64_t>(limit)) return QuotaRefusal(st_, project, size);
    }
    ref->size = static_cast<int64_t>(size);
    batch_.AddCounter(*st_.counts, UsedPrefix(project) + Shard(), static_cast<int64_t>(size));
  }
  ++ref->holders;
  batch_.Put(*st_.counts, key, EncodeRef(*ref));
  return Status::OK();
}

Status CountedBatch::RemoveHolder(std::string_view project, ProjectUsage::Kind kind, std::string_view digest) {
  if (std::exchange(holder_changed_, true)) return Status::FailedPrecondition("internal: one usage change per batch");
  if (!shared_) {
    removed_ = Holder{std::string(project), kind, std::string(digest)};
    return Status::OK();
  }
  const std::string key = RefKey(project, kind, digest);
  auto ref = LockedRef(key);
  if (!ref.ok()) return ref.status();
  if (ref->holders <= 0) return Status::OK();  // never counted
  if (--ref->holders > 0) {
    batch_.Put(*st_.counts, key, EncodeRef(*ref));
  } else {
    batch_.Delete(*st_.counts, key);
    batch_.AddCounter(*st_.counts, UsedPrefix(project) + Shard(), -ref->size);
  }
  return Status::OK();
}

void CountedBatch::CountBlob(int64_t blobs, int64_t bytes) {
  if (!shared_) {
    blobs_ += blobs;
    bytes_ += bytes;
    return;
  }
  batch_.AddCounter(*st_.counts, std::string(kBlobsPrefix) + Shard(), blobs);
  batch_.AddCounter(*st_.counts, std::string(kBlobBytesPrefix) + Shard(), bytes);
}

Status CountedBatch::Write() {
  if (Status s = st_.db->Write(batch_); !s.ok()) return s;
  written_ = true;
  if (!shared_) {
    if (removed_) st_.usage.Remove(removed_->project, removed_->kind, removed_->digest);
    st_.blob_count.fetch_add(static_cast<uint64_t>(blobs_));
    st_.blob_bytes.fetch_add(static_cast<uint64_t>(bytes_));
  }
  return Status::OK();
}

Result<uint64_t> ProjectUsed(const StoreState& st, std::string_view project) {
  if (!st.counts) return st.usage.Used(project);
  auto sum = SumCounters(*st.db, *st.counts, UsedPrefix(project));
  if (!sum.ok()) return sum.status();
  return static_cast<uint64_t>(std::max<int64_t>(0, *sum));
}

Result<std::map<std::string, uint64_t>> ProjectUsages(const StoreState& st) {
  if (!st.counts) return st.usage.All();
  std::map<std::string, int64_t> sums;
  const std::string prefix = keys::Prefix("used");
  Status s = st.db->Scan(*st.counts, prefix, "", [&](std::string_view key, std::string_view v) {
    std::string_view rest = key.substr(prefix.size());
    sums[std::string(rest.substr(0, rest.find('\0')))] += DecodeCounter(v);
    return true;
  });
  if (!s.ok()) return s;
  std::map<std::string, uint64_t> out;
  for (const auto& [project, sum] : sums) out[project] = static_cast<uint64_t>(std::max<int64_t>(0, sum));
  return out;
}

Result<std::pair<uint64_t, uint64_t>> BlobCounts(const StoreState& st) {
  if (!st.counts) return std::pair{st.blob_count.load(), st.blob_bytes.load()};
  auto n = SumCounters(*st.db, *st.counts, kBlobsPrefix);
  if (!n.ok()) return n.status();
  auto bytes = SumCounters(*st.db, *st.counts, kBlobBytesPrefix);
  if (!bytes.ok()) return bytes.status();
  return std::pair{static_cast<uint64_t>(std::max<int64_t>(0, *n)), static_cast<uint64_t>(std::max<int64_t>(0, *bytes))};
}

namespace {

// The count rows of records written before they were kept (a database from
// an earlier Pier). Every row is a Put, so a build cut short is redone
// whole; "built" goes last.
Status BuildCounts(StoreState& st) {
  const Family counts = *st.counts;
  int64_t blobs = 0, blob_bytes = 0;
  std::map<std::string, Ref> refs;
  std::map<std::string, int64_t> used;
  Status s = ScanHoldings(
      *st.db,
      [&](uint64_t size) {
        ++blobs;
        blob_bytes += static_cast<int64_t>(size);
      },
      [&](std::string_view project, ProjectUsage::Kind kind, std::string_view digest, uint64_t size) {
        Ref& r = refs[RefKey(project, kind, digest)];
        if (r.holders++ == 0) {
          r.size = static_cast<int64_t>(size);
          used[std::string(project)] += r.size;
        }
      });
  if (!s.ok()) return s;
  WriteBatch batch;
  auto flush = [&](bool always) {
    if (batch.empty() || (!always && batch.size() < 1000)) return Status::OK();
    Status w = st.db->Write(batch);
    batch.Clear();
    return w;
  };
  for (const auto& [key, r] : refs) {
    batch.Put(counts, key, EncodeRef(r));
    if (Status w = flush(false); !w.ok()) return w;
  }
  for (const auto& [project, bytes] : used) {
    batch.Put(counts, UsedPrefix(project) + "0", EncodeCounter(bytes));
    if (Status w = flush(false); !w.ok()) return w;
  }
  batch.Put(counts, std::string(kBlobsPrefix) + "0", EncodeCounter(blobs));
  batch.Put(counts, std::string(kBlobBytesPrefix) + "0", EncodeCounter(blob_bytes));
  if (Status w = flush(true); !w.ok()) return w;
  batch.Put(counts, "built", "1");
  if (Status w = flush(true); !w.ok()) return w;
  if (blobs > 0 || !used.empty()) {
    log::Info("derived the usage and blob counts from the records",
              {{"blobs", std::to_string(blobs)}, {"projects", std::to_string(used.size())}});
  }
  return Status::OK();
}

}  // namespace

Status LoadCounts(StoreState& st) {
  if (!st.db->shared()) return LoadProjectUsage(st);
  auto family = st.db->ExtraFamily(keys::kCounts);
  if (!family.ok()) return family.status();
  st.counts = *family;
  auto built = st.db->Has(*st.counts, "built");
  if (!built.ok()) return built.status();
  if (*built) return Status::OK();
  auto lock = st.db->Lock(keys::kCounts, "build", /*wait=*/true);
  if (!lock.ok()) return lock.status();
  built = st.db->Has(*st.counts, "built");
  if (!built.ok()) return built.status();
  return *built ? Status::OK() : BuildCounts(st);
}

}  // namespace pier::internal
