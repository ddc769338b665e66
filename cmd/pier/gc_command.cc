#include "cmd/pier/gc_command.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "base/human_bytes.h"
#include "cache/gc/gc_service.h"
#include "cache/store.h"
#include "cmd/pier/config.h"
#include "cmd/pier/storage_backend.h"
#include "replication/execution_store.h"
#include "replication/gc_pins.h"

namespace pier::cli {

const char* const kGcUsage =
    "usage: pier gc --data DIR [--config FILE] [--dry-run] [--delete-untagged]\n"
    "               [--grace-seconds N] [--workers N]\n"
    "  Collects garbage in the data folder of a stopped Pier (a running one: use\n"
    "  POST /api/v2.0/system/gc/schedule with {\"schedule\":{\"type\":\"Manual\"}}).\n"
    "  --config FILE        read gc.* and uploads.max_age_hours from Pier's config\n"
    "  --dry-run            list what would go and how many bytes; change nothing\n"
    "  --delete-untagged    also delete manifests no tag names\n"
    "  --grace-seconds N    keep what was written or read in the last N seconds\n"
    "                       (default gc.grace_seconds, 7200)\n"
    "  --workers N          repositories swept side by side, 1..10 (default 1)\n"
    "  Exits 0 on success, 1 on error, 2 on usage errors.\n";

namespace {

int Usage(const std::string& why) {
  std::fprintf(stderr, "pier gc: %s\n%s", why.c_str(), kGcUsage);
  return 2;
}

bool ParseNumber(const std::string& s, int64_t lo, int64_t hi, int64_t* out) {
  if (s.empty() || s.size() > 12 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  int64_t v = std::stoll(s);
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool MentionsLock(std::string m) {
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  return m.find("lock") != std::string::npos;
}

std::string Figure(uint64_t bytes) { return HumanBytes(bytes) + " (" + std::to_string(bytes) + " bytes)"; }

}  // namespace

int Gc(int argc, char** argv) {
  std::string data, config;
  bool dry_run = false, delete_untagged = false;
  std::optional<int64_t> grace, workers;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool has_value = false;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    auto take = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kGcUsage, stdout);
      return 0;
    } else if (a == "--dry-run" && !has_value) {
      dry_run = true;
    } else if (a == "--delete-untagged" && !has_value) {
      delete_untagged = true;
    } else if (a == "--data" || a == "--config") {
      if (!take() || value.empty()) return Usage(a + " needs a value");
      (a == "--data" ? data : config) = value;
    } else if (a == "--grace-seconds" || a == "--workers") {
      int64_t v = 0;
      bool is_workers = a == "--workers";
      if (!take() || !ParseNumber(value, is_workers ? 1 : 0, is_workers ? 10 : int64_t{1} << 40, &v)) {
        return Usage(a + (is_workers ? " must be an integer in [1, 10]" : " must be a non-negative integer"));
      }
      (is_workers ? workers : grace) = v;
    } else {
      return Usage("unexpected argument " + a);
    }
  }
  if (data.empty()) return Usage("--data DIR is required");
  std::error_code ec;
  if (!std::filesystem::is_directory(data, ec)) {
    std::fprintf(stderr, "pier gc: %s is not a Pier data folder (no such directory)\n", data.c_str());
    return 1;
  }

