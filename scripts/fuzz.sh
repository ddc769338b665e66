#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang-14 with ASan+UBSan) in
# build-fuzz and runs each one: first on its regression inputs
# (tests/fuzz/regressions/<target>/, every past crash), then for SECONDS
# (default 60) on a scratch copy of its seed corpus (tests/fuzz/corpus/<target>/).
# Prints one line per target: how long it ran clean and how many inputs it
# executed. Fails when any target crashes, leaks, times out or runs out of
# memory; the input that did it is kept under build-fuzz/crashes/<target>/.
# Targets run FUZZ_JOBS (default nproc) at a time; FUZZ_TARGETS="a b" picks some.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_SECONDS=${1:-60}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc)}

build_start=$SECONDS
CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPIER_FUZZ=ON -DPIER_TESTS=OFF -DPIER_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target fuzz
echo "=== fuzz targets built in $((SECONDS - build_start)) s ==="

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for f in tests/fuzz/*_fuzz.cc; do
    n=$(basename "$f" _fuzz.cc)
    targets+=("$n")
  done
fi

RUN_DIR="$BUILD_DIR/fuzz-run"
CRASH_DIR="$BUILD_DIR/crashes"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR" "$CRASH_DIR"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs one target; writes its summary line to $RUN_DIR/<t>.result and
# returns non-zero on a crash.
run_target() {
  local t=$1 bin="$BUILD_DIR/tests/fuzz/${t}_fuzz" work="$RUN_DIR/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  local regressions=(tests/fuzz/regressions/"$t"/*)
  if [ -e "${regressions[0]}" ]; then
    if ! "$bin" -timeout=10 -rss_limit_mb=2048 "${regressions[@]}" >"$work/regressions.log" 2>&1; then
      echo "$t: FAILED on a regression input (see $work/regressions.log)" >"$RUN_DIR/$t.result"
      return 1
    fi
  else
    regressions=()
  fi
  cp -r tests/fuzz/corpus/"$t"/. "$work/corpus/"
  local start=$SECONDS rc=0
  "$bin" -max_total_time="$RUN_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1 || rc=$?
  local took=$((SECONDS - start))
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    mkdir -p "$CRASH_DIR/$t"
    cp "$work"/artifacts/* "$CRASH_DIR/$t/" 2>/dev/null || true
    echo "$t: CRASHED after ${took} s (exit $rc); input(s) in $CRASH_DIR/$t/, log $work/fuzz.log;" \
      "reproduce: $bin <input>" >"$RUN_DIR/$t.result"
    return 1
  fi
  printf '%-18s ran clean %4d s, %10s executions, %2d regression inputs replayed\n' \
    "$t" "$took" "${execs:-?}" "${#regressions[@]}" >"$RUN_DIR/$t.result"
}

echo "=== running ${#targets[@]} targets for ${RUN_SECONDS} s each, $JOBS at a time ==="
run_start=$SECONDS
failed=0
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
for t in "${targets[@]}"; do cat "$RUN_DIR/$t.result"; done
echo "=== fuzzing took $((SECONDS - run_start)) s ==="
if [ "$failed" -ne 0 ]; then
  echo "FUZZING FOUND A CRASH: see the lines above" >&2
  exit 1
fi
