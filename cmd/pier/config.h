#pragma once
// Pier's configuration: a JSON file, overridden by command-line flags.
// Unknown keys are an error naming the key, so a typo never silently falls
// back to a default. Example (every key optional):
// {
//   "listen": "0.0.0.0:5000",
//   "data": "./pier-data",
//   "public_url": "",                          // absolute base for Location/Link
//   "tls": {"cert": "", "key": ""},
//   "auth": {"htpasswd": "", "realm": "pier", "anonymous_pull": false,
//            "acl": [{"subject": "ci", "repository": "team/**", "actions": ["pull", "push"]}],
//            "admins": ["admin"],                 // may use the management API (/api/v2.0)
//            "token": {"enabled": false, "issuer": "pier", "service": "pier",   // Pier's token realm
//                      "expiration_seconds": 300, "key": "", "cert": "", "realm": ""}},
//   "uploads": {"max_age_hours": 168, "warm_bytes": 2147483648},  // Store::Options::warm_upload_bytes
//   "http": {"io_threads": 0, "blocking_threads": 16, "idle_timeout_seconds": 120,
//            "io_timeout_seconds": 60, "header_limit_bytes": 65536},
//   "log": {"level": "info", "access": true},
//   "replication": {"registries": [...], "policies": [...],
//                   "engine": {"workers_per_destination": 4, "chunk_size_bytes": 8388608,
//                              "no_progress_timeout_seconds": 60, "bandwidth_bytes_per_second": 0,
//                              "image_overlap_bytes": 1048576},
//                   "health": {"interval_seconds": 300, "failing_interval_seconds": 30}}
//                                                   // see replication/seed.h, health_checker.h
//   "metrics": {"enabled": true, "listen": "", "require_auth": false}
//   "storage": {"reserve_bytes": 1073741824, "max_bytes": 0, "high_watermark_percent": 90,
//               "low_watermark_percent": 80, "evict_replicated": false,
//               "evict_min_idle_seconds": 600,   // StorageConfig
//               "type": "filesystem",            // or "s3": S3StorageConfig
//               "s3": {"endpoint": "http://rgw:7480", "region": "us-east-1", "bucket": "pier",
//                      "prefix": "", "path_style": true, "access_key": "...",
//                      "secret_key_file": "/etc/pier/s3-secret", "ca": "", "redirect": false}}
//   "metadata": {"type": "rocksdb",             // or "postgres": MetadataConfig
//                "postgres": {"dsn": "host=db port=5432 dbname=pier user=pier",
//                             "password_file": "/etc/pier/db-password"}}
//   "webhooks": {"harbor": {"authorization": ""}}   // POST /webhooks/harbor when set;
//                                                    // or "authorization_file": a file holding it
//   "gc": {"grace_seconds": 7200, "schedule": "0 0 3 * * *", "delete_untagged": false, "workers": 1}
//                                                    // see GcConfig
//   "advisor": {"on_push": true}   // the layer advisor reports on each tagged push
// }
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "adapter/auth/auth.h"
#include "base/status.h"
#include "cache/proxy/upstream.h"
#include "replication/seed.h"

