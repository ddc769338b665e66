// The webhook intake's dedup memory, see seen_events.h. Key encoding (also in
// cache/keys.h):
//   "harbor/<event id>"                    "<unix ms> <type> <repo> <reference>"
//   "t/<20-digit unix ms>/harbor/<id>"     ""   time index, oldest first
#include "replication/seen_events.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <vector>

#include "base/internal_errors.h"

namespace pier::replication {
namespace {

constexpr std::string_view kTimePrefix = "t/";
constexpr size_t kBatch = 1000;

std::string TimeKey(int64_t ms, std::string_view key) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld/", static_cast<long long>(ms));
  return std::string(kTimePrefix) + buf + std::string(key);
}

int64_t NowMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

// The time at the start of a value, if it has one (values of an older Pier do not).
bool ValueTime(std::string_view value, int64_t* ms) {
  size_t sp = value.find(' ');
  std::string_view digits = value.substr(0, sp);
  if (digits.empty()) return false;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *ms);
  return ec == std::errc() && p == digits.data() + digits.size();
}

// "t/<20 digits>/<key>" → ms and key.
bool ParseTimeKey(std::string_view k, int64_t* ms, std::string_view* key) {
  if (k.size() < kTimePrefix.size() + 21 || k[kTimePrefix.size() + 20] != '/') return false;
  std::string_view digits = k.substr(kTimePrefix.size(), 20);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *ms);
  if (ec != std::errc() || p != digits.data() + digits.size()) return false;
  *key = k.substr(kTimePrefix.size() + 21);
  return true;
}

Status WriteInBatches(KvSpace& space, std::vector<KvSpace::Op>& ops) {
  for (size_t i = 0; i < ops.size(); i += kBatch) {
    std::vector<KvSpace::Op> part(
        ops.begin() + static_cast<std::ptrdiff_t>(i),
        ops.begin() + static_cast<std::ptrdiff_t>(std::min(ops.size(), i + kBatch)));
    if (Status s = space.Write(part); !s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace

SeenEvents::SeenEvents(std::shared_ptr<KvSpace> space, const Clock& clock, SeenEventsOptions options)
    : space_(std::move(space)), clock_(clock), options_(options) {}

Result<std::unique_ptr<SeenEvents>> SeenEvents::Open(std::shared_ptr<KvSpace> space, const Clock& clock,
                                                     SeenEventsOptions options) {
  std::unique_ptr<SeenEvents> events(new SeenEvents(std::move(space), clock, options));
  // Events recorded before the time index existed: indexed as of now.
  const int64_t now = NowMs(clock);
  std::vector<KvSpace::Op> ops;
  Status scan = events->space_->Scan("harbor/", [&](std::string_view key, std::string_view value) {
    int64_t ms = 0;
    if (!ValueTime(value, &ms)) {
      ops.emplace_back(std::string(key), std::to_string(now) + " " + std::string(value));
      ops.emplace_back(TimeKey(now, key), std::string());
    }
    return true;
  });
  if (!scan.ok()) return scan;
  if (Status s = WriteInBatches(*events->space_, ops); !s.ok()) return s;
  auto pruned = events->Prune();
  if (!pruned.ok()) return pruned.status();
  return events;
}

Result<bool> SeenEvents::RecordIfNew(std::string_view key, std::string_view what) {
  std::lock_guard<std::mutex> lock(mu_);
  auto old = space_->Get(key);
  if (old.ok()) return false;
  if (old.status().code() != Code::kNotFound) return old.status();
  const int64_t now = NowMs(clock_);
  Status s = space_->Write({{std::string(key), std::to_string(now) + " " + std::string(what)},
                            {TimeKey(now, key), std::string()}});
  if (!s.ok()) return s;
  if (++since_prune_ >= options_.prune_every) {
    auto pruned = PruneLocked();
    if (!pruned.ok()) ReportInternalError("webhook", "pruning seen webhook events", pruned.status());
  }
  return true;
}

Result<size_t> SeenEvents::Prune() {
  std::lock_guard<std::mutex> lock(mu_);
  return PruneLocked();
}

Result<size_t> SeenEvents::PruneLocked() {
  since_prune_ = 0;
  size_t total = 0;
  Status counted = space_->Scan(kTimePrefix, [&](std::string_view, std::string_view) {
    ++total;
    return true;
  });
  if (!counted.ok()) return counted;
  const int64_t cutoff =
      NowMs(clock_) - std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_age).count();
  size_t left = total;
  std::vector<KvSpace::Op> ops;
  Status scan = space_->Scan(kTimePrefix, [&](std::string_view k, std::string_view) {
    int64_t ms = 0;
    std::string_view key;
    bool parsed = ParseTimeKey(k, &ms, &key);
    if (parsed && ms >= cutoff && left <= options_.max_entries) return false;  // the rest is newer
    ops.emplace_back(std::string(k), std::nullopt);
    if (parsed) ops.emplace_back(std::string(key), std::nullopt);
    --left;
    return true;
  });
  if (!scan.ok()) return scan;
  if (Status s = WriteInBatches(*space_, ops); !s.ok()) return s;
  return total - left;
}

}  // namespace pier::replication
