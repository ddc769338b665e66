#include "cache/pg/lease.h"

namespace pier::pg {
namespace {

// Every statement here is one autocommit statement: the row lock of
// INSERT ... ON CONFLICT / UPDATE makes racers take turns, and the loser
// re-evaluates the WHERE against the winner's row (READ COMMITTED).
constexpr const char* kReturning =
    " RETURNING name, holder, token, (extract(epoch FROM expires_at) * 1000)::int8, expires_at > now()";

LeaseInfo Row(const Rows& r, int i) {
  return LeaseInfo{r.Bytes(i, 0), r.Bytes(i, 1), r.Int(i, 2), r.Int(i, 3), r.Int(i, 4) != 0};
}

// Once more on a fresh connection when the link broke: every statement here
// may run twice (acquire/renew by the same holder extends, release and
// enqueue repeat, a repeated claim leaves the first to expire).
Result<Rows> Run(Pool& pool, const std::string& sql, std::initializer_list<Param> params) {
  for (int attempt = 0;; ++attempt) {
    auto h = pool.Acquire();
    if (!h.ok()) return h.status();
    auto r = (*h)->Exec(sql, params);
    if (r.ok() || attempt > 0 || !(*h)->broken()) return r;
  }
}

}  // namespace

Result<std::optional<LeaseInfo>> TryAcquireLease(Pool& pool, std::string_view name, std::string_view holder,
                                                 std::chrono::milliseconds ttl) {
  std::string ms = std::to_string(ttl.count());
  auto r = Run(pool,
               std::string("INSERT INTO pier_leases AS l (name, holder, token, expires_at)"
                           " VALUES ($1, $2, 1, now() + $3::int8 * interval '1 millisecond')"
                           " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                           "  token = CASE WHEN l.holder = excluded.holder AND l.expires_at > now()"
                           "          THEN l.token ELSE l.token + 1 END,"
                           "  expires_at = excluded.expires_at"
                           " WHERE l.expires_at <= now() OR l.holder = excluded.holder") +
                   kReturning,
               {Param::Text(name), Param::Text(holder), Param::Text(ms)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<LeaseInfo>();
  return std::optional<LeaseInfo>(Row(*r, 0));
}

Result<LeaseInfo> RenewLease(Pool& pool, std::string_view name, std::string_view holder,
                             std::chrono::milliseconds ttl) {
  std::string ms = std::to_string(ttl.count());
  auto r = Run(pool,
               std::string("UPDATE pier_leases SET expires_at = now() + $3::int8 * interval '1 millisecond'"
                           " WHERE name = $1 AND holder = $2 AND expires_at > now()") +
                   kReturning,
               {Param::Text(name), Param::Text(holder), Param::Text(ms)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) {
    return Status::FailedPrecondition("lease " + std::string(name) + " is not held by " + std::string(holder) +
                                      " (expired or taken)");
  }
  return Row(*r, 0);
}

Status ReleaseLease(Pool& pool, std::string_view name, std::string_view holder) {
  // Expire rather than delete: the row keeps the token counting up.
  auto r = Run(pool,
               "UPDATE pier_leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND expires_at > now()",
               {Param::Text(name), Param::Text(holder)});
  return r.status();
}

Result<std::vector<LeaseInfo>> ListLeases(Pool& pool) {
  auto r = Run(pool,
               "SELECT name, holder, token, (extract(epoch FROM expires_at) * 1000)::int8, expires_at > now()"
               " FROM pier_leases ORDER BY name",
               {});
  if (!r.ok()) return r.status();
  std::vector<LeaseInfo> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(Row(*r, i));
  return out;
}

Status Enqueue(Pool& pool, std::string_view queue, std::string_view key, std::string_view payload) {
  auto r = Run(pool,
               "INSERT INTO pier_queue (queue, key, payload) VALUES ($1, $2, $3)"
               " ON CONFLICT (queue, key) DO UPDATE SET payload = excluded.payload, holder = NULL,"
               " claim_expires = NULL",
               {Param::Text(queue), Param::Bytes(key), Param::Bytes(payload)});
  return r.status();
}

Result<std::optional<QueueItem>> ClaimNext(Pool& pool, std::string_view queue, std::string_view holder,
                                           std::chrono::milliseconds ttl) {
  std::string ms = std::to_string(ttl.count());
  // SKIP LOCKED: a row another claimer is taking right now is passed over,
  // so N claimers get N different items instead of queueing on the first.
  auto r = Run(pool,
               "UPDATE pier_queue q SET holder = $2, claim_expires = now() + $3::int8 * interval '1 millisecond'"
               " FROM (SELECT key FROM pier_queue WHERE queue = $1"
               "       AND (claim_expires IS NULL OR claim_expires <= now())"
               "       ORDER BY key LIMIT 1 FOR UPDATE SKIP LOCKED) c"
               " WHERE q.queue = $1 AND q.key = c.key RETURNING q.key, q.payload",
               {Param::Text(queue), Param::Text(holder), Param::Text(ms)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<QueueItem>();
  return std::optional<QueueItem>(QueueItem{r->Bytes(0, 0), r->Bytes(0, 1)});
}

Status CompleteClaim(Pool& pool, std::string_view queue, std::string_view key, std::string_view holder) {
  auto r = Run(pool, "DELETE FROM pier_queue WHERE queue = $1 AND key = $2 AND holder = $3 AND claim_expires > now()",
               {Param::Text(queue), Param::Bytes(key), Param::Text(holder)});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) {
    return Status::FailedPrecondition("queue " + std::string(queue) + ": no live claim of " + std::string(holder) +
                                      " on that item");
  }
  return Status::OK();
}

}  // namespace pier::pg
