// The `pier` command: serve, fsck, gc, replicate, report, --version, --help.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "adapter/api/api.h"
#include "adapter/api/webhook.h"
#include "adapter/auth/auth.h"
#include "adapter/http/server.h"
#include "adapter/registry/registry.h"
#include "adapter/registry/token_handler.h"
#include "cache/evict/evictor.h"
#include "cache/gc/gc_service.h"
#include "cache/proxy/pull_through.h"
#include "cache/disk_space.h"
#include "cache/layout.h"
#include "cache/keys.h"
#include "base/log.h"
#include "cache/retention/service.h"
#include "cache/leadership.h"
#include "cache/store.h"
#include "cmd/pier/config.h"
#include "cmd/pier/storage_backend.h"
#include "cmd/pier/gc_command.h"
#include "cmd/pier/replicate.h"
#include "cmd/pier/report_command.h"
#include "replication/advisor/advisor.h"
#include "replication/engine.h"
#include "replication/execution_store.h"
#include "replication/gc_pins.h"
#include "replication/health_checker.h"
#include "replication/seen_events.h"
#include "replication/eviction_guard.h"
#include "replication/progress_store.h"
#include "metrics/endpoint.h"
#include "metrics/instrument.h"
#include "metrics/metrics.h"
#include "metrics/proxy_served.h"
#include "base/internal_errors.h"
#include "replication/announce.h"
#include "replication/observer.h"
#include "replication/state_store.h"

namespace {

constexpr const char* kUsage =
    "pier - a registry that stores every blob once and replicates to slow registries\n"
    "\n"
    "usage:\n"
    "  pier serve [--listen ADDR:PORT] [--data DIR] [--config FILE]\n"
    "             [--tls-cert FILE --tls-key FILE] [--htpasswd FILE] [--public-url URL]\n"
    "  pier fsck --data DIR\n"
    "  pier gc --data DIR [--dry-run] [--delete-untagged] [--grace-seconds N] [--workers N]\n"
    "  pier replicate --policy NAME [--server URL] [--user USER]\n"
    "  pier report [--server URL] REPO:TAG [--against TAG] [--json]\n"
    "  pier --version\n"
    "  pier COMMAND --help\n";

constexpr const char* kServeUsage =
    "usage: pier serve [flags]\n"
    "  --listen ADDR:PORT   address to listen on (default 0.0.0.0:5000)\n"
    "  --data DIR           data folder: RocksDB + blobs (default ./pier-data)\n"
    "  --config FILE        JSON config; flags override it (see README)\n"
    "  --tls-cert FILE      PEM certificate; with --tls-key serves HTTPS\n"
    "  --tls-key FILE       PEM private key\n"
    "  --htpasswd FILE      enable Basic auth with this htpasswd file (bcrypt)\n"
    "  --public-url URL     absolute base URL for Location/Link headers\n";

constexpr const char* kFsckUsage =
    "usage: pier fsck --data DIR [--config FILE]\n"
    "  Verifies every blob hashes to its name and the metadata agrees.\n"
    "  --config FILE  where blobs and records live (storage.*, metadata.*);\n"
    "                 needed when they are in S3 or PostgreSQL\n"
    "  Exits 0 when clean, 1 when damage was found, 2 on usage errors.\n";

// Parses "--flag value" / "--flag=value" pairs; false on a stray argument.
bool ParseFlags(int argc, char** argv, int first, std::map<std::string, std::string>* flags, bool* help) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      *help = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      std::fprintf(stderr, "unexpected argument: %s\n", a.c_str());
      return false;
    }
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      (*flags)[a.substr(2, eq - 2)] = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      (*flags)[a.substr(2)] = argv[++i];
    } else {
      std::fprintf(stderr, "flag %s needs a value\n", a.c_str());
      return false;
    }
  }
  return true;
}

int Fail(const std::string& what) {
  pier::log::Error(what);
  return 1;
}

