#pragma once
// The store's Db (cache/db.h) in PostgreSQL, for replicas sharing one
// database: families are rows of pier_kv (kv.h), each Write one
// transaction, Lock an advisory lock held by this process.
//
// Promises, beyond Db's:
//  - Open checks the login, applies the schema migrations (migrations.h)
//    and refuses a database newer than this binary.
//  - shared() is true: every replica sees every committed write at once;
//    Lock excludes across replicas. Locks are session-level advisory locks
//    on one connection of their own (so a thousand held locks cost one
//    connection, not a thousand): a process that dies loses its locks with
//    its connection, and nobody waits for a dead replica. If that
//    connection breaks while locks are held, they are gone in the database
//    (logged); holders finish their step, and the next Lock reconnects.
//  - Lock(wait=true) polls (1 ms growing to 50 ms) for up to 30 s, then
//    Unavailable; wait=false answers at once (FailedPrecondition if held).
#include <cstddef>
#include <memory>

#include "cache/db.h"
#include "cache/pg/connection.h"

namespace pier::pg {

struct PgDbOptions {
  Connection::Options connection;
  // Connections for reads and writes (a Scan holds one while it runs).
  size_t pool_size = 16;
};

Result<std::unique_ptr<Db>> OpenPgDb(const PgDbOptions& options);

}  // namespace pier::pg
