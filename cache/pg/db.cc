#include "cache/pg/db.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/log.h"
#include "cache/pg/kv.h"
#include "cache/pg/lease.h"
#include "cache/pg/migrations.h"
#include "cache/pg/pool.h"

namespace pier::pg {
namespace {

// 32-bit FNV-1a: the two int4 halves of a session advisory lock, (space,
// key). This two-key lock space is apart from PgKv's one-bigint locks; the
// migrations' (1885955442, 1) would need a space hashing to that value.
int32_t Hash32(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int32_t>(h);
}

// Session advisory locks of this process, all on one connection.
class Locker : public std::enable_shared_from_this<Locker> {
 public:
  explicit Locker(Connection::Options o) : options_(std::move(o)) {}

  // true: taken. The epoch says which connection holds it.
  Result<bool> TryLock(int32_t space, int32_t key, uint64_t* epoch) {
    std::lock_guard lock(mu_);
    if (conn_ == nullptr || conn_->broken()) {
      if (conn_ != nullptr && held_ > 0) {
        log::Warn("the database connection holding this replica's locks broke: its locks were released",
                  {{"held", std::to_string(held_)}});
      }
      conn_.reset();
      held_ = 0;
      auto c = Connection::Connect(options_);
      if (!c.ok()) return c.status();
      conn_ = std::move(c).value();
      ++epoch_;
    }
    const std::string a = std::to_string(space), b = std::to_string(key);
    auto r = conn_->Exec("SELECT pg_try_advisory_lock($1::int4, $2::int4)", {Param::Text(a), Param::Text(b)});
    if (!r.ok()) return r.status();
    const bool got = r->rows() == 1 && r->Int(0, 0) != 0;
    if (got) ++held_;
    *epoch = epoch_;
    return got;
  }

  void Unlock(int32_t space, int32_t key, uint64_t epoch) {
    std::lock_guard lock(mu_);
    if (conn_ == nullptr || epoch != epoch_) return;  // that connection, and the lock, are gone
    const std::string a = std::to_string(space), b = std::to_string(key);
    auto r = conn_->Exec("SELECT pg_advisory_unlock($1::int4, $2::int4)", {Param::Text(a), Param::Text(b)});
    if (!r.ok()) {
      // Closing the connection releases every lock it holds: safer than
      // keeping one lock of unknown state.
      log::Warn("releasing a database lock failed; reconnecting", {{"error", r.status().ToString()}});
      conn_.reset();
      held_ = 0;
      return;
    }
    if (held_ > 0) --held_;
  }

 private:
  const Connection::Options options_;
  std::mutex mu_;
  std::unique_ptr<Connection> conn_;
  uint64_t epoch_ = 0;
  uint64_t held_ = 0;
};

class PgLock final : public HeldLock {
 public:
  PgLock(std::shared_ptr<Locker> locker, int32_t space, int32_t key, uint64_t epoch)
      : locker_(std::move(locker)), space_(space), key_(key), epoch_(epoch) {}
  ~PgLock() override { locker_->Unlock(space_, key_, epoch_); }

 private:
  std::shared_ptr<Locker> locker_;
  int32_t space_, key_;
  uint64_t epoch_;
};

class PgDb final : public Db {
 public:
  PgDb(std::unique_ptr<Pool> pool, Connection::Options o)
      : pool_(std::move(pool)), kv_(pool_.get()), locker_(std::make_shared<Locker>(std::move(o))) {}

  std::string_view kind() const override { return "postgres"; }
  bool shared() const override { return true; }

  Result<std::string> Get(Family f, std::string_view key) const override { return kv_.Get(Name(f), key); }

  Status Write(const WriteBatch& batch) override {
    if (batch.empty()) return Status::OK();
    std::vector<KvOp> ops;
    ops.reserve(batch.size());
    for (const auto& op : batch.ops()) ops.push_back(KvOp{Name(op.family), op.key, op.value, op.add});
    return kv_.Write(ops);
  }

  Status Scan(Family f, std::string_view prefix, std::string_view after, const Visitor& fn) const override {
    return kv_.Scan(Name(f), prefix, after, fn);
  }

  Result<Family> ExtraFamily(std::string_view name) override {
    if (name.empty() || name.find('\0') != std::string_view::npos) {
      return Status::InvalidArgument("family name must be non-empty text");
    }
    for (size_t c = 0; c < kNumCfs; ++c) {
      if (name == CfName(static_cast<Cf>(c))) {
        return Status::InvalidArgument("column family " + std::string(name) + " is reserved");
      }
    }
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < extra_.size(); ++i) {
      if (extra_[i] == name) return Family::FromId(static_cast<uint32_t>(kNumCfs + i));
    }
    extra_.emplace_back(name);
    return Family::FromId(static_cast<uint32_t>(kNumCfs + extra_.size() - 1));
  }

  Result<std::unique_ptr<HeldLock>> Lock(std::string_view space, std::string_view key, bool wait) override {
    const int32_t a = Hash32(space), b = Hash32(key);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      uint64_t epoch = 0;
      auto got = locker_->TryLock(a, b, &epoch);
      if (!got.ok()) return got.status();
      if (*got) return std::unique_ptr<HeldLock>(std::make_unique<PgLock>(locker_, a, b, epoch));
      if (!wait) return Status::FailedPrecondition("held by another replica");
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Unavailable("waited 30 s for the " + std::string(space) + " lock held by another replica");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }

  Status Ping() const override {
    auto got = kv_.Get("health", "ping");
    return got.ok() || got.status().code() == Code::kNotFound ? Status::OK() : got.status();
  }

  Result<std::optional<int64_t>> HoldLease(std::string_view name, std::string_view holder,
                                           std::chrono::milliseconds ttl) override {
    auto got = TryAcquireLease(*pool_, name, holder, ttl);
    if (!got.ok()) return got.status();
    if (!got->has_value()) return std::optional<int64_t>();
    return std::optional<int64_t>((*got)->token);
  }

  Status ReleaseLease(std::string_view name, std::string_view holder) override {
    return pier::pg::ReleaseLease(*pool_, name, holder);
  }

 private:
  std::string Name(Family f) const {
    if (f.id() < kNumCfs) return CfName(static_cast<Cf>(f.id()));
    std::lock_guard lock(mu_);
    return extra_.at(f.id() - kNumCfs);
  }

  std::unique_ptr<Pool> pool_;
  PgKv kv_;
  std::shared_ptr<Locker> locker_;
  mutable std::mutex mu_;
  std::deque<std::string> extra_;  // names of families id kNumCfs + i
};

}  // namespace

Result<std::unique_ptr<Db>> OpenPgDb(const PgDbOptions& options) {
  Pool::Options po;
  po.connection = options.connection;
  po.max_size = options.pool_size;
  auto pool = Pool::Open(po);
  if (!pool.ok()) return pool.status();
  if (auto v = Migrate(**pool, PierMigrations()); !v.ok()) return v.status();
  return std::unique_ptr<Db>(std::make_unique<PgDb>(std::move(pool).value(), options.connection));
}

}  // namespace pier::pg
