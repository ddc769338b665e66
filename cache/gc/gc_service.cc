#include "cache/gc/gc_service.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "base/cron.h"
#include "base/internal_errors.h"
#include "base/json_fields.h"
#include "base/log.h"
#include "cache/keys.h"

namespace pier::gc {
namespace {

using json = nlohmann::json;
using std::chrono::system_clock;

constexpr std::string_view kNextId = "next_id";
constexpr std::string_view kScheduleKey = "schedule";
constexpr std::string_view kRunPrefix = "run/";
constexpr size_t kLogBatch = 256;  // log lines per synced write

std::string Padded(int64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%020lld", static_cast<long long>(v));
  return b;
}
std::string RunKey(int64_t id) { return std::string(kRunPrefix) + Padded(id); }
std::string LogPrefix(int64_t id) { return "log/" + Padded(id) + "/"; }

int64_t UnixMs(const Clock& c) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(c.Now().time_since_epoch()).count();
}

json ParamsToJson(const GcParameters& p) {
  return {{"delete_untagged", p.delete_untagged}, {"dry_run", p.dry_run}, {"workers", p.workers}};
}
GcParameters ParamsFromJson(const json& j) {
  GcParameters p;
  if (!j.is_object()) return p;
  p.delete_untagged = j.value("delete_untagged", false);
  p.dry_run = j.value("dry_run", false);
  p.workers = j.value("workers", 1);
  return p;
}

GcReport ReportFromJson(const json& j) {
  GcReport r;
  auto u = [&](const char* k) { return j.value(k, uint64_t{0}); };
  r.manifests_deleted = u("manifests_deleted");
  r.links_deleted = u("links_deleted");
  r.blobs_deleted = u("blobs_deleted");
  r.blob_bytes_deleted = u("blob_bytes_deleted");
  r.uploads_deleted = u("uploads_deleted");
  r.upload_bytes_deleted = u("upload_bytes_deleted");
  r.orphans_deleted = u("orphans_deleted");
  r.orphan_bytes_deleted = u("orphan_bytes_deleted");
  r.pinned_blobs = u("pinned_blobs");
  r.pinned_bytes = u("pinned_bytes");
  r.stopped = j.value("stopped", false);
  return r;
}

std::string EncodeRun(const GcRun& r) {
  json j = {{"id", r.id},
            {"kind", r.kind},
            {"status", r.status},
            {"error", r.error},
            {"parameters", ParamsToJson(r.parameters)},
            {"created_ms", r.created_ms},
            {"updated_ms", r.updated_ms},
            {"log_lines_dropped", r.log_lines_dropped}};
  if (r.report) j["report"] = ReportJson(*r.report);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<GcRun> DecodeRun(std::string_view v) {
  json j = json::parse(v, nullptr, false);
  if (!j.is_object()) return Status::Corruption("gc run record is not a JSON object");
  GcRun r;
  try {
    r.id = j.at("id").get<int64_t>();
    r.kind = j.value("kind", std::string(kKindManual));
    r.status = j.value("status", std::string(kError));
    r.error = j.value("error", std::string());
    r.parameters = ParamsFromJson(j.value("parameters", json::object()));
    r.created_ms = j.value("created_ms", int64_t{0});
    r.updated_ms = j.value("updated_ms", int64_t{0});
    r.log_lines_dropped = j.value("log_lines_dropped", uint64_t{0});
    if (j.contains("report")) r.report = ReportFromJson(j["report"]);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("gc run record: ") + e.what());
  }
  return r;
}

// The longest gap between the next fire times of `cron` (0: none): how
// often a successful run may be expected (a weekday cron's weekend counts).
double Interval(std::string_view cron, system_clock::time_point now) {
  if (cron.empty()) return 0;
  auto c = CronSchedule::Parse(cron);
  if (!c.ok()) return 0;
  auto t = c->Next(now);
  double longest = 0;
  for (int i = 0; i < 16 && t != system_clock::time_point::max(); ++i) {
    auto next = c->Next(t);
    if (next == system_clock::time_point::max()) break;
    longest = std::max(longest, std::chrono::duration<double>(next - t).count());
    t = next;
  }
  return longest;
}

uint64_t FreedBytes(const GcReport& r) {
  return r.blob_bytes_deleted + r.upload_bytes_deleted + r.orphan_bytes_deleted;
}

}  // namespace

std::string ParametersJson(const GcParameters& p) { return ParamsToJson(p).dump(); }

