#!/usr/bin/env bash
# Stop the broker started by start.sh in <workdir>. Idempotent.
#   stop.sh [--kill] <workdir>   --kill: SIGKILL at once (simulates a crash)
#   env: KAFKA_STOP_TIMEOUT (30 s) before falling back to SIGKILL
set -euo pipefail

sig=TERM
if [[ "${1:-}" == "--kill" ]]; then sig=KILL; shift; fi
[[ $# -eq 1 ]] || { echo "usage: $0 [--kill] <workdir>" >&2; exit 2; }
pidf="$1/kafka.pid"
[[ -f "$pidf" ]] || exit 0
pid="$(cat "$pidf")"

# Alive = exists, not a zombie, and still our broker (guards against pid reuse).
running() {
  grep -qa 'kafka\.Kafka' "/proc/$pid/cmdline" 2>/dev/null &&
    ! grep -q '^[^)]*) Z' "/proc/$pid/stat" 2>/dev/null
}
wait_gone() { local end=$((SECONDS + $1)); while running; do ((SECONDS < end)) || return 1; sleep 0.1; done; }

if running; then
  kill -"$sig" "$pid" 2>/dev/null || true
  if ! wait_gone "${KAFKA_STOP_TIMEOUT:-30}"; then
    echo "stop.sh: pid $pid ignored SIGTERM, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone 10 || { echo "stop.sh: pid $pid still alive" >&2; exit 1; }
  fi
fi
rm -f "$pidf"
