#include "cache/pg/migrations.h"

#include <map>

#include "cache/pg/transaction.h"

namespace pier::pg {
namespace {

// The two-int advisory lock space ("pier", "schema"): apart from the
// one-bigint keys PgKv locks (PostgreSQL keeps the two spaces separate).
constexpr const char* kLockSql = "SELECT pg_advisory_xact_lock(1885955442, 1)";

constexpr const char* kTableSql =
    "CREATE TABLE IF NOT EXISTS pier_schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

// version -> name of what the database has applied (call under the lock).
Result<std::map<int, std::string>> Applied(Connection& c) {
  auto r = c.Exec("SELECT version::int8, name FROM pier_schema_migrations ORDER BY version");
  if (!r.ok()) return r.status();
  std::map<int, std::string> out;
  for (int i = 0; i < r->rows(); ++i) out[static_cast<int>(r->Int(i, 0))] = r->Bytes(i, 1);
  return out;
}

Status Check(const std::map<int, std::string>& applied, const std::vector<Migration>& list) {
  int known = list.empty() ? 0 : list.back().version;
  if (!applied.empty() && applied.rbegin()->first > known) {
    return Status::FailedPrecondition("postgres schema: the database is at version " +
                                      std::to_string(applied.rbegin()->first) + " but this binary knows only up to " +
                                      std::to_string(known) + " (a newer Pier migrated it; upgrade this one)");
  }
  for (const Migration& m : list) {
    auto it = applied.find(m.version);
    if (it != applied.end() && it->second != m.name) {
      return Status::FailedPrecondition("postgres schema: version " + std::to_string(m.version) + " is \"" +
                                        it->second + "\" in the database but \"" + m.name + "\" in this binary");
    }
  }
  return Status::OK();
}

}  // namespace

Result<int> SchemaVersion(Pool& pool) {
  int version = 0;
  PIER_TRY(RunTransaction(pool, [&](Connection& c) -> Status {
    auto r = c.Exec("SELECT to_regclass('pier_schema_migrations') IS NOT NULL");
    if (!r.ok()) return r.status();
    if (r->Int(0, 0) == 0) return Status::OK();
    auto v = c.Exec("SELECT coalesce(max(version), 0)::int8 FROM pier_schema_migrations");
    if (!v.ok()) return v.status();
    version = static_cast<int>(v->Int(0, 0));
    return Status::OK();
  }));
  return version;
}

Result<int> Migrate(Pool& pool, const std::vector<Migration>& list) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].version <= 0 || (i > 0 && list[i].version <= list[i - 1].version)) {
      return Status::InvalidArgument("postgres schema: migration versions must ascend from 1 (\"" + list[i].name + "\")");
    }
  }
  // The bookkeeping table first, under the lock: concurrent CREATE TABLE IF
  // NOT EXISTS can still collide in the catalog without it.
  PIER_TRY(RunTransaction(pool, [&](Connection& c) -> Status {
    PIER_TRY(c.ExecScript(kLockSql));
    PIER_TRY(c.ExecScript(kTableSql));
    auto applied = Applied(c);
    if (!applied.ok()) return applied.status();
    return Check(*applied, list);
  }));
  for (const Migration& m : list) {
    PIER_TRY(RunTransaction(pool, [&](Connection& c) -> Status {
      PIER_TRY(c.ExecScript(kLockSql));
      auto applied = Applied(c);
      if (!applied.ok()) return applied.status();
      PIER_TRY(Check(*applied, list));
      if (applied->count(m.version) != 0) return Status::OK();  // another starter did it
      PIER_TRY(c.ExecScript(m.sql));
      std::string v = std::to_string(m.version);
      auto r = c.Exec("INSERT INTO pier_schema_migrations (version, name) VALUES ($1::int4, $2)",
                      {Param::Text(v), Param::Text(m.name)});
      return r.status();
    }));
  }
  return SchemaVersion(pool);
}

const std::vector<Migration>& PierMigrations() {
  static const std::vector<Migration> kList = {
      {1, "kv",
       // One table for every family (kv.h explains why). bytea compares
       // bytewise, with no collation: the order RocksDB's default comparator
       // gives. The primary key's btree serves Get and ordered range scans.
       "CREATE TABLE pier_kv ("
       " family text COLLATE \"C\" NOT NULL,"
       " key bytea NOT NULL,"
       " value bytea NOT NULL,"
       " PRIMARY KEY (family, key))"},
      {2, "leases",
       // expires_at is always computed by the database clock (now()), so
       // replicas' clocks never need to agree. token counts changes of hands.
       "CREATE TABLE pier_leases ("
       " name text COLLATE \"C\" PRIMARY KEY,"
       " holder text NOT NULL,"
       " token bigint NOT NULL,"
       " expires_at timestamptz NOT NULL)"},
      {3, "queue",
       "CREATE TABLE pier_queue ("
       " queue text COLLATE \"C\" NOT NULL,"
       " key bytea NOT NULL,"
       " payload bytea NOT NULL,"
       " holder text,"
       " claim_expires timestamptz,"
       " PRIMARY KEY (queue, key))"},
  };
  return kList;
}

}  // namespace pier::pg