Status CheckParameters(const GcParameters& p) {
  if (p.workers < 1 || p.workers > 10) return FieldError("parameters.workers", "must be an integer in [1, 10]");
  return Status::OK();
}

Result<GcSchedule> NormalizeSchedule(std::string_view type, std::string_view cron) {
  GcSchedule s;
  s.type = std::string(type);
  if (type == "Manual" || type == "None") return s;
  if (type == "Hourly") s.cron = "0 0 * * * *";
  else if (type == "Daily") s.cron = "0 0 0 * * *";
  else if (type == "Weekly") s.cron = "0 0 0 * * 0";
  else if (type == "Custom") {
    if (cron.empty()) return FieldError("schedule.cron", "required for type Custom");
    auto parsed = CronSchedule::Parse(cron);
    if (!parsed.ok()) return FieldError("schedule.cron", parsed.status().message());
    s.cron = std::string(cron);
  } else {
    return FieldError("schedule.type", "must be one of Manual, Hourly, Daily, Weekly, Custom, None");
  }
  return s;
}

Result<GcSchedule> ScheduleFromCron(std::string_view cron) {
  if (cron.empty()) return GcSchedule{};
  auto parsed = CronSchedule::Parse(cron);
  if (!parsed.ok()) return parsed.status();
  return GcSchedule{"Custom", std::string(cron)};
}

json ReportJson(const GcReport& r) {
  return {{"freed_bytes", FreedBytes(r)},
          {"manifests_deleted", r.manifests_deleted},
          {"links_deleted", r.links_deleted},
          {"blobs_deleted", r.blobs_deleted},
          {"blob_bytes_deleted", r.blob_bytes_deleted},
          {"uploads_deleted", r.uploads_deleted},
          {"upload_bytes_deleted", r.upload_bytes_deleted},
          {"orphans_deleted", r.orphans_deleted},
          {"orphan_bytes_deleted", r.orphan_bytes_deleted},
          {"pinned_blobs", r.pinned_blobs},
          {"pinned_bytes", r.pinned_bytes},
          {"stopped", r.stopped}};
}

struct GcService::Impl {
  std::shared_ptr<Store> store;
  std::shared_ptr<KvSpace> kv;
  GcServiceOptions options;

  std::mutex mu;  // guards everything below; never held across CollectGarbage
  std::condition_variable cv;
  // Reads the schedule set through the API (if any) into `schedule`; the
  // caller holds mu or owns the Impl alone. Another replica's API may have
  // set it: replicas sharing records read it again at every Tick.
  Status LoadApiSchedule() {
    auto v = kv->Get(kScheduleKey);
    if (!v.ok()) return v.status().code() == Code::kNotFound ? Status::OK() : v.status();
    json j = json::parse(*v, nullptr, false);
    if (!j.is_object()) return Status::OK();
    const int64_t updated = j.value("updated_ms", int64_t{0});
    if (schedule.from_api && schedule.updated_ms == updated) return Status::OK();
    schedule.schedule.type = j.value("type", std::string("None"));
    schedule.schedule.cron = j.value("cron", std::string());
    schedule.parameters = ParamsFromJson(j.value("parameters", json::object()));
    schedule.updated_ms = updated;
    schedule.from_api = true;
    return Status::OK();
  }

  int64_t running = 0;  // id of the Pending/Running run, 0: none
  // Held while a run runs: no other replica runs one (nor marks ours
  // interrupted when it starts).
  std::unique_ptr<HeldLock> run_lock;
  std::atomic<bool> stop{false};
  std::thread worker;
  ScheduleState schedule;
  std::string planned_spec;  // the cron `planned` was computed from
  std::optional<system_clock::time_point> planned;
  bool closing = false;
  std::thread trigger;

  Status Put(const GcRun& r) { return kv->Write({{RunKey(r.id), EncodeRun(r)}}); }

  Result<std::vector<GcRun>> ScanRuns() {
    std::vector<GcRun> out;
    Status bad;
    Status s = kv->Scan(kRunPrefix, [&](std::string_view, std::string_view v) {
      auto r = DecodeRun(v);
      if (!r.ok()) {
        bad = r.status();
        return false;
      }
      out.push_back(std::move(*r));
      return true;
    });
    if (!s.ok()) return s;
    if (!bad.ok()) return bad;
    return out;  // oldest first (keys order by id)
  }

