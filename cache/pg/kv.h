#pragma once
// PgKv: an ordered key-value store in PostgreSQL with the contract of the
// RocksDB Db (cache/db.h), for replicas sharing one database.
//
// Layout: one table pier_kv(family, key bytea, value bytea, primary key
// (family, key)) for every family (migrations.cc). Families play RocksDB's
// column families and appear on first write, with no DDL at run time (no
// table per family to create, migrate, or lock the catalog for); a batch
// spans families in one statement list; the primary key's btree gives
// every family its own ordered key range.
//
// Promises:
//  - Keys and values are arbitrary bytes (0x00 and 0xff included); keys of
//    a family are ordered bytewise (memcmp, then shorter first), as bytea
//    compares and as RocksDB's default comparator does.
//  - Get: the value, or kNotFound.
//  - Scan: the keys beginning with `prefix` (all keys for ""), in key order,
//    strictly after `after` when it is non-empty, from one snapshot (a
//    REPEATABLE READ READ ONLY transaction), fetched page_size rows at a
//    time (never the whole family at once). fn returns false to stop. The
//    scan holds one pool connection until it returns: fn may call PgKv
//    again only if the pool has another connection to give.
//  - Write(batch): every op of the batch or none, in ONE transaction, and
//    durable when it returns OK (as durable as the server's commit). Ops on
//    the same key apply in batch order (the last one wins; counter adds to
//    one key sum up, and a key takes either adds or puts/deletes).
//  - Write(batch, conditions): the same, applied only if every condition
//    holds at commit time (compare-and-swap); otherwise kFailedPrecondition
//    ("condition failed: ...") and nothing is written. Writers of the same
//    key serialize: every Write first takes a transaction-scoped advisory
//    lock per distinct (family, key) it writes or checks, in one global
//    order (so no deadlocks among PgKv writers), then checks the conditions
//    with SELECT ... FOR UPDATE. The lock matters for an expected absence:
//    FOR UPDATE cannot lock a row that does not exist, the advisory lock can
//    stand for it. Two racing CAS on one key: exactly one wins.
//  - Retries serialization failures, deadlocks and connections lost before
//    COMMIT (RunTransaction); kUnavailable when the database stays away.
// Thread-safe.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cache/pg/pool.h"

namespace pier::pg {

// A family name is UTF-8 text without NUL bytes; keys and values are bytes.
struct KvOp {
  std::string family;
  std::string key;
  std::optional<std::string> value;  // nullopt: delete (unless `add`)
  // A counter op: adds to the 8-byte big-endian value (absent: 0) in SQL
  // (INSERT ... ON CONFLICT DO UPDATE), so concurrent adds never lose one.
  std::optional<int64_t> add = std::nullopt;
};

// Holds when the key's value equals `value`, or the key is absent when
// `value` is nullopt.
struct KvCondition {
  std::string family;
  std::string key;
  std::optional<std::string> value;
};

class PgKv {
 public:
  // The pool must outlive the PgKv; the schema (PierMigrations) applied.
  explicit PgKv(Pool* pool, int page_size = 1000) : pool_(pool), page_size_(page_size) {}

  Result<std::string> Get(std::string_view family, std::string_view key) const;
  Result<bool> Has(std::string_view family, std::string_view key) const;

  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  Status Scan(std::string_view family, std::string_view prefix, std::string_view after, const Visitor& fn) const;

  Status Write(const std::vector<KvOp>& batch) const { return Write(batch, {}); }
  Status Write(const std::vector<KvOp>& batch, const std::vector<KvCondition>& conditions) const;

 private:
  Pool* pool_;
  int page_size_;
};

// The smallest key greater than every key beginning with `prefix`; nullopt
// when there is none ("" or all 0xff bytes). Exposed for tests.
std::optional<std::string> PrefixEnd(std::string_view prefix);

}  // namespace pier::pg