  Config cfg;
  if (!config.empty()) {
    if (Status s = LoadConfigFile(config, &cfg); !s.ok()) {
      std::fprintf(stderr, "pier gc: config: %s\n", s.message().c_str());
      return 1;
    }
  }
  // Offline GC assumes no client can race it; replicas sharing a database
  // may be serving right now, so they collect through the API instead.
  if (cfg.metadata.type == "postgres") {
    std::fprintf(stderr,
                 "pier gc: metadata.type is \"postgres\": other replicas may be running, so an offline GC is not safe.\n"
                 "Collect garbage through the API of a running replica (POST /api/v2.0/system/gc/schedule).\n");
    return 1;
  }
  // The blobs' home comes from the config (a data folder on S3 refuses to
  // open without it: cache/storage_marker.h).
  auto blob_storage = OpenBlobStorage(cfg.storage);
  if (!blob_storage.ok()) {
    std::fprintf(stderr, "pier gc: storage: %s\n", blob_storage.status().message().c_str());
    return 1;
  }
  Store::Options so;
  so.root = data;
  so.blob_storage = *blob_storage;
  so.upload_max_age_seconds = cfg.upload_max_age_hours * 3600;
  so.warm_upload_bytes = 0;  // nothing is uploaded here
  so.reads_at_open = false;  // offline: no client read anything a GC must wait for
  auto store = Store::Open(so);
  if (!store.ok()) {
    if (MentionsLock(store.status().message())) {
      std::fprintf(stderr,
                   "pier gc: %s is in use by a running Pier (%s).\n"
                   "Stop Pier first, or collect garbage through its API:\n"
                   "  curl -u ADMIN -X POST -H 'Content-Type: application/json' \\\n"
                   "    -d '{\"schedule\":{\"type\":\"Manual\"}}' http://PIER/api/v2.0/system/gc/schedule\n",
                   data.c_str(), store.status().message().c_str());
    } else {
      std::fprintf(stderr, "pier gc: opening %s: %s\n", data.c_str(), store.status().message().c_str());
    }
    return 1;
  }
  std::shared_ptr<Store> shared_store = std::move(*store);
  // The same pins as online: what unfinished replications still have to send.
  auto executions = replication::ExecutionStore::Open(*shared_store);
  if (!executions.ok()) {
    std::fprintf(stderr, "pier gc: replication executions: %s\n", executions.status().message().c_str());
    return 1;
  }
  gc::GcServiceOptions go;
  go.pins = replication::PinsHook(std::shared_ptr<replication::ExecutionStore>(std::move(*executions)));
  go.grace_seconds = grace.value_or(cfg.gc.grace_seconds);
  go.echo = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  auto service = gc::GcService::Open(shared_store, go);
  if (!service.ok()) {
    std::fprintf(stderr, "pier gc: %s\n", service.status().message().c_str());
    return 1;
  }
  gc::GcParameters p;
  p.dry_run = dry_run;
  p.delete_untagged = delete_untagged || (!config.empty() && cfg.gc.delete_untagged);
  p.workers = static_cast<int>(workers.value_or(cfg.gc.workers));
  auto started = (*service)->StartRun(gc::kKindManual, p);
  if (!started.ok()) {
    std::fprintf(stderr, "pier gc: %s\n", started.status().message().c_str());
    return 1;
  }
  (*service)->Wait();
  auto run = (*service)->Get(started->id);
  if (!run.ok()) {
    std::fprintf(stderr, "pier gc: %s\n", run.status().message().c_str());
    return 1;
  }
  if (run->status != gc::kSuccess || !run->report) {
    std::fprintf(stderr, "pier gc: run %lld ended %s: %s\n", static_cast<long long>(run->id), run->status.c_str(),
                 run->error.c_str());
    return 1;
  }
  const GcReport& r = *run->report;
  const uint64_t freed = r.blob_bytes_deleted + r.upload_bytes_deleted + r.orphan_bytes_deleted;
  const bool nothing = freed == 0 && r.blobs_deleted + r.manifests_deleted + r.links_deleted + r.uploads_deleted +
                                         r.orphans_deleted == 0;
  std::printf("%s %s: %llu blobs, %llu manifests, %llu links, %llu uploads, %llu orphans; "
              "kept for replication: %s%s\n",
              dry_run ? "would free" : "freed", Figure(freed).c_str(),
              static_cast<unsigned long long>(r.blobs_deleted), static_cast<unsigned long long>(r.manifests_deleted),
              static_cast<unsigned long long>(r.links_deleted), static_cast<unsigned long long>(r.uploads_deleted),
              static_cast<unsigned long long>(r.orphans_deleted), Figure(r.pinned_bytes).c_str(),
              nothing ? " (nothing to collect)" : "");
  return 0;
}

}  // namespace pier::cli