  // Removes the oldest finished runs so that `keep` remain with the new one.
  void Prune(std::vector<GcRun>& runs, size_t keep, std::vector<KvSpace::Op>* ops) {
    size_t excess = runs.size() + 1 > keep ? runs.size() + 1 - keep : 0;
    for (const GcRun& r : runs) {
      if (excess == 0) break;
      if (!r.Finished()) continue;
      ops->emplace_back(RunKey(r.id), std::nullopt);
      Status s = kv->Scan(LogPrefix(r.id), [&](std::string_view k, std::string_view) {
        ops->emplace_back(std::string(k), std::nullopt);
        return true;
      });
      if (!s.ok()) ReportInternalError("gc", "listing an old run's log", s);
      --excess;
    }
  }

  void Run(GcRun run) {
    const Clock& clock = *options.clock;
    auto started = clock.Steady();
    run.status = std::string(kRunning);
    run.updated_ms = UnixMs(clock);
    if (Status s = Put(run); !s.ok()) ReportInternalError("gc", "recording a run", s);

    std::vector<KvSpace::Op> batch;
    uint64_t seq = 0;
    auto flush = [&] {
      if (batch.empty()) return;
      // The log is advisory: a line lost must not fail the run.
      if (Status s = kv->Write(batch); !s.ok()) ReportInternalError("gc", "writing run log lines", s);
      batch.clear();
    };
    auto keep_line = [&](std::string line, bool always) {
      if (!always && seq >= options.max_log_lines) {
        ++run.log_lines_dropped;
        return;
      }
      batch.emplace_back(LogPrefix(run.id) + Padded(static_cast<int64_t>(seq++)), std::move(line));
      if (batch.size() >= kLogBatch) flush();
    };

    GcOptions o;
    o.grace_seconds = options.grace_seconds;
    o.delete_untagged = run.parameters.delete_untagged;
    o.dry_run = run.parameters.dry_run;
    o.workers = run.parameters.workers;
    if (options.pins) o.pinned = options.pins();
    std::mutex log_mu;  // workers log side by side
    o.log = [&](const std::string& line) {
      std::lock_guard lock(log_mu);
      if (options.echo) options.echo(line);
      keep_line(line, false);
    };
    o.stop = &stop;
    keep_line(std::string(run.parameters.dry_run ? "dry run" : "run") + " started: " +
                  ParametersJson(run.parameters) + " grace_seconds=" + std::to_string(options.grace_seconds),
              true);
    auto report = store->CollectGarbage(o);
    if (report.ok()) {
      run.report = *report;
      run.status = std::string(report->stopped ? kStopped : kSuccess);
      keep_line(TotalsLine(*report, run.parameters.dry_run), true);
    } else {
      run.status = std::string(kError);
      run.error = report.status().message();
      keep_line("error: " + report.status().ToString(), true);
      if (options.echo) options.echo("error: " + report.status().ToString());
    }
    flush();
    run.updated_ms = UnixMs(clock);
    if (Status s = Put(run); !s.ok()) ReportInternalError("gc", "recording a run", s);
    if (run.status == kError) log::Warn("garbage collection failed", {{"id", std::to_string(run.id)}, {"error", run.error}});
    else log::Info("garbage collection ended", {{"id", std::to_string(run.id)}, {"status", run.status}});
    if (options.observer) {
      options.observer->OnRunFinished(run, std::chrono::duration<double>(clock.Steady() - started).count());
    }
    std::lock_guard lock(mu);
    running = 0;
    run_lock.reset();
    cv.notify_all();
  }

  static std::string TotalsLine(const GcReport& r, bool dry_run) {
    std::string verb = dry_run ? "would free " : "freed ";
    return std::string(r.stopped ? "stopped early; " : "") + "totals: " + verb + std::to_string(FreedBytes(r)) +
           " bytes: " + std::to_string(r.blobs_deleted) + " blobs (" + std::to_string(r.blob_bytes_deleted) +
           " bytes), " + std::to_string(r.manifests_deleted) + " manifests, " + std::to_string(r.links_deleted) +
           " links, " + std::to_string(r.uploads_deleted) + " uploads (" + std::to_string(r.upload_bytes_deleted) +
           " bytes), " + std::to_string(r.orphans_deleted) + " orphans (" + std::to_string(r.orphan_bytes_deleted) +
           " bytes); kept for replication: " + std::to_string(r.pinned_blobs) + " blobs (" +
           std::to_string(r.pinned_bytes) + " bytes)";
  }

