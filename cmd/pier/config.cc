#include "cmd/pier/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/cron.h"
#include "base/json_fields.h"

#include "base/json_depth.h"

namespace pier {
namespace {

using json = nlohmann::json;

Status ParseAcl(const json& arr, Config* cfg) {
  if (!arr.is_array()) return Status::InvalidArgument("auth.acl: must be an array");
  cfg->acl.clear();
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string where = "auth.acl[" + std::to_string(i) + "]";
    const json& r = arr[i];
    PIER_TRY(CheckKeys(r, where, {"subject", "repository", "actions"}));
    auth::AclRule rule;
    PIER_TRY(ReadString(r, where, "subject", &rule.subject));
    PIER_TRY(ReadString(r, where, "repository", &rule.repository));
    if (rule.subject.empty()) return Status::InvalidArgument(where + ".subject: required");
    if (!r.contains("actions") || !r["actions"].is_array()) {
      return Status::InvalidArgument(where + ".actions: must be an array of pull/push/delete");
    }
    std::vector<std::string> words;
    for (const auto& w : r["actions"]) {
      if (!w.is_string()) return Status::InvalidArgument(where + ".actions: must be strings");
      words.push_back(w.get<std::string>());
    }
    Result<unsigned> bits = auth::ParseActions(words);
    if (!bits.ok()) return Status::InvalidArgument(where + ".actions: " + bits.status().message());
    rule.actions = *bits;
    cfg->acl.push_back(std::move(rule));
  }
  return Status::OK();
}

Status ParseAdmins(const json& arr, Config* cfg) {
  if (!arr.is_array()) return Status::InvalidArgument("auth.admins: must be an array of user names");
  cfg->admins.clear();
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string where = "auth.admins[" + std::to_string(i) + "]";
    if (!arr[i].is_string() || arr[i].get<std::string>().empty()) {
      return Status::InvalidArgument(where + ": must be a non-empty user name");
    }
    cfg->admins.push_back(arr[i].get<std::string>());
  }
  return Status::OK();
}

Status ParseToken(const json& t, TokenConfig* token) {
  const std::string where = "auth.token";
  PIER_TRY(
      CheckKeys(t, where, {"enabled", "issuer", "service", "expiration_seconds", "key", "cert", "realm"}));
  PIER_TRY(ReadBool(t, where, "enabled", &token->enabled));
  PIER_TRY(ReadString(t, where, "issuer", &token->issuer));
  PIER_TRY(ReadString(t, where, "service", &token->service));
  PIER_TRY(ReadNonNegative(t, where, "expiration_seconds", &token->expiration_seconds));
  PIER_TRY(ReadString(t, where, "key", &token->key));
  PIER_TRY(ReadString(t, where, "cert", &token->cert));
  PIER_TRY(ReadString(t, where, "realm", &token->realm));
  if (token->issuer.empty()) return Status::InvalidArgument(where + ".issuer: must not be empty");
  if (token->service.empty()) return Status::InvalidArgument(where + ".service: must not be empty");
  // Quotes would break the WWW-Authenticate challenge they are placed in.
  for (const auto& [key, value] : {std::pair{"issuer", &token->issuer}, std::pair{"service", &token->service},
                                   std::pair{"realm", &token->realm}}) {
    if (value->find_first_of("\"\\\r\n") != std::string::npos) {
      return Status::InvalidArgument(where + "." + key +
                                     ": must not contain quotes, backslashes or newlines");
    }
  }
  if (token->expiration_seconds <= 0 || token->expiration_seconds > 24 * 3600) {
    return Status::InvalidArgument(where + ".expiration_seconds: must be between 1 and 86400");
  }
  if (token->key.empty() != token->cert.empty()) {
    return Status::InvalidArgument(
        where + (token->key.empty() ? ".key" : ".cert") +
        ": key and cert must be given together (or both left empty to generate them)");
  }
  if (!token->realm.empty() && token->realm.rfind("http://", 0) != 0 &&
      token->realm.rfind("https://", 0) != 0) {
    return Status::InvalidArgument(where + ".realm: must be an http:// or https:// URL");
  }
  return Status::OK();
}

