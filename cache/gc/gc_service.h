#pragma once
// GcService: runs Store::CollectGarbage for the API, the schedule and
// nobody else, and keeps Harbor's GC history.
//
// Promises:
//  - one run at a time: Start while a run is Pending or Running answers
//    AlreadyExists naming the running one (the API's 409);
//  - every run is recorded in the store's "gc" key space (keys.h) with its
//    status (Pending → Running → Success | Error | Stopped), parameters,
//    times, the GcReport of a finished run and its log lines (at most
//    max_log_lines kept per run; later ones are counted, not stored);
//  - at most keep_runs runs are kept, the newest; a new run removes the
//    oldest finished ones with their logs;
//  - a run found Pending or Running when the service opens (the process
//    died under it) reads as Error "interrupted";
//  - the schedule set through SetSchedule is persisted and wins over the
//    one the service was constructed with (the config's), which is used
//    only until a schedule is set through the API (None included);
//  - Tick() starts a scheduled run at most once per due time, reading the
//    injected Clock (tests move a FakeClock; Start() runs Tick on a thread).
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "cache/store.h"

namespace pier::gc {

inline constexpr std::string_view kKindManual = "MANUAL";
inline constexpr std::string_view kKindSchedule = "SCHEDULE";
inline constexpr std::string_view kPending = "Pending";
inline constexpr std::string_view kRunning = "Running";
inline constexpr std::string_view kSuccess = "Success";
inline constexpr std::string_view kError = "Error";
inline constexpr std::string_view kStopped = "Stopped";

// Harbor's GC job parameters.
struct GcParameters {
  bool delete_untagged = false;
  bool dry_run = false;
  int workers = 1;  // 1..10
};
// Harbor's job_parameters string: {"delete_untagged":false,"dry_run":true,"workers":1}.
std::string ParametersJson(const GcParameters& p);
// InvalidArgument naming "parameters.workers" unless 1..10.
Status CheckParameters(const GcParameters& p);

// Harbor's schedule object. type: Manual, Hourly, Daily, Weekly, Custom,
// None; cron is the 6-field spec it fires on ("" for Manual and None).
struct GcSchedule {
  std::string type = "None";
  std::string cron;
};
// Checks a schedule from the API or the config and fills in the cron of the
// named types (Hourly "0 0 * * * *", Daily "0 0 0 * * *", Weekly
// "0 0 0 * * 0"). InvalidArgument naming "schedule.type" or "schedule.cron".
Result<GcSchedule> NormalizeSchedule(std::string_view type, std::string_view cron);
// The schedule a config's 6-field cron means: "" → None, else Custom.
Result<GcSchedule> ScheduleFromCron(std::string_view cron);

struct GcRun {
  int64_t id = 0;
  std::string kind;    // kKindManual or kKindSchedule
  std::string status;  // kPending ... kStopped
  std::string error;   // why it is Error
  GcParameters parameters;
  int64_t created_ms = 0;  // Unix milliseconds
  int64_t updated_ms = 0;
  std::optional<GcReport> report;  // a finished run's figures
  uint64_t log_lines_dropped = 0;  // lines past the cap
  bool Finished() const { return status != kPending && status != kRunning; }
};

// The figures of a report as JSON (the API's "pier" object, and how runs
// are stored): freed_bytes (blobs + uploads + orphans) and every GcReport
// field by its name.
nlohmann::json ReportJson(const GcReport& r);

// Told what the GC does (metrics/gc_metrics.cc implements it). Calls come
// from the service's threads; implementations must be thread-safe.
class GcObserver {
 public:
  virtual ~GcObserver() = default;
  // A run ended (any status); duration by the clock's Steady().
  virtual void OnRunFinished(const GcRun& run, double duration_seconds) = 0;
  // The schedule's period: the longest gap between its next fire times
  // (0: no schedule). At Open and at every SetSchedule.
  virtual void OnScheduled(double interval_seconds) = 0;
  // At Open: the end of the newest successful real (not dry) run in the
  // history, Unix milliseconds; not called when there is none.
  virtual void OnLastSuccess(int64_t unix_ms) = 0;
};

// Made at the start of each run: what replication still has to send.
using PinsHook = std::function<std::function<bool(std::string_view repo, const Digest&)>()>;

struct GcServiceOptions {
  int64_t grace_seconds = 7200;
  // Parameters of scheduled runs until the API sets a schedule with its own.
  GcParameters schedule_parameters;
  // The config's schedule (a 6-field cron, "" = none); see the promises.
  std::string initial_cron;
  PinsHook pins;  // null: nothing pinned
  // Also given every log line as it is written (`pier gc` prints them).
  std::function<void(const std::string&)> echo;
  std::shared_ptr<GcObserver> observer;  // null: nobody told
  const Clock* clock = &SystemClock();
  size_t keep_runs = 50;
  // Whether this replica fires the schedule (replicas sharing their records:
  // the leader only; empty: always). Every replica keeps the schedule's
  // times current, so a new leader neither fires twice nor catches up.
  std::function<bool()> may_fire;
  size_t max_log_lines = 10000;
};

class GcService {
 public:
  // Opens the "gc" key space and marks interrupted runs. InvalidArgument
  // when options.initial_cron does not parse.
  static Result<std::unique_ptr<GcService>> Open(std::shared_ptr<Store> store, GcServiceOptions options);
  ~GcService();  // stops a running run and the trigger thread, and waits

  // Starts a run on its own thread; the record is returned as created
  // (Pending). AlreadyExists while another runs; InvalidArgument for bad
  // parameters.
  Result<GcRun> StartRun(std::string_view kind, const GcParameters& p);
  // Asks a running run to stop (it ends Stopped). NotFound for no such run;
  // FailedPrecondition when it is not running.
  Status Stop(int64_t id);
  // Waits until no run is running (tests, `pier gc`).
  void Wait();

  Result<GcRun> Get(int64_t id);
  // Newest first.
  Result<std::vector<GcRun>> List();
  // The run's log lines, each ending in '\n', and a last line counting the
  // lines not kept. NotFound for no such run.
  Result<std::string> Log(int64_t id);

  struct ScheduleState {
    GcSchedule schedule;
    GcParameters parameters;
    bool from_api = false;  // false: the config's
    int64_t updated_ms = 0;
    // The next time it fires (nullopt: never).
    std::optional<std::chrono::system_clock::time_point> next;
  };
  ScheduleState Schedule();
  // Persists the schedule (normalized; Manual is not a schedule:
  // InvalidArgument). Takes effect at the next Tick.
  Status SetSchedule(const GcSchedule& s, const GcParameters& p);

  // Starts a scheduled run when its time has come by the clock. The first
  // Tick (and the first after a schedule change) only plans from now.
  void Tick();
  // Runs Tick every half second on a thread until destruction.
  void StartTrigger();

  struct Impl;

 private:
  explicit GcService(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace pier::gc
