# Sourced by the scripts that start servers: waits on conditions, not on a fixed deadline a loaded machine misses.
# wait_ready PID LOG URL...: returns 0 once one URL answers 2xx; 1 when the process exits, or when it makes no
# progress (no CPU time used and no log line written) for ${INCTRL_STALL_SECONDS:-180} s.
wait_ready() {
  local pid="$1" log="$2"; shift 2
  local stall="${INCTRL_STALL_SECONDS:-180}" last="" since="$SECONDS" mark url
  while true; do
    for url in "$@"; do
      if curl -fsS "$url" >/dev/null 2>&1; then return 0; fi
    done
    kill -0 "$pid" 2>/dev/null || { echo "server exited (log: $log)"; return 1; }
    # utime + stime of the process, and the log's size: either moving means the start is slow, not stuck
    mark="$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true) $(stat -c %s "$log" 2>/dev/null || true)"
    if [[ "$mark" != "$last" ]]; then
      last="$mark"; since="$SECONDS"
    elif (( SECONDS - since > stall )); then
      echo "server made no progress for ${stall} s and is not ready (log: $log)"; return 1
    fi
    sleep 0.5
  done
}