// webhooks.harbor: the shared Authorization value, in clear or (so it can
// stay out of a ConfigMap) in a mounted file whose trailing newline is dropped.
Status ParseHarborWebhook(const json& h, Config* cfg) {
  const std::string where = "webhooks.harbor";
  PIER_TRY(CheckKeys(h, where, {"authorization", "authorization_file"}));
  PIER_TRY(ReadString(h, where, "authorization", &cfg->harbor_webhook_authorization));
  std::string file;
  PIER_TRY(ReadString(h, where, "authorization_file", &file));
  if (h.contains("authorization_file")) {
    if (h.contains("authorization")) {
      return Status::InvalidArgument(
          where + ".authorization_file: give authorization or authorization_file, not both");
    }
    if (file.empty()) return Status::InvalidArgument(where + ".authorization_file: must be a file path");
    Result<std::string> value = ReadSecretFile(where + ".authorization_file", file);
    if (!value.ok()) return value.status();
    cfg->harbor_webhook_authorization = std::move(*value);
  }
  if (cfg->harbor_webhook_authorization.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument(where + ".authorization: must be one header line (no newlines)");
  }
  return Status::OK();
}

Status ParseStorage(const json& st, StorageConfig* out) {
  const char* w = "storage";
  PIER_TRY(CheckKeys(st, w,
                     {"reserve_bytes", "max_bytes", "high_watermark_percent", "low_watermark_percent",
                      "evict_replicated", "evict_min_idle_seconds", "type", "s3"}));
  PIER_TRY(ReadNonNegative(st, w, "reserve_bytes", &out->reserve_bytes));
  PIER_TRY(ReadNonNegative(st, w, "max_bytes", &out->max_bytes));
  PIER_TRY(ReadInt(st, w, "high_watermark_percent", 1, 100, &out->high_watermark_percent));
  PIER_TRY(ReadInt(st, w, "low_watermark_percent", 1, 99, &out->low_watermark_percent));
  PIER_TRY(ReadBool(st, w, "evict_replicated", &out->evict_replicated));
  PIER_TRY(ReadNonNegative(st, w, "evict_min_idle_seconds", &out->evict_min_idle_seconds));
  if (out->low_watermark_percent >= out->high_watermark_percent) {
    return Status::InvalidArgument("storage.low_watermark_percent: must be below high_watermark_percent (" +
                                   std::to_string(out->high_watermark_percent) + ")");
  }
  return ParseStorageBackend(st, out);
}

// gc: the schedule must parse as a 6-field cron; workers as Harbor allows.
Status ParseGc(const json& g, GcConfig* gc) {
  PIER_TRY(CheckKeys(g, "gc", {"grace_seconds", "schedule", "delete_untagged", "workers"}));
  PIER_TRY(ReadNonNegative(g, "gc", "grace_seconds", &gc->grace_seconds));
  PIER_TRY(ReadString(g, "gc", "schedule", &gc->schedule));
  PIER_TRY(ReadBool(g, "gc", "delete_untagged", &gc->delete_untagged));
  PIER_TRY(ReadInt(g, "gc", "workers", 1, 10, &gc->workers));
  if (!gc->schedule.empty()) {
    auto cron = CronSchedule::Parse(gc->schedule);
    if (!cron.ok()) return Status::InvalidArgument("gc.schedule: " + cron.status().message());
  }
  return Status::OK();
}

}  // namespace

