#pragma once
// SharedTouches: the reads garbage collection must see (TouchTable's job)
// when replicas share their records, so a GC on the leader keeps what a
// client just read through another replica (docker HEADs a layer on one
// replica, skips its upload, and PUTs a manifest naming it on another).
//
// A read is written to the "touches" family when this replica has not
// written that (repository, digest) within the last `coalesce` (1 s): at
// most one database write per key per second per replica (a hundred nodes
// pulling one image in the same second write each layer once), made within
// the read's own request, so no GC anywhere can miss it. A row then says "read
// at t, maybe again until t + coalesce": LastTouch answers t + coalesce,
// which errs on keeping. Rows are deleted by ForgetBefore (GC, once past its
// grace). Bounded memory: at most `capacity` keys remembered; when full the
// memory is cleared (the next reads write again). Thread-safe.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"
#include "cache/db.h"

namespace pier {

class SharedTouches {
 public:
  SharedTouches(Db* db, Family family, std::chrono::seconds coalesce = std::chrono::seconds(1),
                size_t capacity = size_t{1} << 20)
      : db_(db), family_(family), coalesce_(coalesce.count()), capacity_(capacity) {}

  Status Touch(std::string_view repo, std::string_view digest, int64_t now_unix);
  // The latest moment the rows say (repo, digest) may have been read; 0: never.
  Result<int64_t> LastTouch(std::string_view repo, std::string_view digest) const;
  // Deletes the rows that protect nothing after `unix_seconds`.
  Status ForgetBefore(int64_t unix_seconds);

 private:
  Db* const db_;
  const Family family_;
  const int64_t coalesce_;
  const size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, int64_t> written_;  // key -> time this replica last wrote
};

}  // namespace pier