namespace pier {

// Pier's own Docker token realm (GET /token, ES256 JWTs). Empty key and
// cert: generated under <data>/token/ on first start. Empty realm: the
// public URL + "/token", or derived from each request's Host.
struct TokenConfig {
  bool enabled = false;
  std::string issuer = "pier";
  std::string service = "pier";
  int64_t expiration_seconds = 300;
  std::string key, cert;
  std::string realm;
};

// storage.s3: blob bytes in an S3-compatible bucket (AWS S3, Aliyun OSS,
// MinIO, Ceph RGW) shared by every replica (issue 14). The secret comes from
// `secret_key` or, to keep it out of a ConfigMap, `secret_key_file` (read
// at parse time, trailing newline dropped); it is never logged.
struct S3StorageConfig {
  std::string endpoint;  // http(s)://host[:port], no path
  std::string region = "us-east-1";
  std::string bucket;
  std::string prefix;    // "" or "a/b/" (a trailing slash is added)
  bool path_style = true;  // false: BUCKET.host (Aliyun OSS refuses path style)
  std::string access_key;
  std::string secret_key;
  std::string ca;        // a PEM file of extra trusted CAs; "" = the system store
  bool redirect = false; // blob GETs answer 307 to a presigned URL
};

// metadata: where records live. "rocksdb" under --data (default) or
// "postgres" (several replicas share it; issue 14).
struct MetadataConfig {
  std::string type = "rocksdb";
  std::string postgres_dsn;       // libpq keyword/value string, without the password
  std::string postgres_password;  // from password or password_file; never logged
  // Connections for reads and writes per replica; each replica also keeps
  // one for its locks. Replicas × (pool_size + 1) must fit the server's
  // max_connections (100 by default) with room for others.
  int64_t postgres_pool_size = 8;
};

// storage: the disk the data folder lives on. reserve_bytes is acted on
// (cache/disk_space.h: uploads are refused while less is free; 0 = no
// reserve); the others drive capacity eviction (cache/evict/evictor.h).
struct StorageConfig {
  int64_t reserve_bytes = int64_t{1} << 30;
  int64_t max_bytes = 0;  // 0 = no limit
  int64_t high_watermark_percent = 90;
  int64_t low_watermark_percent = 80;
  bool evict_replicated = false;
  // An image used (pushed, pulled, probed) more recently is never evicted.
  int64_t evict_min_idle_seconds = 600;
  std::string type = "filesystem";  // or "s3"
  S3StorageConfig s3;
};

// gc: garbage collection (cache/gc/gc_service.h). `schedule` is a 6-field
// cron ("" = none) used until a schedule is set through the API
// (PUT /api/v2.0/system/gc/schedule), which is persisted and wins from then
// on; delete_untagged and workers are the scheduled runs' parameters.
// Uploads idle past uploads.max_age_hours are collected too.
struct GcConfig {
  int64_t grace_seconds = 7200;
  std::string schedule = "0 0 3 * * *";
  bool delete_untagged = false;
  int workers = 1;
};

struct Config {
  std::string listen = "0.0.0.0:5000";
  std::string data = "./pier-data";
  std::string public_url;
  std::string tls_cert, tls_key;
  std::string htpasswd;
  std::string realm = "pier";
  bool anonymous_pull = false;
  std::vector<auth::AclRule> acl;
  // Users allowed on the management API (/api/v2.0) when auth is on. With
  // auth off (no htpasswd) the API is open, like the registry itself.
  std::vector<std::string> admins;
  TokenConfig token;
  int64_t upload_max_age_hours = 168;
  // Read-back of big uploads into the page cache (Store::Options); 0: off.
  int64_t upload_warm_bytes = int64_t{2} << 30;
  int io_threads = 0;
  int blocking_threads = 16;
  int idle_timeout_seconds = 120;
  int io_timeout_seconds = 60;
  uint32_t header_limit_bytes = 64 * 1024;
  std::string log_level = "info";
  bool access_log = true;
  // Registries and policies upserted at startup; secret files are already read.
  replication::Seed replication;
  // replication.engine: the transfer engine (replication/engine.h).
  int repl_workers_per_destination = 4;
  int64_t repl_chunk_size_bytes = 8 << 20;
  int repl_no_progress_timeout_seconds = 60;
  int64_t repl_bandwidth_bytes_per_second = 0;  // per destination; 0 = unlimited
  int64_t repl_image_overlap_bytes = 1 << 20;   // see EngineOptions::image_overlap_bytes
  // replication.health: endpoint pings (replication/health_checker.h).
  int repl_health_interval_seconds = 300;         // while an endpoint answers (Harbor: 5 minutes)
  int repl_health_failing_interval_seconds = 30;  // while it does not
  // Prometheus metrics: /metrics on the main port, and also on its own
  // plain-HTTP port when metrics_listen ("ADDR:PORT") is set. Open unless
  // metrics_require_auth (then any valid htpasswd user) — see README.
  // The Authorization value Harbor's webhook policy sends; empty: no intake.
  std::string harbor_webhook_authorization;
  bool metrics_enabled = true;
  // The layer advisor (replication/advisor/advisor.h) reports on every
  // tagged push in the background (the dashboard's "Layer advisor" row);
  // false: only when asked (`pier report`, GET /api/v2.0/report).
  bool advisor_on_push = true;
  std::string metrics_listen;
  bool metrics_require_auth = false;
  // proxy.upstreams: the pull-through cache (cache/proxy/upstream.h); empty: none.
  std::vector<proxy::Upstream> proxy_upstreams;
  // proxy.cluster_fill_wait_seconds: with replicas, how long a blob another
  // replica is downloading is waited for before downloading it here too
  // (PullThroughOptions::cluster_fill_wait); 0..3600.
  int64_t proxy_cluster_fill_wait_seconds = 60;
  StorageConfig storage;
  MetadataConfig metadata;
  GcConfig gc;
};

// Parses config JSON text into `cfg` (keys absent keep their values).
// InvalidArgument with the offending key path ("auth.acl[1].actions").
Status ParseConfig(std::string_view json_text, Config* cfg);
Status LoadConfigFile(const std::string& path, Config* cfg);

// config_cluster.cc: storage.type/storage.s3 (into `out`) and metadata.
Status ParseStorageBackend(const nlohmann::json& storage, StorageConfig* out);
Status ParseMetadata(const nlohmann::json& metadata, MetadataConfig* out);
// A secret kept in a file (a mounted Kubernetes Secret): its content without
// the trailing newline. InvalidArgument naming `where` when unreadable or empty.
Result<std::string> ReadSecretFile(const std::string& where, const std::string& path);

// Splits "host:port", "[v6]:port" or ":port". InvalidArgument when malformed.
Status SplitListen(std::string_view listen, std::string* host, uint16_t* port);

}  // namespace pier
