#!/usr/bin/env bash
# Start a single-node KRaft Kafka broker on 127.0.0.1 with its state in <workdir>.
# First run: picks free ports, writes server.properties, formats storage.
# Later runs on the same workdir: reuse server.properties (same ports, same data).
# Last stdout line: KAFKA_BROKERS=127.0.0.1:<port>
#   env: KAFKA_NUM_PARTITIONS (3), KAFKA_START_TIMEOUT (60 s), KAFKA_HEAP_OPTS (-Xms256m -Xmx512m),
#        KAFKA_JVM_OPTS (extra JVM flags), KAFKA_EXTRA_PROPERTIES (lines appended to a new
#        server.properties), KAFKA_LIBS (skip install.sh), plus install.sh's env.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 <workdir>" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
wd="$(cd "$1" && pwd)"
libs="${KAFKA_LIBS:-$("$here/install.sh" | tail -n1)}"
props="$wd/server.properties"
pidf="$wd/kafka.pid"
log="$wd/kafka.log"

if [[ ! -f "$props" ]]; then
  # Both ports from one call so they differ; tiny race until Kafka binds them (fine for tests).
  read -r port cport < <(python3 -c 'import socket
s=[socket.socket() for _ in (0,1)]
for x in s: x.bind(("127.0.0.1",0))
print(*(x.getsockname()[1] for x in s))')
  cat >"$props.tmp" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$wd/data
num.partitions=${KAFKA_NUM_PARTITIONS:-3}
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# 1 instead of 50: faster first group join and restarts; all groups share one partition.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
# After a SIGKILL the restarted controller refuses the broker's new registration until the old
# session expires (default 9 s); 3 s keeps crash-restart tests quick, heartbeats stay 6x denser.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
${KAFKA_EXTRA_PROPERTIES:-}
PROPS
  mv "$props.tmp" "$props"   # only a complete file counts as "existing workdir"
fi
port="$(sed -n 's#^listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$props")"
[[ -n "$port" ]] || { echo "start.sh: no PLAINTEXT port in $props" >&2; exit 1; }

# Alive = the pid in kafka.pid is still a kafka.Kafka JVM (a stale pid may have been reused).
alive() { [[ -f "$pidf" ]] && grep -qa 'kafka\.Kafka' "/proc/$(cat "$pidf")/cmdline" 2>/dev/null; }
if alive; then
  echo "start.sh: already running (pid $(cat "$pidf"))" >&2
  echo "KAFKA_BROKERS=127.0.0.1:$port"
  exit 0
fi

# Console-only log4j config; the broker runs at INFO (stdout -> kafka.log), the storage
# tool at WARN so its stdout stays clean. ${gw.loglevel} is a log4j 1.x system-property lookup.
cat >"$wd/log4j.properties" <<'L4J'
log4j.rootLogger=${gw.loglevel}, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
L4J
l4j="-Dlog4j.configuration=file:$wd/log4j.properties"

# Format once; meta.properties is what the storage tool leaves behind.
if [[ ! -f "$wd/data/meta.properties" ]]; then
  # Short-lived JVMs: C1-only + serial GC start faster.
  tool=(java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$l4j" -Dgw.loglevel=WARN -cp "$libs/*" kafka.tools.StorageTool)
  cid="$("${tool[@]}" random-uuid)"
  "${tool[@]}" format -t "$cid" -c "$props" >&2
fi

echo "=== start $(date -Is) ===" >>"$log"
from=$(($(wc -l <"$log") + 1))   # only look at this run's part of the log
# </dev/null and the redirects matter: a caller reading our stdout (execSync, $(...))
# must not wait for the broker to exit.
# shellcheck disable=SC2086
java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -Djava.awt.headless=true "$l4j" -Dgw.loglevel=INFO \
  ${KAFKA_JVM_OPTS:-} -cp "$libs/*" kafka.Kafka "$props" </dev/null >>"$log" 2>&1 &
echo $! >"$pidf"

started=$!
# The child we just forked: until it has exec'd java its cmdline is this shell's, so `alive` (which
# checks for kafka.Kafka) can say no for a moment on a loaded machine. Ask whether that process still
# exists instead (it is ours and just started: its pid cannot have been reused).
running() { kill -0 "$started" 2>/dev/null; }

deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-60}))
# grep -c, not -q: -q exits early and SIGPIPEs tail, which pipefail reports as failure.
until tail -n +"$from" "$log" | grep -c 'Kafka Server started' >/dev/null &&
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  if ! running || ((SECONDS >= deadline)); then
    echo "start.sh: broker did not start (running=$(running && echo yes || echo no)); errors, then log tail:" >&2
    # Shutdown noise buries the cause, so show this run's first ERROR/FATAL lines (+ a stack line) too.
    tail -n +"$from" "$log" | grep -E -A1 '\] (ERROR|FATAL) ' | head -n 12 >&2 || true
    echo "--- $log (tail) ---" >&2
    tail -n 30 "$log" >&2
    "$here/stop.sh" --kill "$wd" >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "KAFKA_BROKERS=127.0.0.1:$port"
