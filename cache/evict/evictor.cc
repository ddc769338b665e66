#include "cache/evict/evictor.h"

#include <sys/statvfs.h>

#include "base/internal_errors.h"
#include "base/log.h"

namespace pier::evict {

std::optional<FsUsage> Evictor::Statvfs(const std::filesystem::path& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return std::nullopt;
  return FsUsage{static_cast<uint64_t>(v.f_blocks) * v.f_frsize, static_cast<uint64_t>(v.f_bavail) * v.f_frsize};
}

Evictor::Evictor(std::shared_ptr<Store> store, EvictorOptions options)
    : store_(std::move(store)), o_(std::move(options)) {}

Evictor::~Evictor() { Stop(); }

void Evictor::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Evictor::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Evictor::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    if (auto r = CheckNow(); !r.ok()) ReportInternalError("evict", "capacity eviction failed", r.status());
    lock.lock();
    cv_.wait_for(lock, o_.interval, [&] { return stop_; });
  }
}

std::optional<std::pair<uint64_t, uint64_t>> Evictor::Measure() const {
  if (o_.max_bytes > 0) return std::pair{store_->GetStats().blob_bytes, o_.max_bytes};
  auto fs = o_.probe ? o_.probe(o_.dir) : Statvfs(o_.dir);
  if (!fs || fs->total == 0) return std::nullopt;
  return std::pair{fs->total - std::min(fs->available, fs->total), fs->total};
}

void Evictor::Fill(EvictorStats* s) const {
  auto m = Measure();
  s->known = m.has_value();
  if (!m) return;
  std::tie(s->used_bytes, s->capacity_bytes) = *m;
  // Whole percent of capacity; 128-bit so a petabyte max_bytes cannot overflow.
  s->high_bytes = static_cast<uint64_t>(static_cast<unsigned __int128>(s->capacity_bytes) * o_.high_watermark_percent / 100);
  s->low_bytes = static_cast<uint64_t>(static_cast<unsigned __int128>(s->capacity_bytes) * o_.low_watermark_percent / 100);
}

Result<EvictReport> Evictor::CheckNow() {
  std::lock_guard check(check_mu_);
  EvictorStats now;
  Fill(&now);
  const uint64_t used = now.used_bytes, high = now.high_bytes, low = now.low_bytes;
  if (!now.known || used <= high) {
    std::lock_guard lock(mu_);
    if (now.known) stats_.blocked = false;
    return EvictReport{};
  }

  EvictOptions eo;
  eo.bytes_to_free = used - low;
  eo.evict_hosted = o_.evict_replicated;
  eo.replicated = o_.replicated;
  eo.min_idle_seconds = o_.min_idle_seconds;
  if (o_.pins) eo.pinned = o_.pins();
  eo.log = [](const std::string& line) { log::Info("evict", {{"what", line}}); };
  log::Info("capacity eviction", {{"used_bytes", std::to_string(used)},
                                  {"high_watermark_bytes", std::to_string(high)},
                                  {"to_free_bytes", std::to_string(eo.bytes_to_free)}});
  auto report = store_->Evict(eo);
  if (!report.ok()) return report.status();
  const bool blocked = report->freed_bytes() < eo.bytes_to_free;
  if (blocked) {
    log::Warn("capacity eviction could not free enough",
              {{"freed_bytes", std::to_string(report->freed_bytes())},
               {"asked_bytes", std::to_string(eo.bytes_to_free)},
               {"pinned_images", std::to_string(report->pinned_images)},
               {"unsafe_images", std::to_string(report->unsafe_images)},
               {"in_use_images", std::to_string(report->in_use_images)}});
  }
  std::lock_guard lock(mu_);
  ++stats_.passes;
  stats_.evicted_cached_bytes += report->cached_bytes;
  stats_.evicted_replicated_bytes += report->replicated_bytes;
  stats_.images_evicted += report->images_evicted;
  stats_.blocked = blocked;
  return report;
}

EvictorStats Evictor::GetStats() const {
  EvictorStats s;
  {
    std::lock_guard lock(mu_);
    s = stats_;
  }
  Fill(&s);
  return s;
}

}  // namespace pier::evict
