# Sourced by the bench scripts. quiet: before each timed run wait (up to
# $WAIT_IDLE s) for the CPUs to be quiet, warn when they are not, and keep
# the busiest sample seen in $MAX_BUSY. Needs $LIB (benchlib.py) and log().
MAX_BUSY=0
quiet() {
  local b
  b=$(python3 "$LIB" wait-idle 10 "$WAIT_IDLE")
  if [ "$b" -gt 10 ]; then log "  WARNING: CPUs $b% busy with other work before this run"; fi
  if [ "$b" -gt "$MAX_BUSY" ]; then MAX_BUSY=$b; fi
}