// This replica's name: PIER_REPLICA (the Helm chart sets the pod name) or
// the host name; as a lease holder with the pid and start time, so a
// restarted process is a new holder.
std::string ReplicaName() {
  if (const char* r = std::getenv("PIER_REPLICA"); r != nullptr && *r != '\0') return r;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') return host;
  return "pier";
}

std::string ReplicaHolder() {
  return ReplicaName() + "/" + std::to_string(getpid()) + "/" + std::to_string(pier::SystemClock().UnixSeconds());
}

// What the leader does: runs (and picks up) replication executions; what a
// replica that stops leading does: pauses them for the next leader. The
// engine is made after the leadership, hence the slot.
pier::Leadership::Options LeadershipOptions(std::shared_ptr<std::atomic<pier::replication::Engine*>> slot) {
  pier::Leadership::Options o;
  o.holder = ReplicaHolder();
  o.on_gain = [slot] {
    if (auto* e = slot->load()) e->Sync();
  };
  o.on_tick = o.on_gain;
  o.on_lose = [slot] {
    if (auto* e = slot->load()) e->Pause();
  };
  return o;
}

int Serve(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  bool help = false;
  if (!ParseFlags(argc, argv, 2, &flags, &help)) return 2;
  if (help) {
    std::fputs(kServeUsage, stdout);
    return 0;
  }
  pier::Config cfg;
  if (flags.count("config")) {
    pier::Status s = pier::LoadConfigFile(flags["config"], &cfg);
    if (!s.ok()) return Fail("config: " + s.message());
  }
  for (const auto& [k, v] : flags) {
    if (k == "config") continue;
    if (k == "listen") cfg.listen = v;
    else if (k == "data") cfg.data = v;
    else if (k == "tls-cert") cfg.tls_cert = v;
    else if (k == "tls-key") cfg.tls_key = v;
    else if (k == "htpasswd") cfg.htpasswd = v;
    else if (k == "public-url") cfg.public_url = v;
    else {
      std::fprintf(stderr, "unknown flag --%s\n%s", k.c_str(), kServeUsage);
      return 2;
    }
  }
  pier::log::Level level;
  if (!pier::log::ParseLevel(cfg.log_level, &level)) return Fail("config: log.level must be debug|info|warn|error");
  pier::log::SetLevel(level);

  pier::http::ServerOptions so;
  if (pier::Status s = pier::SplitListen(cfg.listen, &so.address, &so.port); !s.ok()) {
    return Fail("config: listen: " + s.message());
  }
  if (cfg.tls_cert.empty() != cfg.tls_key.empty()) return Fail("config: TLS needs both a certificate and a key");
  so.tls_cert_file = cfg.tls_cert;
  so.tls_key_file = cfg.tls_key;
  so.io_threads = cfg.io_threads;
  so.blocking_threads = cfg.blocking_threads > 0 ? cfg.blocking_threads : 16;
  so.idle_timeout_seconds = cfg.idle_timeout_seconds;
  so.io_timeout_seconds = cfg.io_timeout_seconds;
  so.header_limit = cfg.header_limit_bytes;

  // Block the stop signals before any thread starts so only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::optional<pier::auth::Htpasswd> users;
  if (!cfg.htpasswd.empty()) {
    auto h = pier::auth::Htpasswd::Load(cfg.htpasswd);
    if (!h.ok()) return Fail("htpasswd: " + h.status().message());
    for (const std::string& w : h->warnings()) pier::log::Warn("htpasswd entry left out", {{"reason", w}});
    users = std::move(*h);
  }
  auto authorizer = std::make_shared<pier::auth::Authorizer>(std::move(users), cfg.acl, cfg.anonymous_pull);

  auto blob_storage = pier::OpenBlobStorage(cfg.storage);
  if (!blob_storage.ok()) return Fail("storage: " + blob_storage.status().message());
  pier::Store::Options store_options;
  store_options.root = cfg.data;
  store_options.blob_storage = *blob_storage;
  store_options.metadata = pier::MetadataOpener(cfg.metadata);
  store_options.upload_max_age_seconds = cfg.upload_max_age_hours * 3600;
  store_options.warm_upload_bytes = static_cast<uint64_t>(cfg.upload_warm_bytes);
  auto store = pier::Store::Open(store_options);
  if (!store.ok()) return Fail("store: " + store.status().message());
  std::shared_ptr<pier::Store> shared_store = std::move(*store);
  // Free space of the data folder: uploads stop below storage.reserve_bytes.
  auto disk_space = std::make_shared<pier::DiskSpace>(cfg.data, static_cast<uint64_t>(cfg.storage.reserve_bytes));
  if (disk_space->Low()) {
    pier::log::Warn("data folder is below its free-space reserve: uploads are refused until space is freed",
                    {{"free_bytes", std::to_string(disk_space->FreeBytes().value_or(0))},
                     {"reserve_bytes", std::to_string(cfg.storage.reserve_bytes)}});
  }

  // Replication state lives in the same RocksDB: endpoints and policies,
  // executions and tasks, and per-destination transfer progress.
  auto repl = pier::replication::ReplicationStore::Open(*shared_store);
  if (!repl.ok()) return Fail("replication state: " + repl.status().message());
  std::shared_ptr<pier::replication::ReplicationStore> shared_repl = std::move(*repl);
  // Registries and policies from the config (the Helm chart's values): the config wins.
  auto seeded = pier::replication::ApplySeed(cfg.replication, *shared_repl, shared_store.get());
  if (!seeded.ok()) return Fail("config: " + seeded.status().message());
  if (!cfg.replication.empty()) {
    pier::log::Info("replication config applied", {{"created", std::to_string(seeded->created)},
                                                   {"updated", std::to_string(seeded->updated)},
                                                   {"unchanged", std::to_string(seeded->unchanged)}});
  }
  auto executions = pier::replication::ExecutionStore::Open(*shared_store);
  if (!executions.ok()) return Fail("replication executions: " + executions.status().message());
  std::shared_ptr<pier::replication::ExecutionStore> shared_executions = std::move(*executions);
  auto progress = pier::replication::ProgressStore::Open(*shared_store);
  if (!progress.ok()) return Fail("replication progress: " + progress.status().message());
  std::shared_ptr<pier::replication::ProgressStore> shared_progress = std::move(*progress);
  // zstd copies of gzip layers for policies with "compression" (derived
  // blobs, cache/README.md "Transcoded layers"): one Transcoder for the
  // engine, GC and eviction pins and the metrics.
  auto opened_transcoder = pier::transcode::Transcoder::Open(shared_store);
  if (!opened_transcoder.ok()) return Fail("transcoder: " + opened_transcoder.status().message());
  std::shared_ptr<pier::transcode::Transcoder> transcoder = *opened_transcoder;
  // The layer advisor: `pier report`, GET /api/v2.0/report, and (on_push)
  // a report after each tagged push for the dashboard.
  pier::advisor::AdvisorOptions ado;
  ado.on_push = cfg.advisor_on_push;
  ado.engine_bytes_per_second = static_cast<uint64_t>(std::max<int64_t>(0, cfg.repl_bandwidth_bytes_per_second));
  auto advisor = std::make_shared<pier::advisor::Advisor>(shared_store, shared_repl, shared_progress, transcoder, ado);
  // Capacity eviction: above the high watermark, least recently used images
  // go (pull-through copies first; hosted ones only with evict_replicated
  // and once every destination holds them), never what replication pins.
  pier::evict::EvictorOptions vo;
  vo.dir = cfg.data;
  vo.max_bytes = static_cast<uint64_t>(cfg.storage.max_bytes);
  vo.high_watermark_percent = static_cast<int>(cfg.storage.high_watermark_percent);
  vo.low_watermark_percent = static_cast<int>(cfg.storage.low_watermark_percent);
  vo.evict_replicated = cfg.storage.evict_replicated;
  vo.min_idle_seconds = cfg.storage.evict_min_idle_seconds;
  vo.replicated = pier::replication::EvictionGuard(shared_repl, shared_progress, shared_store);
  vo.pins = pier::replication::PinsHook(shared_executions, transcoder);
  auto evictor = std::make_shared<pier::evict::Evictor>(shared_store, vo);
  // Replicas sharing their records elect one leader to run replication and
  // fire schedules (cache/leadership.h); a single node just leads.
  auto engine_slot = std::make_shared<std::atomic<pier::replication::Engine*>>(nullptr);
  auto leadership = std::make_shared<pier::Leadership>(shared_store, LeadershipOptions(engine_slot));
  std::function<bool()> leads;
  if (shared_store->shared_metadata()) leads = [leadership] { return leadership->leader(); };
  // Prometheus metrics; `replication_observer` is what the replication
  // engine reports to (a NullObserver when metrics are off).
  std::shared_ptr<pier::metrics::Metrics> metrics;
  std::shared_ptr<pier::replication::ReplicationObserver> replication_observer =
      std::make_shared<pier::replication::NullObserver>();
  if (cfg.metrics_enabled) {
    pier::metrics::MetricsOptions mo;
    mo.store = shared_store;
    mo.data_dir = cfg.data;
    mo.disk_space = disk_space;
    mo.evictor = evictor;
    mo.transcoder = transcoder;
    mo.advisor = advisor;
    mo.version = PIER_VERSION;
    mo.revision = PIER_REVISION;
    if (shared_store->shared_metadata()) {
      mo.leadership = leadership;
      mo.replica = ReplicaName();
    }
    metrics = std::make_shared<pier::metrics::Metrics>(mo);
    replication_observer = metrics->replication();
  }
  // Series for the configured policies exist from the start (zeros are data).
  if (pier::Status s = pier::replication::AnnouncePolicies(*shared_repl, *replication_observer); !s.ok())
    pier::ReportInternalError("metrics", "announcing the configured policies failed", s);
  pier::replication::EngineOptions eo;
  eo.may_run = leads;
  eo.workers_per_destination = static_cast<size_t>(cfg.repl_workers_per_destination);
  eo.chunk_size = static_cast<uint64_t>(cfg.repl_chunk_size_bytes);
  eo.no_progress_timeout_seconds = cfg.repl_no_progress_timeout_seconds;
  eo.destination_bytes_per_second = static_cast<uint64_t>(std::max<int64_t>(0, cfg.repl_bandwidth_bytes_per_second));
  eo.image_overlap_bytes = static_cast<uint64_t>(cfg.repl_image_overlap_bytes);
  eo.transcoder = transcoder;
  eo.clients = pier::replication::RegistryClientFactory(
      pier::replication::ClientTuning{eo.no_progress_timeout_seconds, eo.workers_per_destination + 2});
  auto engine = std::make_shared<pier::replication::Engine>(shared_store, shared_repl, shared_executions,
                                                            shared_progress,
                                                            replication_observer, eo);
  // Endpoint health (the `status` of GET /api/v2.0/registries and
  // pier_replication_destination_up), pinged as Harbor does, on its own thread.
  pier::replication::HealthOptions ho;
  ho.interval = std::chrono::seconds(cfg.repl_health_interval_seconds);
  ho.failing_interval = std::chrono::seconds(cfg.repl_health_failing_interval_seconds);
  auto health = std::make_unique<pier::replication::HealthChecker>(*shared_repl, pier::api::PingEndpoint,
                                                                   *replication_observer, pier::SystemClock(), ho);
  // Pier's own token realm: signing key from the config, or made once under <data>/token/.
  std::shared_ptr<const pier::auth::TokenService> tokens;
  if (cfg.token.enabled) {
    auto key = cfg.token.key.empty() ? pier::auth::TokenKey::LoadOrCreate(pier::Layout(cfg.data).TokenDir())
                                     : pier::auth::TokenKey::Load(cfg.token.key, cfg.token.cert);
    if (!key.ok()) return Fail("auth.token: " + key.status().message());
    pier::auth::TokenOptions to;
    to.issuer = cfg.token.issuer;
    to.service = cfg.token.service;
    to.expiration_seconds = cfg.token.expiration_seconds;
    to.admins = cfg.admins;
    tokens = std::make_shared<const pier::auth::TokenService>(*key, authorizer, to);
    std::string realm = cfg.token.realm.empty() ? "<public_url or Host>/token" : cfg.token.realm;
    pier::log::Info("token realm on", {{"cert", (*key)->cert_file().string()},
                                       {"issuer", to.issuer},
                                       {"service", to.service},
                                       {"realm", realm}});
    if (!authorizer->enabled()) {
      pier::log::Warn("auth.token is on but auth.htpasswd is not: tokens grant everything");
    }
  }

  pier::registry::RegistryOptions ro;
  ro.public_url = cfg.public_url;
  ro.realm = cfg.realm;
  ro.access_log = cfg.access_log;
  // Event-based replication: a push or delete starts the matching policies.
  ro.on_event = [weak = std::weak_ptr<pier::replication::Engine>(engine),
                 weak_advisor = std::weak_ptr<pier::advisor::Advisor>(advisor)](const pier::registry::ManifestEvent& ev) {
    // A tag push is a build; a push by digest is a platform child or an artifact.
    if (auto a = weak_advisor.lock(); a && !ev.deleted && !ev.reference.starts_with("sha256:")) {
      a->OnPush(ev.repository, ev.reference);
    }
    auto e = weak.lock();
    if (!e) return;
    if (ev.deleted) e->OnDelete(ev.repository, ev.reference, ev.digest);
    else e->OnPush(ev.repository, ev.reference, ev.digest);
  };
  ro.token = tokens;
  ro.token_realm = cfg.token.realm;
  ro.disk_space = disk_space;
  // The pull-through cache: the registry serves through it, the API lists
  // its upstreams, the metrics count what it served.
  std::shared_ptr<pier::proxy::PullThrough> pull_through;
  if (!cfg.proxy_upstreams.empty()) {
    pier::proxy::PullThroughOptions pto;
    pto.disk_space = disk_space;
    pto.cluster_fill_wait = std::chrono::seconds(cfg.proxy_cluster_fill_wait_seconds);
    auto pt = pier::proxy::PullThrough::Create(shared_store, cfg.proxy_upstreams, pto);
    if (!pt.ok()) return Fail("config: " + pt.status().message());
    for (const auto& up : cfg.proxy_upstreams) {
      pier::log::Info("pull-through upstream", {{"name", up.name}, {"url", up.url}, {"prefix", up.prefix}});
    }
    pull_through = std::move(*pt);
    if (metrics) {
      metrics->proxy()->Announce(cfg.proxy_upstreams);
      pull_through->SetObserver(metrics->proxy());
    }
    ro.pull_through = pull_through;
  }
  auto registry_handler = std::make_shared<pier::registry::RegistryHandler>(shared_store, authorizer, ro);

  // Garbage collection: runs asked through the API and the schedule (the
  // config's gc.schedule until one is set through the API).
  pier::gc::GcServiceOptions go;
  go.grace_seconds = cfg.gc.grace_seconds;
  go.schedule_parameters.delete_untagged = cfg.gc.delete_untagged;
  go.schedule_parameters.workers = cfg.gc.workers;
  go.initial_cron = cfg.gc.schedule;
  go.may_fire = leads;
  // What replications still have to send, and the zstd copies they are sending.
  go.pins = pier::replication::PinsHook(shared_executions, transcoder);
  if (metrics) go.observer = metrics->gc();
  auto gc_service = pier::gc::GcService::Open(shared_store, go);
  if (!gc_service.ok()) return Fail("gc: " + gc_service.status().message());
  std::shared_ptr<pier::gc::GcService> gc = std::move(*gc_service);

  // The management API (/api/v2.0): open when auth is off, admins only when it is on.
  pier::api::ApiOptions ao;
  ao.admins = cfg.admins;
  ao.realm = cfg.realm;
  ao.access_log = cfg.access_log;
  ao.engine = engine;
  ao.executions = shared_executions;
  ao.observer = replication_observer;
  ao.pull_through = pull_through;
  ao.gc = gc;
  ao.advisor = advisor;
  // Tag retention: policies, executions and their cron schedules live in the store.
  auto retention = pier::retention::Service::Create(shared_store);
  if (!retention.ok()) return Fail("retention: " + retention.status().message());
  if (leads) (*retention)->SetScheduleGate(leads);
  (*retention)->Start();
  ao.retention = *retention;
  auto api_handler = std::make_shared<pier::api::ApiHandler>(shared_repl, shared_store, authorizer, ao);
  std::shared_ptr<pier::http::Handler> handler =
      std::make_shared<pier::api::PrefixRouter>(api_handler, registry_handler);
  if (tokens) {
    handler = std::make_shared<pier::registry::TokenHandler>(
        tokens, authorizer, pier::registry::TokenHandlerOptions{cfg.realm, cfg.access_log}, handler);
  }
  // Harbor webhooks (POST /webhooks/harbor) start event-based pull policies.
  if (!cfg.harbor_webhook_authorization.empty()) {
    auto space = shared_store->OpenKeySpace(pier::keys::kReplEvents);
    if (!space.ok()) return Fail("webhook state: " + space.status().message());
    auto seen = pier::replication::SeenEvents::Open(*space, pier::SystemClock());
    if (!seen.ok()) return Fail("webhook state: " + seen.status().message());
    handler = std::make_shared<pier::api::WebhookHandler>(cfg.harbor_webhook_authorization,
                                                          std::shared_ptr<pier::replication::SeenEvents>(
                                                              std::move(*seen)),
                                                          engine,
                                                          cfg.access_log, handler);
  }
  // /metrics on the main port (and on metrics.listen); every request counted by route class.
  std::shared_ptr<pier::http::Handler> metrics_endpoint;
  if (metrics) {
    metrics_endpoint = std::make_shared<pier::metrics::MetricsHandler>(metrics->exposition(), authorizer,
                                                                       cfg.metrics_require_auth, cfg.realm);
    if (pull_through) {
      handler = std::make_shared<pier::metrics::ProxyServedHandler>(handler, pull_through, metrics->proxy());
    }
    handler = std::make_shared<pier::metrics::InstrumentedHandler>(
        std::make_shared<pier::metrics::MetricsRouter>(metrics_endpoint, handler), metrics->http());
    if (cfg.metrics_require_auth && !authorizer->enabled()) {
      pier::log::Warn("metrics.require_auth has no effect without auth.htpasswd");
    }
  }

  auto server = pier::http::Server::Start(so, handler);
  if (!server.ok()) return Fail("listen " + cfg.listen + ": " + server.status().message());
  std::unique_ptr<pier::http::Server> metrics_server;
  if (metrics) {
    metrics->replication()->StartTicker();
    if (!cfg.metrics_listen.empty()) {
      // A small plain-HTTP server answering only /metrics.
      pier::http::ServerOptions mso;
      if (pier::Status s = pier::SplitListen(cfg.metrics_listen, &mso.address, &mso.port); !s.ok()) {
        return Fail("config: metrics.listen: " + s.message());
      }
      mso.io_threads = 1;
      mso.blocking_threads = 1;
      mso.idle_timeout_seconds = cfg.idle_timeout_seconds;
      mso.io_timeout_seconds = cfg.io_timeout_seconds;
      mso.header_limit = cfg.header_limit_bytes;
      auto started = pier::http::Server::Start(
          mso, std::make_shared<pier::metrics::InstrumentedHandler>(metrics_endpoint, metrics->http()));
      if (!started.ok()) return Fail("listen " + cfg.metrics_listen + ": " + started.status().message());
      metrics_server = std::move(*started);
      pier::log::Info("metrics listening",
                      {{"address", mso.address}, {"port", std::to_string(metrics_server->port())}});
    }
  }
  pier::log::Info("pier listening", {{"address", so.address},
                                     {"port", std::to_string((*server)->port())},
                                     {"data", cfg.data},
                                     {"tls", so.tls_cert_file.empty() ? "off" : "on"},
                                     {"auth", authorizer->enabled() ? (tokens ? "htpasswd+token" : "htpasswd") : "off"},
                                     {"metrics", metrics ? "/metrics" : "off"},
                                     {"version", PIER_VERSION}});
  // Executions a previous run left unfinished continue by themselves (on
  // the leader, which also takes over those of a replica that died).
  engine_slot->store(engine.get());
  if (shared_store->shared_metadata()) {
    leadership->Start();
  } else {
    engine->ResumeUnfinished();
  }
  health->Start();
  gc->StartTrigger();
  evictor->Start();
  int sig = 0;
  sigwait(&stop, &sig);
  pier::log::Info("shutting down", {{"signal", strsignal(sig)}});
  if (metrics_server) metrics_server->Stop();
  (*server)->Stop();
  health.reset();
  evictor->Stop();
  advisor->Stop();
  // A running GC stops (its record says Stopped) when the service goes,
  // with the API handler, at return.
  // Running executions stay InProgress and resume on the next start (or
  // on the next leader: the lease is given up at once).
  leadership->Stop();
  engine_slot->store(nullptr);
  engine.reset();
  return 0;
}

