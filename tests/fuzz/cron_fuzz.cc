// Six-field cron specs (scheduled policy triggers), then Harbor's extra
// rules. For an accepted spec, Next(t) is a whole second strictly after t at
// which the schedule fires again when asked from one second before.
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "base/cron.h"
#include "replication/policy.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace std::chrono;
  std::string_view spec = pier::fuzz::AsText(data, size);
  (void)pier::replication::CheckHarborCron(spec);
  auto cron = pier::CronSchedule::Parse(spec);
  if (!cron.ok()) {
    FUZZ_CHECK(cron.status().code() == pier::Code::kInvalidArgument, "Parse refuses with InvalidArgument");
    return 0;
  }
  FUZZ_CHECK(cron->spec() == spec, "the schedule keeps its spec");
  // 2026-12-02T09:45:31.250Z plus a little, so month and leap-year edges vary.
  const system_clock::time_point after =
      system_clock::time_point{seconds{1'796'204'731}} + milliseconds{250} + days{size % 1500};
  auto next = cron->Next(after);
  if (next == system_clock::time_point::max()) return 0;
  FUZZ_CHECK(next > after, "Next is strictly later");
  FUZZ_CHECK(next == floor<seconds>(next), "Next is on a whole second");
  FUZZ_CHECK(next - after < days{6 * 366 + 31}, "Next is within the five-year horizon");
  FUZZ_CHECK(cron->Next(next - seconds{1}) == next, "the schedule fires at Next");
  return 0;
}
