#!/usr/bin/env bash
# Stop a LiteLLM proxy started by start.sh:  scripts/litellm/stop.sh <workdir>
# Sends SIGTERM to the proxy's process group (start.sh runs it under setsid),
# waits up to 15s, then SIGKILL. Safe to call when nothing is running.
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 <workdir>" >&2
  exit 2
fi
PIDFILE="$1/litellm.pid"
if [[ ! -f "$PIDFILE" ]]; then
  echo "stop.sh: no pid file at $PIDFILE, nothing to stop"
  exit 0
fi
PID="$(cat "$PIDFILE")"
if ! [[ "$PID" =~ ^[0-9]+$ ]]; then
  echo "stop.sh: bad pid file $PIDFILE" >&2
  rm -f "$PIDFILE"
  exit 1
fi
if ! kill -0 "$PID" 2>/dev/null; then
  echo "stop.sh: pid $PID not running"
  rm -f "$PIDFILE"
  exit 0
fi
# Only signal the group if the proxy really leads its own group (setsid).
TARGET="$PID"
if [[ "$(ps -o pgid= -p "$PID" | tr -d ' ')" == "$PID" ]]; then
  TARGET="-$PID"
fi
kill -TERM -- "$TARGET" 2>/dev/null || true
for _ in $(seq 1 30); do
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.5
done
if kill -0 "$PID" 2>/dev/null; then
  echo "stop.sh: pid $PID still alive after 15s, sending SIGKILL" >&2
  kill -KILL -- "$TARGET" 2>/dev/null || true
fi
rm -f "$PIDFILE"
echo "stop.sh: stopped litellm pid $PID"
