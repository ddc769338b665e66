#!/usr/bin/env bash
# promtool unit tests of the alert rules (tests/rules/*.yaml): each alert
# fires on the series history it is written for, after its `for`, and stays
# quiet on the look-alikes (charts/pier/rules/pier-rules.yaml).
source "$(dirname "$0")/lib/common.sh"
command -v promtool >/dev/null || fail "promtool not installed (scripts/deps.sh)"
SRC=${PIER_SOURCE_DIR:-$(cd "$LIB_DIR/../../.." && pwd)}
for t in "$SRC"/tests/rules/*.yaml; do
  promtool test rules "$t" >"$WORK/promtool.log" 2>&1 || fail "promtool test rules $t: $(cat "$WORK/promtool.log")"
  pass "promtool test rules $(basename "$t")"
done