  std::optional<system_clock::time_point> NextFire(system_clock::time_point now) {
    if (schedule.schedule.cron.empty()) return std::nullopt;
    if (planned && planned_spec == schedule.schedule.cron) return planned;
    auto c = CronSchedule::Parse(schedule.schedule.cron);
    if (!c.ok()) return std::nullopt;
    auto t = c->Next(now);
    if (t == system_clock::time_point::max()) return std::nullopt;
    return t;
  }
};

Result<std::unique_ptr<GcService>> GcService::Open(std::shared_ptr<Store> store, GcServiceOptions options) {
  auto initial = ScheduleFromCron(options.initial_cron);
  if (!initial.ok()) return FieldError("gc.schedule", initial.status().message());
  auto kv = store->OpenKeySpace(keys::kGc);
  if (!kv.ok()) return kv.status();
  auto impl = std::make_shared<Impl>();
  impl->store = std::move(store);
  impl->kv = std::move(*kv);
  if (options.clock == nullptr) options.clock = &SystemClock();
  impl->options = std::move(options);
  impl->schedule.schedule = *initial;
  impl->schedule.parameters = impl->options.schedule_parameters;

  // A schedule set through the API wins over the config's.
  if (Status s = impl->LoadApiSchedule(); !s.ok()) return s;

  // Runs the process died under end as Error "interrupted" — unless another
  // replica runs one now (it holds the run lock): those are its.
  auto nobody_runs = impl->kv->Lock("run", /*wait=*/false);
  if (!nobody_runs.ok() && nobody_runs.status().code() != Code::kFailedPrecondition) return nobody_runs.status();
  auto runs = impl->ScanRuns();
  if (!runs.ok()) return runs.status();
  int64_t last_success = 0;
  for (GcRun& r : *runs) {
    if (r.status == kSuccess && !r.parameters.dry_run) last_success = std::max(last_success, r.updated_ms);
    if (r.Finished() || !nobody_runs.ok()) continue;
    r.status = std::string(kError);
    r.error = "interrupted";
    r.updated_ms = UnixMs(*impl->options.clock);
    if (Status s = impl->Put(r); !s.ok()) return s;
  }
  if (auto& o = impl->options.observer) {
    o->OnScheduled(Interval(impl->schedule.schedule.cron, impl->options.clock->Now()));
    if (last_success > 0) o->OnLastSuccess(last_success);
  }
  return std::unique_ptr<GcService>(new GcService(std::move(impl)));
}

GcService::~GcService() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
  }
  impl_->stop = true;
  impl_->cv.notify_all();
  if (impl_->trigger.joinable()) impl_->trigger.join();
  if (impl_->worker.joinable()) impl_->worker.join();
}

Result<GcRun> GcService::StartRun(std::string_view kind, const GcParameters& p) {
  if (Status s = CheckParameters(p); !s.ok()) return s;
  std::lock_guard lock(impl_->mu);
  if (impl_->closing) return Status::Unavailable("shutting down");
  if (impl_->running != 0) {
    return Status::AlreadyExists("a garbage collection is already running (id " + std::to_string(impl_->running) +
                                 "); wait for it or stop it first");
  }
  if (impl_->worker.joinable()) impl_->worker.join();  // the previous run has ended
  auto run_lock = impl_->kv->Lock("run", /*wait=*/false);  // one run across replicas
  if (!run_lock.ok()) {
    if (run_lock.status().code() == Code::kFailedPrecondition) {
      return Status::AlreadyExists("a garbage collection is already running on another replica");
    }
    return run_lock.status();
  }
  auto runs = impl_->ScanRuns();
  if (!runs.ok()) return runs.status();
  int64_t last = 0;
  if (auto v = impl_->kv->Get(kNextId); v.ok()) {
    last = std::strtoll(v->c_str(), nullptr, 10);
  } else if (v.status().code() != Code::kNotFound) {
    return v.status();
  }
  GcRun run;
  run.id = last + 1;
  run.kind = std::string(kind);
  run.status = std::string(kPending);
  run.parameters = p;
  run.created_ms = run.updated_ms = UnixMs(*impl_->options.clock);
  std::vector<KvSpace::Op> ops;
  impl_->Prune(*runs, impl_->options.keep_runs, &ops);
  ops.emplace_back(std::string(kNextId), std::to_string(run.id));
  ops.emplace_back(RunKey(run.id), EncodeRun(run));
  if (Status s = impl_->kv->Write(ops); !s.ok()) return s;
  impl_->running = run.id;
  impl_->run_lock = std::move(run_lock).value();
  impl_->stop = false;
  log::Info("garbage collection started", {{"id", std::to_string(run.id)}, {"kind", run.kind},
                                           {"parameters", ParametersJson(p)}});
  impl_->worker = std::thread([impl = impl_.get(), run] { impl->Run(run); });
  return run;
}

