// Scrape-time collectors: the store's gauges over a real Store, process_*
// from /proc, and the /proc parsers on tricky input.
#include <gtest/gtest.h>

#include <set>
#include <time.h>
#include <unistd.h>

#include <cstdint>

#include "base/internal_errors.h"
#include "metrics/internal_errors_collector.h"
#include "metrics/metrics.h"
#include "metrics/process_collector.h"
#include "metrics/storage_collector.h"
#include "metrics/store_collector.h"
#include "metrics/transcode_collector.h"
#include "tests/unit/transcode/gzip_util.h"
#include "tests/unit/cache/test_util.h"
#include "tests/unit/metrics/text_util.h"

namespace pier::metrics {
namespace {

using testing::Type;
using testing::Value;

// A store in `root`; null (and a test failure) when it does not open.
std::shared_ptr<Store> OpenStore(const std::filesystem::path& root) {
  Store::Options o;
  o.root = root;
  auto opened = Store::Open(o);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::shared_ptr<Store>(std::move(*opened)) : nullptr;
}

TEST(TranscodeCollector, CountsTranscodesBytesAndReuse) {
  pier::testing::TempDir dir;
  std::shared_ptr<Store> store = OpenStore(dir.path());
  ASSERT_TRUE(store);
  auto t = transcode::Transcoder::Open(store);
  ASSERT_TRUE(t.ok());
  Exposition e;
  e.Add(std::make_shared<TranscodeCollector>(*t));
  auto text = [&] { return e.Text(); };
  std::string before = text();
  EXPECT_EQ(Value(before, "pier_transcode_runs_total{result=\"ok\"}"), 0) << before;
  EXPECT_EQ(Value(before, "pier_transcode_queued"), 0);
  const std::string gz = pier::testing::Gzip(pier::testing::DocBytes(1 << 20));
  auto b = pier::testing::PushBlob(*store, "team/a", gz);
  ASSERT_TRUE(b.ok());
  auto made = (*t)->Ensure("team/a", b->digest, 3);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_TRUE((*t)->Ensure("team/a", b->digest, 3).ok());
  (*t)->NoteQueued(2);
  std::string after = text();
  EXPECT_EQ(Value(after, "pier_transcode_runs_total{result=\"ok\"}"), 1) << after;
  EXPECT_EQ(Value(after, "pier_transcode_reused_total"), 1);
  EXPECT_EQ(Value(after, "pier_transcode_input_bytes_total"), static_cast<double>(gz.size()));
  EXPECT_EQ(Value(after, "pier_transcode_output_bytes_total"), static_cast<double>(made->size));
  EXPECT_EQ(Value(after, "pier_transcode_queued"), 2);
}

TEST(StoreCollector, ReportsTheStoreAndItsDisk) {
  pier::testing::TempDir dir;
  std::shared_ptr<Store> store = OpenStore(dir.path());
  ASSERT_TRUE(store);
  FakeClock clock;
  auto space = std::make_shared<DiskSpace>(dir.path(), 0, clock,
                                           [](const std::filesystem::path&) { return std::optional<uint64_t>(1 << 30); });
  Metrics m(MetricsOptions{store, dir.path(), "v", "r", space, nullptr, nullptr, nullptr});

  std::string t = m.exposition()->Text();
  EXPECT_EQ(Value(t, "pier_cache_stored_blobs"), 0);
  EXPECT_EQ(Value(t, "pier_cache_stored_bytes"), 0);

  const std::string layer(1000, 'x');
  ASSERT_TRUE(pier::testing::PushBlob(*store, "team/a", layer).ok());
  ASSERT_TRUE(pier::testing::PushBlob(*store, "team/b", layer).ok());  // a duplicate
  ASSERT_TRUE(pier::testing::PushBlob(*store, "team/a", "small").ok());
  ASSERT_TRUE(store->StartUpload("team/c").ok());  // left open

  t = m.exposition()->Text();
  EXPECT_EQ(Value(t, "pier_cache_stored_blobs"), 2);
  EXPECT_EQ(Value(t, "pier_cache_stored_bytes"), 1005);
  EXPECT_EQ(Value(t, "pier_cache_dedup_saved_bytes_total"), 1000);
  EXPECT_EQ(Value(t, "pier_cache_uploads_in_progress"), 1);
  EXPECT_EQ(Type(t, "pier_cache_stored_bytes"), "gauge");
  EXPECT_EQ(Type(t, "pier_cache_dedup_saved_bytes_total"), "counter");
  const auto free_bytes = Value(t, "pier_cache_disk_free_bytes");
  const auto size_bytes = Value(t, "pier_cache_disk_size_bytes");
  ASSERT_TRUE(free_bytes && size_bytes) << t;
  EXPECT_GT(*size_bytes, 0);
  EXPECT_LE(*free_bytes, *size_bytes);
  // Quotas: usage per project (the duplicate counted once), limits where set.
  EXPECT_EQ(Value(t, "pier_quota_used_bytes{project=\"team\"}"), 1005);
  EXPECT_FALSE(Value(t, "pier_quota_limit_bytes{project=\"team\"}"));
  ASSERT_TRUE(store->SetQuota("team", 1010).ok());
  EXPECT_EQ(pier::testing::PushBlob(*store, "team/a", std::string(100, 'y')).status().code(), Code::kQuotaExceeded);
  t = m.exposition()->Text();
  EXPECT_EQ(Value(t, "pier_quota_limit_bytes{project=\"team\"}"), 1010);
  EXPECT_EQ(Value(t, "pier_storage_refusals_total{reason=\"quota\"}"), 1);
  EXPECT_EQ(Value(t, "pier_storage_refusals_total{reason=\"space\"}"), 0);
}

TEST(StoreCollector, DiskGaugesAreLeftOutWhenTheFolderIsGone) {
  pier::testing::TempDir dir;
  Store::Options o;
  o.root = dir.path() / "store";
  auto opened = Store::Open(o);
  ASSERT_TRUE(opened.ok());
  StoreCollector c(std::shared_ptr<Store>(std::move(*opened)), dir.path() / "missing");
  bool disk = false, blobs = false;
  for (const auto& f : c.Collect()) {
    disk = disk || f.name == "pier_cache_disk_free_bytes";
    blobs = blobs || f.name == "pier_cache_stored_blobs";
  }
  EXPECT_FALSE(disk);
  EXPECT_TRUE(blobs);
}

// Replicas: the store-wide figures come from the leader only (one series
// per cluster for sum()), a replica's own (disk, dedup) from every one.
TEST(StoreCollector, StoreWideFiguresOnlyWhileReportingForTheCluster) {
  pier::testing::TempDir dir;
  std::shared_ptr<Store> store = OpenStore(dir.path());
  ASSERT_TRUE(store);
  bool leads = false;
  StoreCollector c(store, dir.path(), [&] { return leads; });
  auto names = [&] {
    std::set<std::string> n;
    for (const auto& f : c.Collect()) n.insert(f.name);
    return n;
  };
  auto follower = names();
  EXPECT_FALSE(follower.contains("pier_cache_stored_bytes"));
  EXPECT_FALSE(follower.contains("pier_cache_uploads_in_progress"));
  EXPECT_FALSE(follower.contains("pier_quota_used_bytes"));
  EXPECT_TRUE(follower.contains("pier_cache_disk_free_bytes"));
  EXPECT_TRUE(follower.contains("pier_cache_dedup_saved_bytes_total"));
  leads = true;
  auto leader = names();
  EXPECT_TRUE(leader.contains("pier_cache_stored_bytes"));
  EXPECT_TRUE(leader.contains("pier_cache_stored_blobs"));
  EXPECT_TRUE(leader.contains("pier_quota_used_bytes"));
}

TEST(ProcStat, ParsesFieldsAfterAnAwkwardCommandName) {
  // proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt
  // cminflt majflt cmajflt utime stime cutime cstime priority nice threads
  // itrealvalue starttime vsize rss ...
  const std::string text =
      "4242 (pier (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 123456 987654321 2048 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto s = ParseProcStat(text);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 75u);
  EXPECT_EQ(s->start_ticks, 123456u);
  EXPECT_EQ(s->vsize_bytes, 987654321u);
  EXPECT_EQ(s->rss_pages, 2048u);
  EXPECT_FALSE(ParseProcStat("4242 (pier) S 1 2 3").has_value());
  EXPECT_FALSE(ParseProcStat("garbage").has_value());
  EXPECT_EQ(ParseBootTime("cpu 1 2 3\nbtime 1700000000\nprocesses 5\n"), 1700000000u);
  EXPECT_FALSE(ParseBootTime("cpu 1 2 3\n").has_value());
}

// CPU time the kernel has charged this process (all threads), in seconds.
double ProcessCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Spins until this process has used `seconds` more CPU.
void BurnCpu(double seconds) {
  const double until = ProcessCpuSeconds() + seconds;
  volatile uint64_t x = 0;
  while (ProcessCpuSeconds() < until) {
    for (int i = 0; i < 100000; ++i) x = x + static_cast<uint64_t>(i);
  }
}

TEST(ProcessCollector, CpuSecondsFollowWhatTheKernelCharged) {
  Metrics m(MetricsOptions{});
  BurnCpu(0.3);  // so a collector stuck at 0 (or in ticks, or in ms) cannot pass
  const double before = ProcessCpuSeconds();
  const std::string t = m.exposition()->Text();
  const double after = ProcessCpuSeconds();
  EXPECT_EQ(Type(t, "process_cpu_seconds_total"), "counter");
  ASSERT_SERIES(cpu, t, "process_cpu_seconds_total");
  // /proc counts in clock ticks (utime and stime each rounded down), so it
  // trails the precise clock by at most two ticks; it never runs ahead.
  const double tick = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_GE(cpu, before - 2 * tick - 0.01) << "before " << before;
  EXPECT_LE(cpu, after + 0.01) << "after " << after;

  // And it grows with the CPU burnt between two scrapes.
  BurnCpu(0.2);
  ASSERT_SERIES(cpu2, m.exposition()->Text(), "process_cpu_seconds_total");
  EXPECT_GE(cpu2 - cpu, 0.2 - 2 * tick - 0.01);
}

TEST(ProcessCollector, ReportsThisProcess) {
  Metrics m(MetricsOptions{});
  const std::string t = m.exposition()->Text();
  ASSERT_SERIES(rss, t, "process_resident_memory_bytes");
  ASSERT_SERIES(vsize, t, "process_virtual_memory_bytes");
  ASSERT_SERIES(open_fds, t, "process_open_fds");
  ASSERT_SERIES(max_fds, t, "process_max_fds");
  ASSERT_SERIES(start, t, "process_start_time_seconds");
  EXPECT_GT(rss, 1024 * 1024);
  EXPECT_GE(vsize, rss);
  EXPECT_GE(open_fds, 1);
  EXPECT_GT(max_fds, 0);
  // Started within the last day, and not in the future.
  const double now = static_cast<double>(::time(nullptr));
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 86400);
}

TEST(InternalErrorsCollector, CountsWhatWasReportedPerComponent) {
  Metrics m(MetricsOptions{});
  // Counts are process-wide: use components no other test reports into.
  const std::string a = R"(pier_internal_errors_total{component="collector_test_a"})";
  const std::string b = R"(pier_internal_errors_total{component="collector_test_b"})";
  std::string t = m.exposition()->Text();
  EXPECT_EQ(Type(t, "pier_internal_errors_total"), "counter");
  EXPECT_FALSE(Value(t, a).has_value()) << "no series before the first error";

  ReportInternalError("collector_test_a", "test: a bookkeeping write failed", Status::IOError("disk"));
  ReportInternalError("collector_test_a", "test: again", Status::IOError("disk"));
  ReportInternalError("collector_test_b", "test: a cleanup failed", Status::Internal("x"));
  t = m.exposition()->Text();
  ASSERT_SERIES(count_a, t, a);
  ASSERT_SERIES(count_b, t, b);
  EXPECT_EQ(count_a, 2);
  EXPECT_EQ(count_b, 1);

  // The collector alone gives the same family (what Metrics registers).
  InternalErrorsCollector c;
  const auto families = c.Collect();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].name, "pier_internal_errors_total");
  EXPECT_EQ(families[0].metric.size(), InternalErrorCounts().size());
}

