#pragma once
// Connection: one libpq connection to PostgreSQL, with parameterized queries
// and errors turned into pier::Status.
//
// Promises:
//  - The password is given apart from the DSN (it comes from a file) and
//    never appears in any Status, message or log line, even if libpq or the
//    server were to echo it.
//  - Parameters travel out of line (PQexecParams), text or binary; bytea
//    goes binary, so every byte value round-trips unescaped. Results come
//    back in binary format: text and bytea columns are their raw bytes,
//    integers are decoded by Int().
//  - Errors: the message starts "SQLSTATE XXXXX: " when the server gave one
//    (SqlState() reads it back). Codes:
//      connection failure, class 08, 57P01-57P05, 53300  -> kUnavailable
//      23505 unique_violation                            -> kAlreadyExists
//      40001 serialization_failure, 40P01 deadlock       -> kFailedPrecondition
//      other class 23 (integrity), 22 (data)             -> kInvalidArgument
//      anything else                                     -> kInternal
//    40001/40P01 share kFailedPrecondition with "state forbids it" errors
//    (a failed compare-and-swap, kv.h): IsRetryable() tells them apart by
//    the SQLSTATE, and RunTransaction (transaction.h) retries only those.
//  - broken() turns true once the connection is known dead; the pool drops
//    such a connection instead of handing it out again.
// Not thread-safe: one thread uses a connection at a time (the pool hands
// each out to one owner).
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct pg_conn;
struct pg_result;

namespace pier::pg {

// One query parameter. The bytes are referenced, not copied: they must live
// until Exec returns.
struct Param {
  std::string_view data;
  bool binary = false;
  bool null = false;
  static Param Text(std::string_view s) { return {s, false, false}; }
  static Param Bytes(std::string_view s) { return {s, true, false}; }
  static Param Null() { return {{}, false, true}; }
};

// A query's rows (binary format). Movable, owns the libpq result.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* r);
  ~Rows();
  Rows(Rows&& o) noexcept;
  Rows& operator=(Rows&& o) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;

  int rows() const;
  int columns() const;
  // Rows changed by an INSERT/UPDATE/DELETE (0 for anything else).
  int64_t affected() const;
  bool IsNull(int row, int col) const;
  // The raw bytes of a text or bytea value (empty for NULL).
  std::string_view Value(int row, int col) const;
  std::string Bytes(int row, int col) const { return std::string(Value(row, col)); }
  // An int2/int4/int8 (or bool) value; 0 for NULL.
  int64_t Int(int row, int col) const;

 private:
  pg_result* r_ = nullptr;
};

// The SQLSTATE a Status from this library carries ("" when none).
std::string SqlState(const Status& s);
// A transaction that failed with this can be run again from the start
// (serialization failure 40001, deadlock 40P01).
bool IsRetryable(const Status& s);

class Connection {
 public:
  struct Options {
    std::string dsn;       // libpq conninfo ("host=... port=... dbname=... user=...")
    std::string password;  // kept out of dsn on purpose
    // Applied when the DSN sets no connect_timeout (libpq's unit: seconds).
    std::chrono::seconds connect_timeout{10};
  };
  // kUnavailable when the server cannot be reached or refuses the login.
  static Result<std::unique_ptr<Connection>> Connect(const Options& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with out-of-line parameters ($1, $2, ...).
  Result<Rows> Exec(std::string_view sql, std::initializer_list<Param> params = {});
  Result<Rows> Exec(std::string_view sql, const std::vector<Param>& params);
  // Runs a script of one or more statements without parameters (DDL,
  // migrations). Results are discarded.
  Status ExecScript(std::string_view sql);
  // SELECT 1: the connection and the server work.
  Status Ping();

  // Known dead (a query failed for the connection, or the server said so).
  bool broken() const;
  // Inside a transaction block (or one that failed and awaits ROLLBACK).
  bool in_transaction() const;
  // In a transaction block where a statement failed (only ROLLBACK works).
  bool in_failed_transaction() const;
  // Without a round trip: reads what the server sent on an idle connection
  // (a server shutting down says goodbye) and reports whether it is still
  // usable. For the pool, before handing out an idle connection.
  bool LooksAlive();

 private:
  Connection(pg_conn* c, std::string password, std::string where)
      : conn_(c), password_(std::move(password)), where_(std::move(where)) {}
  Result<Rows> Run(std::string_view sql, const Param* params, size_t n);
  Status ErrorFrom(pg_result* r, std::string_view what);
  std::string Scrub(std::string msg) const;

  pg_conn* conn_;
  std::string password_;  // only to scrub messages
  std::string where_;     // host:port/db for messages (no secrets)
  bool broken_ = false;
};

}  // namespace pier::pg