int Fsck(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  bool help = false;
  if (!ParseFlags(argc, argv, 2, &flags, &help)) return 2;
  if (help) {
    std::fputs(kFsckUsage, stdout);
    return 0;
  }
  if (!flags.count("data") || flags.size() != 1 + flags.count("config")) {
    std::fputs(kFsckUsage, stderr);
    return 2;
  }
  pier::Config cfg;
  if (flags.count("config")) {
    if (pier::Status s = pier::LoadConfigFile(flags["config"], &cfg); !s.ok()) {
      std::fprintf(stderr, "fsck: config: %s\n", s.message().c_str());
      return 2;
    }
  }
  auto blob_storage = pier::OpenBlobStorage(cfg.storage);
  if (!blob_storage.ok()) {
    std::fprintf(stderr, "fsck: storage: %s\n", blob_storage.status().message().c_str());
    return 1;
  }
  pier::FsckOptions fo;
  fo.blob_storage = *blob_storage;
  fo.metadata = pier::MetadataOpener(cfg.metadata);
  auto report = pier::Fsck(flags["data"], fo);
  if (!report.ok()) {
    std::fprintf(stderr, "fsck: %s\n", report.status().message().c_str());
    return 1;
  }
  for (const auto& p : report->problems) std::printf("DAMAGE %s\n", p.c_str());
  std::printf("checked %llu blobs, %llu manifests: %zu problem(s)\n",
              static_cast<unsigned long long>(report->blobs_checked),
              static_cast<unsigned long long>(report->manifests_checked), report->problems.size());
  return report->problems.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    std::printf("pier %s\n", PIER_VERSION);
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "serve") return Serve(argc, argv);
  if (cmd == "fsck") return Fsck(argc, argv);
  if (cmd == "gc") return pier::cli::Gc(argc, argv);
  if (cmd == "report") return pier::cli::Report(argc, argv);
  if (cmd == "replicate") {
    std::map<std::string, std::string> flags;
    bool help = false;
    if (!ParseFlags(argc, argv, 2, &flags, &help)) return 2;
    if (help) {
      std::fputs(pier::cli::kReplicateUsage, stdout);
      return 0;
    }
    return pier::cli::Replicate(flags);
  }
  std::fprintf(stderr, "unknown command: %s\n%s", cmd.c_str(), kUsage);
  return 2;
}
