#pragma once
// Leases: named, time-limited ownership shared by replicas (who runs the
// scheduler, who sweeps garbage), and a work queue whose items are claimed
// the same way. Kept in pier_leases and pier_queue (migrations.cc).
//
// Promises:
//  - Time is the database's clock (now()): replicas' clocks need not agree,
//    and a TTL counts from when the server ran the statement.
//  - At most one holder per name at a time: TryAcquireLease succeeds when
//    the name is free, expired (its holder died or stalled), or already
//    held by the same holder (then it extends it); a live lease of another
//    holder is never taken.
//  - token goes up with every new tenure (a free or expired lease taken,
//    by anyone) and stays while a live holder extends it; release keeps the
//    row, so it never goes back: a fencing token a holder can attach to what
//    it writes, so writes of a holder that lost the lease while stalled can
//    be told apart.
//  - RenewLease extends only a live lease of the same holder. An expired
//    one is not revived, even if nobody took it: the holder must assume it
//    lost it and acquire it again (and see the token).
//  - ReleaseLease expires it at once if `holder` holds it; otherwise nothing.
//  - ClaimNext hands each ready item to one claimer: rows being claimed by
//    others are skipped (FOR UPDATE SKIP LOCKED), not waited for; an item
//    whose claim expired is claimable again; CompleteClaim removes an item
//    only for the holder of a live claim.
// Holders should be unique per process incarnation (e.g. host + pid +
// start time): a restarted process is a new holder. Thread-safe.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cache/pg/pool.h"

namespace pier::pg {

struct LeaseInfo {
  std::string name;
  std::string holder;
  int64_t token = 0;
  int64_t expires_unix_ms = 0;  // by the database clock
  bool live = false;            // expires_at > now() when read
};

// The lease when `holder` holds it now; nullopt when another live holder does.
Result<std::optional<LeaseInfo>> TryAcquireLease(Pool& pool, std::string_view name, std::string_view holder,
                                                 std::chrono::milliseconds ttl);
// kFailedPrecondition when `holder` does not hold a live lease on `name`.
Result<LeaseInfo> RenewLease(Pool& pool, std::string_view name, std::string_view holder,
                             std::chrono::milliseconds ttl);
Status ReleaseLease(Pool& pool, std::string_view name, std::string_view holder);
// Every lease row, live or expired, by name.
Result<std::vector<LeaseInfo>> ListLeases(Pool& pool);

struct QueueItem {
  std::string key;
  std::string payload;
};
// Adds (or replaces, unclaiming it) an item of `queue`.
Status Enqueue(Pool& pool, std::string_view queue, std::string_view key, std::string_view payload);
// Claims the first item (by key) nobody holds a live claim on, for ttl;
// nullopt when there is none.
Result<std::optional<QueueItem>> ClaimNext(Pool& pool, std::string_view queue, std::string_view holder,
                                           std::chrono::milliseconds ttl);
// Removes an item `holder` holds a live claim on; kFailedPrecondition otherwise.
Status CompleteClaim(Pool& pool, std::string_view queue, std::string_view key, std::string_view holder);

}  // namespace pier::pg