Status ParseConfig(std::string_view text, Config* cfg) {
  if (!JsonDepthWithin(text)) return Status::InvalidArgument("config nests too deeply");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("config is not valid JSON");
  PIER_TRY(CheckKeys(j, "",
                     {"listen", "data", "public_url", "tls", "auth", "uploads", "http", "log", "replication",
                      "metrics", "webhooks", "proxy", "storage", "metadata", "gc", "advisor"}));
  PIER_TRY(ReadString(j, "", "listen", &cfg->listen));
  PIER_TRY(ReadString(j, "", "data", &cfg->data));
  PIER_TRY(ReadString(j, "", "public_url", &cfg->public_url));
  if (j.contains("tls")) {
    const json& t = j["tls"];
    PIER_TRY(CheckKeys(t, "tls", {"cert", "key"}));
    PIER_TRY(ReadString(t, "tls", "cert", &cfg->tls_cert));
    PIER_TRY(ReadString(t, "tls", "key", &cfg->tls_key));
  }
  if (j.contains("auth")) {
    const json& a = j["auth"];
    PIER_TRY(CheckKeys(a, "auth", {"htpasswd", "realm", "anonymous_pull", "acl", "admins", "token"}));
    PIER_TRY(ReadString(a, "auth", "htpasswd", &cfg->htpasswd));
    PIER_TRY(ReadString(a, "auth", "realm", &cfg->realm));
    PIER_TRY(ReadBool(a, "auth", "anonymous_pull", &cfg->anonymous_pull));
    if (a.contains("acl")) PIER_TRY(ParseAcl(a["acl"], cfg));
    if (a.contains("admins")) PIER_TRY(ParseAdmins(a["admins"], cfg));
    if (a.contains("token")) PIER_TRY(ParseToken(a["token"], &cfg->token));
  }
  if (j.contains("proxy")) {
    const json& p = j["proxy"];
    PIER_TRY(CheckKeys(p, "proxy", {"upstreams", "cluster_fill_wait_seconds"}));
    PIER_TRY(ReadNonNegative(p, "proxy", "cluster_fill_wait_seconds", &cfg->proxy_cluster_fill_wait_seconds));
    if (cfg->proxy_cluster_fill_wait_seconds > 3600) {
      return Status::InvalidArgument("proxy.cluster_fill_wait_seconds: must be at most 3600");
    }
    if (HasField(p, "upstreams")) {
      Result<std::vector<proxy::Upstream>> ups = proxy::ParseUpstreams(p["upstreams"], "proxy.upstreams");
      if (!ups.ok()) return ups.status();
      cfg->proxy_upstreams = std::move(*ups);
    }
  }
  if (j.contains("uploads")) {
    const json& u = j["uploads"];
    PIER_TRY(CheckKeys(u, "uploads", {"max_age_hours", "warm_bytes"}));
    PIER_TRY(ReadNonNegative(u, "uploads", "max_age_hours", &cfg->upload_max_age_hours));
    PIER_TRY(ReadNonNegative(u, "uploads", "warm_bytes", &cfg->upload_warm_bytes));
  }
  if (j.contains("http")) {
    const json& h = j["http"];
    PIER_TRY(CheckKeys(h, "http",
                       {"io_threads", "blocking_threads", "idle_timeout_seconds", "io_timeout_seconds",
                        "header_limit_bytes"}));
    PIER_TRY(ReadNonNegative(h, "http", "io_threads", &cfg->io_threads));
    PIER_TRY(ReadNonNegative(h, "http", "blocking_threads", &cfg->blocking_threads));
    PIER_TRY(ReadNonNegative(h, "http", "idle_timeout_seconds", &cfg->idle_timeout_seconds));
    PIER_TRY(ReadNonNegative(h, "http", "io_timeout_seconds", &cfg->io_timeout_seconds));
    PIER_TRY(ReadNonNegative(h, "http", "header_limit_bytes", &cfg->header_limit_bytes));
  }
  if (j.contains("log")) {
    const json& l = j["log"];
    PIER_TRY(CheckKeys(l, "log", {"level", "access"}));
    PIER_TRY(ReadString(l, "log", "level", &cfg->log_level));
    PIER_TRY(ReadBool(l, "log", "access", &cfg->access_log));
  }
  if (j.contains("replication") && j["replication"].is_object() && j["replication"].contains("engine")) {
    // The transfer engine's knobs sit beside the seeded registries/policies.
    const json& e = j["replication"]["engine"];
    const char* w = "replication.engine";
    PIER_TRY(CheckKeys(e, w,
                       {"workers_per_destination", "chunk_size_bytes", "no_progress_timeout_seconds",
                        "bandwidth_bytes_per_second", "image_overlap_bytes"}));
    PIER_TRY(ReadNonNegative(e, w, "workers_per_destination", &cfg->repl_workers_per_destination));
    PIER_TRY(ReadNonNegative(e, w, "chunk_size_bytes", &cfg->repl_chunk_size_bytes));
    PIER_TRY(ReadNonNegative(e, w, "no_progress_timeout_seconds", &cfg->repl_no_progress_timeout_seconds));
    PIER_TRY(ReadNonNegative(e, w, "bandwidth_bytes_per_second", &cfg->repl_bandwidth_bytes_per_second));
    PIER_TRY(ReadNonNegative(e, w, "image_overlap_bytes", &cfg->repl_image_overlap_bytes));
    if (cfg->repl_image_overlap_bytes < 0) {
      return Status::InvalidArgument("replication.engine.image_overlap_bytes: must not be negative");
    }
    if (cfg->repl_workers_per_destination < 1 || cfg->repl_workers_per_destination > 64) {
      return Status::InvalidArgument("replication.engine.workers_per_destination: must be 1..64");
    }
    if (cfg->repl_chunk_size_bytes < (256 << 10)) {
      return Status::InvalidArgument("replication.engine.chunk_size_bytes: must be at least 262144");
    }
    if (cfg->repl_no_progress_timeout_seconds < 1) {
      return Status::InvalidArgument("replication.engine.no_progress_timeout_seconds: must be at least 1");
    }
  }
  if (j.contains("replication") && j["replication"].is_object() && j["replication"].contains("health")) {
    const json& h = j["replication"]["health"];
    const char* w = "replication.health";
    PIER_TRY(CheckKeys(h, w, {"interval_seconds", "failing_interval_seconds"}));
    PIER_TRY(ReadInt(h, w, "interval_seconds", 1, 86400, &cfg->repl_health_interval_seconds));
    PIER_TRY(ReadInt(h, w, "failing_interval_seconds", 1, 86400, &cfg->repl_health_failing_interval_seconds));
  }
  if (j.contains("replication")) {
    json seed_part = j["replication"];
    if (seed_part.is_object()) {
      seed_part.erase("engine");
      seed_part.erase("health");
    }
    auto seed = replication::ParseSeed(seed_part, "replication");
    if (!seed.ok()) return seed.status();
    cfg->replication = std::move(*seed);
  }
  if (j.contains("webhooks")) {
    const json& w = j["webhooks"];
    PIER_TRY(CheckKeys(w, "webhooks", {"harbor"}));
    if (w.contains("harbor")) PIER_TRY(ParseHarborWebhook(w["harbor"], cfg));
  }
  if (j.contains("storage")) PIER_TRY(ParseStorage(j["storage"], &cfg->storage));
  if (j.contains("metadata")) PIER_TRY(ParseMetadata(j["metadata"], &cfg->metadata));
  if (j.contains("gc")) PIER_TRY(ParseGc(j["gc"], &cfg->gc));
  if (j.contains("advisor")) {
    const json& a = j["advisor"];
    PIER_TRY(CheckKeys(a, "advisor", {"on_push"}));
    PIER_TRY(ReadBool(a, "advisor", "on_push", &cfg->advisor_on_push));
  }
  if (j.contains("metrics")) {
    const json& m = j["metrics"];
    PIER_TRY(CheckKeys(m, "metrics", {"enabled", "listen", "require_auth"}));
    PIER_TRY(ReadBool(m, "metrics", "enabled", &cfg->metrics_enabled));
    PIER_TRY(ReadString(m, "metrics", "listen", &cfg->metrics_listen));
    PIER_TRY(ReadBool(m, "metrics", "require_auth", &cfg->metrics_require_auth));
    if (!cfg->metrics_listen.empty()) {
      std::string host;
      uint16_t port = 0;
      Status s = SplitListen(cfg->metrics_listen, &host, &port);
      if (!s.ok()) return Status::InvalidArgument("metrics.listen: " + s.message());
    }
  }
  return Status::OK();
}

Status LoadConfigFile(const std::string& path, Config* cfg) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Status s = ParseConfig(ss.str(), cfg);
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  return s;
}

Status SplitListen(std::string_view listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return Status::InvalidArgument("listen must be ADDR:PORT");
  std::string_view h = listen.substr(0, colon), p = listen.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  if (p.empty() || p.size() > 5) return Status::InvalidArgument("listen port must be 0-65535");
  unsigned v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return Status::InvalidArgument("listen port must be 0-65535");
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return Status::InvalidArgument("listen port must be 0-65535");
  *host = std::string(h);
  *port = static_cast<uint16_t>(v);
  return Status::OK();
}

}  // namespace pier