// The disk-space guard's figures; the refusal series exists at zero from
// the first scrape.
TEST(StorageCollector, FreeReserveAndRefusals) {
  FakeClock clock;
  std::optional<uint64_t> free = 12345;
  auto space = std::make_shared<DiskSpace>("/data", 1000, clock, [&](const std::filesystem::path&) { return free; });
  MetricsOptions mo;
  mo.disk_space = space;
  Metrics m(mo);
  std::string t = m.exposition()->Text();
  EXPECT_EQ(Value(t, "pier_storage_free_bytes"), 12345);
  EXPECT_EQ(Value(t, "pier_storage_reserve_bytes"), 1000);
  EXPECT_EQ(Value(t, "pier_storage_refusals_total{reason=\"space\"}"), 0);
  EXPECT_EQ(Type(t, "pier_storage_refusals_total"), "counter");
  EXPECT_EQ(Type(t, "pier_storage_free_bytes"), "gauge");

  space->CountRefusal();
  free = std::nullopt;  // statvfs failing: the free gauge is left out
  space->Refresh();
  t = m.exposition()->Text();
  EXPECT_EQ(Value(t, "pier_storage_refusals_total{reason=\"space\"}"), 1);
  EXPECT_EQ(Value(t, "pier_storage_free_bytes"), std::nullopt);
  EXPECT_EQ(Value(t, "pier_storage_reserve_bytes"), 1000);
}

}  // namespace
}  // namespace pier::metrics
