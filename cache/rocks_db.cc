// RocksDB implementation of Db (db.h): the store's records in column
// families of one database in the data folder.
#include "cache/rocks_db.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include <rocksdb/options.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>

#include "base/clock.h"
#include "base/internal_errors.h"
#include "base/log.h"
#include "cache/keys.h"

namespace pier {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Our column families plus any others already in the database (other
// components may keep state there): RocksDB refuses to open a subset.
std::vector<std::string> ColumnFamiliesToOpen(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &names);  // empty if no DB yet
  auto add = [&](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  add(rocksdb::kDefaultColumnFamilyName);
  for (size_t i = 0; i < kNumCfs; ++i) add(CfName(static_cast<Cf>(i)));
  return names;
}

// Memtable size of every column family. Pier's records are small (a
// manifest is at most 4 MiB, everything else a few hundred bytes), so
// RocksDB's 64 MiB default buys nothing but memory. It also sets how much
// room RocksDB wants back after it ran out of space: its recovery waits
// until the largest write buffer fits on the disk (and its WAL is
// preallocated about that large), so a smaller buffer lets writes resume
// as soon as a few MiB are free again, well inside storage.reserve_bytes.
constexpr size_t kWriteBufferSize = 8 << 20;

rocksdb::ColumnFamilyOptions FamilyOptions(const rocksdb::Options& db_options) {
  rocksdb::ColumnFamilyOptions o(db_options);
  o.write_buffer_size = kWriteBufferSize;
  return o;
}

// Every write fails while RocksDB is out of space (replication records
// progress several times a second): one warning per 10 s says so.
bool ShouldLogNoSpace() {
  static std::atomic<int64_t> last_ns{0};
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(SystemClock().Steady().time_since_epoch()).count();
  int64_t last = last_ns.load();
  return (last == 0 || now - last >= int64_t{10'000'000'000}) && last_ns.compare_exchange_strong(last, now);
}

// RocksDB's own diagnostics go to Pier's log (warnings and errors only), not
// to a LOG file in the data folder: on a full disk that file's writer fails
// and RocksDB 7.8 aborts the process on its next line (an assertion in
// WritableFileWriter that Debian's build keeps, met when the space error is
// cleared and logged). Info lines are RocksDB's routine chatter.
class RocksLogger final : public rocksdb::Logger {
 public:
  RocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    const int n = std::vsnprintf(line, sizeof line, format, ap);
    if (n <= 0) return;
    log::Warn("rocksdb", {{"what", std::string(line, std::min<size_t>(static_cast<size_t>(n), sizeof line - 1))}});
  }
};

}  // namespace

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  if (s.IsNoSpace()) return Status::ResourceExhausted(s.ToString());
  if (s.IsIOError()) return Status::IOError(s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(s.ToString());
  return Status::Internal(s.ToString());
}

namespace {

class RocksDb final : public Db {
 public:
  RocksDb() = default;
  ~RocksDb() override;

  Status Open(const std::filesystem::path& dir, bool read_only);

  std::string_view kind() const override { return "rocksdb"; }
  bool shared() const override { return false; }
  Result<std::string> Get(Family f, std::string_view key) const override;
  Status Write(const WriteBatch& batch) override;
  Status Scan(Family f, std::string_view prefix, std::string_view after, const Visitor& fn) const override;
  Result<Family> ExtraFamily(std::string_view name) override;

 private:
  // Ids of families: ours first (Cf), then extra ones as they are opened.
  // Handles are published once and never change, so readers need no lock.
  static constexpr size_t kMaxFamilies = 64;
  rocksdb::ColumnFamilyHandle* handle(Family f) const { return by_id_[f.id()].load(std::memory_order_acquire); }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> all_handles_;  // owned; destroyed before db_
  std::array<std::atomic<rocksdb::ColumnFamilyHandle*>, kMaxFamilies> by_id_{};
  size_t next_id_ = kNumCfs;  // guarded by extra_mu_
  std::mutex extra_mu_;       // guards all_handles_ growth (ExtraFamily)
  std::mutex counter_mu_;     // held by a Write with counter ops
  // A write failed for space: no write reaches RocksDB again until Resume()
  // succeeds (see Write).
  std::atomic<bool> out_of_space_{false};
};

Status RocksDb::Open(const std::filesystem::path& dir, bool read_only) {
  rocksdb::Options options;
  options.create_if_missing = !read_only;
  options.create_missing_column_families = !read_only;
  options.info_log = std::make_shared<RocksLogger>();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : ColumnFamiliesToOpen(dir)) {
    descriptors.emplace_back(name, FamilyOptions(options));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = read_only
                          ? rocksdb::DB::OpenForReadOnly(options, dir.string(), descriptors, &all_handles_, &raw)
                          : rocksdb::DB::Open(options, dir.string(), descriptors, &all_handles_, &raw);
  if (!s.ok()) return FromRocks(s);
  db_.reset(raw);
  for (size_t i = 0; i < descriptors.size(); ++i) {
    for (size_t c = 0; c < kNumCfs; ++c) {
      if (descriptors[i].name == CfName(static_cast<Cf>(c))) by_id_[c].store(all_handles_[i]);
    }
  }
  return Status::OK();
}

RocksDb::~RocksDb() {
  if (db_ == nullptr) return;
  for (auto* h : all_handles_) db_->DestroyColumnFamilyHandle(h);
  // Nothing to retry at shutdown: RocksDB's WAL still holds every acknowledged write.
  if (rocksdb::Status s = db_->Close(); !s.ok())
    ReportInternalError("store", "closing RocksDB failed", Status::IOError(s.ToString()));
}

Result<std::string> RocksDb::Get(Family f, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(f), ToSlice(key), &value);
  if (!s.ok()) return FromRocks(s);
  return value;
}

Status RocksDb::Write(const WriteBatch& ops) {
  rocksdb::WriteBatch batch;
  // Counter ops become Puts of the new sums, read and written under one
  // mutex: this process is RocksDB's only writer, so no add is lost. Batches
  // without counters do not take it.
  std::unique_lock<std::mutex> counting;
  std::map<std::pair<uint32_t, std::string>, int64_t> sums;
  for (const auto& op : ops.ops()) {
    if (op.add) {
      if (!counting.owns_lock()) counting = std::unique_lock(counter_mu_);
      auto [it, fresh] = sums.try_emplace({op.family.id(), op.key}, 0);
      if (fresh) {
        auto v = Get(op.family, op.key);
        if (!v.ok() && v.status().code() != Code::kNotFound) return v.status();
        if (v.ok()) it->second = DecodeCounter(*v);
      }
      it->second += *op.add;
      batch.Put(handle(op.family), ToSlice(op.key), ToSlice(EncodeCounter(it->second)));
    } else if (op.value) {
      batch.Put(handle(op.family), ToSlice(op.key), ToSlice(*op.value));
    } else {
      batch.Delete(handle(op.family), ToSlice(op.key));
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  // After a WAL write failed, RocksDB 7.8 may hand the next write to the
  // same failed log writer, which aborts the process (an assertion Debian's
  // build keeps; fixed upstream in 9.x, "Don't write to WAL after previous
  // WAL write error"). So once a write failed for space, writes wait here
  // until Resume() succeeds (it answers OK at once when RocksDB's own
  // recovery already cleared the error).
  if (out_of_space_.load(std::memory_order_acquire)) {
    rocksdb::Status resumed = db_->Resume();
    if (!resumed.ok()) {
      if (ShouldLogNoSpace()) {
        log::Warn("RocksDB cannot write: out of space (logged at most every 10 s)", {{"resume", resumed.ToString()}});
      }
      return Status::ResourceExhausted("IO error: No space left on device: RocksDB is waiting for room to resume (" +
                                       resumed.ToString() + ")");
    }
    out_of_space_.store(false, std::memory_order_release);
    log::Info("RocksDB resumed after running out of space");
  }
  rocksdb::Status s = db_->Write(wo, &batch);
  // A WAL write or flush that met ENOSPC stops RocksDB (a "hard" background
  // error): every later write fails with the same error until the DB is
  // resumed. RocksDB's own recovery (its SstFileManager) checks every 5 s
  // whether a write buffer fits again and then resumes by itself; while it
  // waits, Resume() answers Busy. Resuming here covers an error that
  // recovery does not handle. Either way writes work again without a
  // restart once space is back.
  if (s.IsNoSpace()) {
    out_of_space_.store(true, std::memory_order_release);
    if (ShouldLogNoSpace()) log::Warn("RocksDB cannot write: out of space (logged at most every 10 s)");
  }
  return FromRocks(s);
}

Status RocksDb::Scan(Family f, std::string_view prefix, std::string_view after, const Visitor& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(f)));
  if (after.empty()) {
    it->Seek(ToSlice(prefix));
  } else {
    it->Seek(ToSlice(after));
    if (it->Valid() && it->key() == ToSlice(after)) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status());
}

Result<Family> RocksDb::ExtraFamily(std::string_view name) {
  if (name.empty() || name == rocksdb::kDefaultColumnFamilyName) {
    return Status::InvalidArgument("column family " + std::string(name) + " is reserved");
  }
  for (size_t c = 0; c < kNumCfs; ++c) {
    if (name == CfName(static_cast<Cf>(c))) {
      return Status::InvalidArgument("column family " + std::string(name) + " is reserved");
    }
  }
  std::lock_guard<std::mutex> lock(extra_mu_);
  for (size_t id = kNumCfs; id < next_id_; ++id) {
    if (by_id_[id].load()->GetName() == name) return Family::FromId(static_cast<uint32_t>(id));
  }
  if (next_id_ == kMaxFamilies) return Status::Internal("too many column families");
  rocksdb::ColumnFamilyHandle* h = nullptr;
  for (auto* existing : all_handles_) {
    if (existing->GetName() == name) h = existing;
  }
  if (h == nullptr) {
    rocksdb::Status s = db_->CreateColumnFamily(FamilyOptions(rocksdb::Options()), std::string(name), &h);
    if (!s.ok()) return FromRocks(s);
    all_handles_.push_back(h);
  }
  const size_t id = next_id_++;
  by_id_[id].store(h, std::memory_order_release);
  return Family::FromId(static_cast<uint32_t>(id));
}

}  // namespace

Result<std::unique_ptr<Db>> OpenRocksDb(const std::filesystem::path& dir, bool read_only) {
  auto db = std::make_unique<RocksDb>();
  if (Status s = db->Open(dir, read_only); !s.ok()) return s;
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace pier