Status GcService::Stop(int64_t id) {
  auto r = Get(id);
  if (!r.ok()) return r.status();
  std::lock_guard lock(impl_->mu);
  if (impl_->running != id) return Status::FailedPrecondition("garbage collection " + std::to_string(id) + " is not running");
  impl_->stop = true;
  return Status::OK();
}

void GcService::Wait() {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->running == 0; });
}

Result<GcRun> GcService::Get(int64_t id) {
  auto v = impl_->kv->Get(RunKey(id));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("no garbage collection " + std::to_string(id));
    return v.status();
  }
  return DecodeRun(*v);
}

Result<std::vector<GcRun>> GcService::List() {
  auto runs = impl_->ScanRuns();
  if (!runs.ok()) return runs.status();
  std::reverse(runs->begin(), runs->end());
  return runs;
}

Result<std::string> GcService::Log(int64_t id) {
  auto r = Get(id);
  if (!r.ok()) return r.status();
  std::string out;
  Status s = impl_->kv->Scan(LogPrefix(id), [&](std::string_view, std::string_view v) {
    out.append(v).push_back('\n');
    return true;
  });
  if (!s.ok()) return s;
  if (r->log_lines_dropped > 0) {
    out += "(" + std::to_string(r->log_lines_dropped) + " more lines not kept)\n";
  }
  return out;
}

GcService::ScheduleState GcService::Schedule() {
  std::lock_guard lock(impl_->mu);
  ScheduleState s = impl_->schedule;
  s.next = impl_->NextFire(impl_->options.clock->Now());
  return s;
}

Status GcService::SetSchedule(const GcSchedule& s, const GcParameters& p) {
  auto n = NormalizeSchedule(s.type, s.cron);
  if (!n.ok()) return n.status();
  if (n->type == "Manual") return FieldError("schedule.type", "Manual runs once now; it is not a schedule");
  if (Status c = CheckParameters(p); !c.ok()) return c;
  int64_t now = UnixMs(*impl_->options.clock);
  json j = {{"type", n->type}, {"cron", n->cron}, {"parameters", ParamsToJson(p)}, {"updated_ms", now}};
  std::lock_guard lock(impl_->mu);
  if (Status w = impl_->kv->Write({{std::string(kScheduleKey), j.dump()}}); !w.ok()) return w;
  impl_->schedule = ScheduleState{*n, p, true, now, std::nullopt};
  if (impl_->options.observer) impl_->options.observer->OnScheduled(Interval(n->cron, impl_->options.clock->Now()));
  return Status::OK();
}

void GcService::Tick() {
  auto now = impl_->options.clock->Now();
  GcParameters params;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->store->shared_metadata()) {
      if (Status s = impl_->LoadApiSchedule(); !s.ok()) return;  // the database is away: next tick
    }
    const std::string& spec = impl_->schedule.schedule.cron;
    if (spec.empty()) {
      impl_->planned.reset();
      return;
    }
    if (!impl_->planned || impl_->planned_spec != spec) {
      impl_->planned_spec = spec;
      impl_->planned = impl_->NextFire(now);
      return;
    }
    if (*impl_->planned > now) return;
    auto c = CronSchedule::Parse(spec);
    impl_->planned = c.ok() ? std::optional(c->Next(now)) : std::nullopt;
    params = impl_->schedule.parameters;
  }
  if (impl_->options.may_fire && !impl_->options.may_fire()) return;  // the leader fires it
  auto run = StartRun(kKindSchedule, params);
  if (!run.ok()) log::Warn("scheduled garbage collection did not start", {{"error", run.status().message()}});
}

void GcService::StartTrigger() {
  std::lock_guard lock(impl_->mu);
  if (impl_->trigger.joinable()) return;
  impl_->trigger = std::thread([this] {
    std::unique_lock lock(impl_->mu);
    while (!impl_->closing) {
      // Cron has second resolution; half a second keeps fires on time.
      impl_->cv.wait_for(lock, std::chrono::milliseconds(500));
      if (impl_->closing) break;
      lock.unlock();
      Tick();
      lock.lock();
    }
  });
}

}  // namespace pier::gc
