#pragma once
// Versioned schema migrations, applied when a replica starts.
//
// Promises:
//  - Each migration runs in its own transaction together with its row in
//    pier_schema_migrations(version, name, applied_at): applied completely
//    and recorded, or not at all.
//  - Replicas starting at once apply each migration exactly once: every
//    step holds a transaction-scoped advisory lock (pg_advisory_xact_lock,
//    released by COMMIT/ROLLBACK, so a crashed starter never leaves it held)
//    and re-reads the applied versions under it.
//  - Idempotent: running again applies nothing.
//  - Refuses (kFailedPrecondition, naming both versions) a database whose
//    schema is newer than the newest migration this binary knows, and one
//    where an applied version carries another name than the binary's (two
//    builds disagree on what version N is); nothing is changed then.
#include <string>
#include <vector>

#include "base/status.h"
#include "cache/pg/pool.h"

namespace pier::pg {

struct Migration {
  int version;  // ascending, unique, > 0
  std::string name;
  std::string sql;  // one or more statements
};

// The schema of this library (kv.h, lease.h), in order.
const std::vector<Migration>& PierMigrations();

// Applies the migrations the database lacks. Returns the schema version the
// database has afterwards.
Result<int> Migrate(Pool& pool, const std::vector<Migration>& migrations);

// The highest applied version (0 for a database never migrated).
Result<int> SchemaVersion(Pool& pool);

}  // namespace pier::pg
