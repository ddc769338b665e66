#pragma once
// RocksDB column families and key encodings: the one place that says what
// is stored where. Repository names never contain '\0' (names.h forbids all
// but [a-z0-9._/-]), so '\0' separates the parts of compound keys and keeps
// prefix scans exact and lexically ordered.
//
// column family    key                               value
// blobs            <digest>                          BlobRecord (size, created, origin)
// links            <repo>\0<digest>                  ""   repo may read this blob
// blob_repos       <digest>\0<repo>                  ""   reverse of links: refcount
// manifests        <repo>\0<digest>                  ManifestRecord (media type, subject, bytes)
// tags             <repo>\0<tag>                     <digest>
// referrers        <repo>\0<subject>\0<digest>       descriptor JSON
// uploads          <uuid>                            UploadRecord (repo, offset, started)
// repos            <repo>                            ""   catalog
//
// Column family the store keeps beside its own (quota_book.h):
// quotas           "next_id"                         last allocated quota id (decimal)
//                  "p/<project>"                     {"id","hard","created","updated"}: a project's limit
// pulls            <repo>\0<digest>                  i64le unix seconds: last GET of the manifest,
//                                                    written in batches (pull_times.h)
//
// Column families owned by other components (Store::OpenKeySpace):
// repl_registries  "next_id"                         last allocated endpoint id (decimal)
//                  "id/<20-digit zero-padded id>"    endpoint JSON (replication/state_store.cc; secret included)
// repl_policies    "next_id"                         last allocated policy id (decimal)
//                  "id/<20-digit zero-padded id>"    policy JSON (replication/state_store.cc)
// repl_executions  "next_execution_id", "next_task_id" last allocated ids
//                  "e/<20-digit exec id>"            execution JSON (replication/execution_store.cc)
//                  "t/<20-digit exec id>/<20-digit task id>"  task JSON
//                  "l/<20-digit task id>/<20-digit seq>"      one task log line
// repl_progress    "u/<20-digit dest id>/<digest>"   upload in progress at a destination (replication/progress_store.cc)
//                  "k/<20-digit dest id>/<digest>\0<repo>"  "" : the destination holds the blob in repo
//                  "m/<20-digit dest id>/<digest>\0<repo>"  "" : the destination accepted the manifest in repo
// repl_events      "harbor/<event id>"               "<unix ms> <type> <repo> <reference>": a Harbor webhook
//                                                    event accepted once (replication/seen_events.cc, dedup)
//                  "t/<20-digit unix ms>/harbor/<event id>"  "" : time index, oldest first; events past
//                                                    7 days or beyond the newest 50,000 are pruned
// gc               "next_id"                         last allocated GC run id (decimal)
//                  "run/<20-digit run id>"           GC run JSON: kind, status, parameters, times,
//                                                    report, log lines dropped (cache/gc/gc_service.cc)
//                  "log/<20-digit run id>/<20-digit line no>"  one run log line (at most 10,000 per run)
//                  "schedule"                        the GC schedule set through the API: type, cron,
//                                                    parameters; absent: the config's gc.schedule
// retention        "next_id", "next_execution_id", "next_task_id"  last allocated ids (decimal)
//                  "p/<20-digit policy id>"          Harbor retention policy JSON (cache/retention/)
//                  "e/<20-digit policy id>/<20-digit exec id>"  execution JSON
//                  "t/<20-digit exec id>/<20-digit task id>"    task JSON (one per repository)
//                  "l/<20-digit task id>"            the task's log (text)
// counts           only with records shared by replicas (cache/counted_batch.h):
//                  "ref\0<project>\0<b|m><digest>"  16 bytes: holders (repositories of the project
//                                                    holding the blob or manifest), size; big-endian
//                  "used\0<project>\0<shard>"        counter: bytes the project holds
//                  "blobs\0<shard>", "blob_bytes\0<shard>"  counters: blob records and their sizes
//                  "built"                           the rows above were derived from the records
// touches          only with shared records (cache/shared_touches.h):
//                  "<repo>\0<digest>"                 8 bytes: when a replica last wrote a read of it
//
// <digest> is the full "sha256:<hex>" string. The encodings of BlobRecord,
// UploadRecord and ManifestRecord are in records.h; descriptor JSON is
// DescriptorJson() of manifest.h.
#include <string>
#include <string_view>

namespace pier::keys {

inline constexpr char kBlobs[] = "blobs";
inline constexpr char kLinks[] = "links";
inline constexpr char kBlobRepos[] = "blob_repos";
inline constexpr char kManifests[] = "manifests";
inline constexpr char kTags[] = "tags";
inline constexpr char kReferrers[] = "referrers";
inline constexpr char kUploads[] = "uploads";
inline constexpr char kRepos[] = "repos";
inline constexpr char kQuotas[] = "quotas";
inline constexpr char kPulls[] = "pulls";
inline constexpr char kReplRegistries[] = "repl_registries";
inline constexpr char kReplPolicies[] = "repl_policies";
inline constexpr char kReplExecutions[] = "repl_executions";
inline constexpr char kReplProgress[] = "repl_progress";
inline constexpr char kReplEvents[] = "repl_events";
inline constexpr char kGc[] = "gc";
inline constexpr char kRetention[] = "retention";
inline constexpr char kCounts[] = "counts";
inline constexpr char kTouches[] = "touches";

inline std::string Join(std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(a.size() + 1 + b.size());
  k.append(a).push_back('\0');
  k.append(b);
  return k;
}
inline std::string Join(std::string_view a, std::string_view b, std::string_view c) {
  return Join(Join(a, b), c);
}
// Prefix that selects every key beginning with "<a>\0".
inline std::string Prefix(std::string_view a) { return Join(a, ""); }

}  // namespace pier::keys
