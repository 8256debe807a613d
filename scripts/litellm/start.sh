#!/usr/bin/env bash
# Start the real LiteLLM proxy (installed by setup.sh) in the background for tests.
#
#   scripts/litellm/start.sh <workdir> <gatewarden_base_url>
#
# - writes <workdir>/config.yaml (mock models + callbacks pointed at Gatewarden)
# - starts `litellm --config ...` on 127.0.0.1:<free port>, config-only mode (no DB)
# - pid in <workdir>/litellm.pid, log in <workdir>/litellm.log, port in <workdir>/litellm.port
# - waits (bounded) for GET /health/liveliness
# - last line of stdout: LITELLM_URL=http://127.0.0.1:<port>
#
# Optional env:
#   GATEWARDEN_CACHE         venv location root (default <repo>/.cache), as in setup.sh
#   LITELLM_PORT             fixed port instead of a free one
#   LITELLM_MASTER_KEY       default sk-test-master
#   GATEWARDEN_INGEST_TOKEN  if set, sent as "Authorization: Bearer <token>" by both callbacks
#   LITELLM_FLUSH_INTERVAL   generic_api flush interval in whole seconds (default 1)
#   LITELLM_BATCH_SIZE       generic_api batch size (default 512 = LiteLLM default)
#   LITELLM_OTEL_DELAY_MS    OTel BatchSpanProcessor schedule delay (default 500)
#   LITELLM_START_TIMEOUT    seconds to wait for liveliness (default 120)
#   LITELLM_CALLBACKS        gatewarden | otel | gatewarden,otel (default) | kafka
#                            kafka = integrations/litellm/kafka_logger (copied next to config.yaml),
#                            producing each StandardLoggingPayload to Kafka instead of HTTP
#   LITELLM_KAFKA_BROKERS    with kafka: host:port[,host:port] (required), GATEWARDEN_KAFKA_BROKERS of the proxy
#   LITELLM_KAFKA_TOPIC      with kafka: topic (default litellm-spend), GATEWARDEN_KAFKA_TOPIC of the proxy
#   LITELLM_GUARDRAIL=1      also load integrations/litellm/gatewarden_guardrail.py (copied next to
#                            config.yaml), polling <gatewarden_base_url>/api/rules/active
#   LITELLM_GUARDRAIL_REFRESH  with the guardrail: GATEWARDEN_RULES_REFRESH_SECONDS (default 1)
#   GATEWARDEN_RULES_TOKEN   with the guardrail: its GATEWARDEN_AUTH_TOKEN (default GATEWARDEN_INGEST_TOKEN)
#   LITELLM_DEBUG=1          start with --detailed_debug (very verbose log)
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <workdir> <gatewarden_base_url>" >&2
  exit 2
fi

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE_DIR="${GATEWARDEN_CACHE:-$REPO_ROOT/.cache}"
VENV="$CACHE_DIR/litellm-venv"
LITELLM_BIN="$VENV/bin/litellm"
[[ -x "$LITELLM_BIN" ]] || { echo "start.sh: $LITELLM_BIN missing; run scripts/litellm/setup.sh first" >&2; exit 1; }

mkdir -p "$1"
WORKDIR="$(cd "$1" && pwd)"
GW_BASE="${2%/}"
PIDFILE="$WORKDIR/litellm.pid"
LOGFILE="$WORKDIR/litellm.log"
CONFIG="$WORKDIR/config.yaml"

if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "start.sh: a proxy is already running from $WORKDIR (pid $(cat "$PIDFILE")); run stop.sh first" >&2
  exit 1
fi

MASTER_KEY="${LITELLM_MASTER_KEY:-sk-test-master}"
# LITELLM_CALLBACKS: which loggers send to Gatewarden: "gatewarden" (generic_api), "otel", or both (default).
# Both at once report every call twice (once per path), so a test that sums costs picks one.
case "${LITELLM_CALLBACKS:-gatewarden,otel}" in
  gatewarden) CALLBACKS_YAML='["gatewarden"]' ;;
  otel) CALLBACKS_YAML='["otel"]' ;;
  gatewarden,otel|otel,gatewarden) CALLBACKS_YAML='["gatewarden", "otel"]' ;;
  kafka) CALLBACKS_YAML='["gatewarden_kafka_logger.proxy_handler_instance"]' ;;
  *) echo "start.sh: LITELLM_CALLBACKS must be gatewarden, otel, gatewarden,otel or kafka" >&2; exit 2 ;;
esac
KAFKA_LOGGER=""
if [[ "${LITELLM_CALLBACKS:-}" == "kafka" ]]; then
  [[ -n "${LITELLM_KAFKA_BROKERS:-}" ]] || { echo "start.sh: LITELLM_CALLBACKS=kafka needs LITELLM_KAFKA_BROKERS=host:port" >&2; exit 2; }
  # LiteLLM loads "<module>.<instance>" callbacks from <module>.py next to config.yaml first
  KAFKA_LOGGER="$REPO_ROOT/integrations/litellm/kafka_logger/gatewarden_kafka_logger.py"
fi
GUARDRAIL=""
if [[ "${LITELLM_GUARDRAIL:-0}" == "1" ]]; then
  GUARDRAIL="$REPO_ROOT/integrations/litellm/gatewarden_guardrail.py"
  CALLBACKS_YAML="${CALLBACKS_YAML%]}, \"gatewarden_guardrail.proxy_handler_instance\"]"
fi
PORT="${LITELLM_PORT:-}"
if [[ -z "$PORT" ]]; then
  PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
fi

AUTH_HEADER_YAML=""
GENERIC_HEADERS_VALUE=""
OTEL_HEADERS_VALUE="x-gatewarden-source=litellm-otel"
if [[ -n "${GATEWARDEN_INGEST_TOKEN:-}" ]]; then
  # the documented form (integrations/litellm): the token goes in LiteLLM's GENERIC_LOGGER_HEADERS
  # environment variable, which the generic_api logger merges under the config's `headers`, so the
  # token stays out of config.yaml ({{environment_variables.X}} is NOT substituted in callback_settings)
  GENERIC_HEADERS_VALUE="Authorization=Bearer ${GATEWARDEN_INGEST_TOKEN}"
  OTEL_HEADERS_VALUE="${OTEL_HEADERS_VALUE},Authorization=Bearer ${GATEWARDEN_INGEST_TOKEN}"
fi

[[ -n "$KAFKA_LOGGER" ]] && cp "$KAFKA_LOGGER" "$WORKDIR/gatewarden_kafka_logger.py"
[[ -n "$GUARDRAIL" ]] && cp "$GUARDRAIL" "$WORKDIR/gatewarden_guardrail.py"

cat > "$CONFIG" <<YAML
# Generated by scripts/litellm/start.sh: LiteLLM proxy for Gatewarden tests (offline, mock responses).
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-mock-openai-not-a-real-key
      mock_response: "Hello from mock gpt-4o."
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-mock-openai-not-a-real-key
      mock_response: "Hello from mock gpt-4o-mini."
  - model_name: claude-3-5-sonnet
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_key: sk-ant-mock-not-a-real-key
      mock_response: "Hello from mock claude-3-5-sonnet."
      # claude-3-5-sonnet-20241022 is no longer in LiteLLM's bundled cost map (cost would be 0);
      # give it its list price so spend shows up.
      input_cost_per_token: 0.000003
      output_cost_per_token: 0.000015
  # Always fails: LiteLLM raises litellm.RateLimitError (HTTP 429) for this mock_response string.
  - model_name: rate-limited
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-mock-openai-not-a-real-key
      mock_response: "litellm.RateLimitError"
  - model_name: text-embedding-3-small
    litellm_params:
      model: openai/text-embedding-3-small
      api_key: sk-mock-openai-not-a-real-key
      mock_response: [0.1, 0.2, 0.3, 0.4]

litellm_settings:
  callbacks: ${CALLBACKS_YAML}
  # In-memory response cache, opt-in per request with {"cache": {"use-cache": true}}.
  cache: true
  cache_params:
    type: local
    mode: default_off

callback_settings:
  gatewarden:
    callback_type: generic_api
    endpoint: "${GW_BASE}/ingest/litellm"
    log_format: json_array
    event_types: ["llm_api_success", "llm_api_failure"]
    headers:
      x-gatewarden-source: litellm
${AUTH_HEADER_YAML}

router_settings:
  num_retries: 0
  disable_cooldowns: true

general_settings:
  master_key: "${MASTER_KEY}"
YAML

DEBUG_FLAG=()
[[ "${LITELLM_DEBUG:-0}" == "1" ]] && DEBUG_FLAG=(--detailed_debug)

# Child environment: config-only mode, offline cost map, OTLP/HTTP to Gatewarden.
(
  unset DATABASE_URL DIRECT_URL OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT \
        OTEL_EXPORTER_OTLP_PROTOCOL OTEL_EXPORTER_OTLP_HEADERS LITELLM_OTEL_V2 GENERIC_LOGGER_ENDPOINT \
        GENERIC_LOGGER_HEADERS GATEWARDEN_URL GATEWARDEN_AUTH_TOKEN GATEWARDEN_RULES_REFRESH_SECONDS
  [[ -n "$GENERIC_HEADERS_VALUE" ]] && export GENERIC_LOGGER_HEADERS="$GENERIC_HEADERS_VALUE"
  if [[ -n "$KAFKA_LOGGER" ]]; then
    export GATEWARDEN_KAFKA_BROKERS="$LITELLM_KAFKA_BROKERS"
    export GATEWARDEN_KAFKA_TOPIC="${LITELLM_KAFKA_TOPIC:-litellm-spend}"
  fi
  if [[ -n "$GUARDRAIL" ]]; then
    export GATEWARDEN_URL="$GW_BASE"
    export GATEWARDEN_RULES_REFRESH_SECONDS="${LITELLM_GUARDRAIL_REFRESH:-1}"
    TOKEN="${GATEWARDEN_RULES_TOKEN:-${GATEWARDEN_INGEST_TOKEN:-}}"
    [[ -n "$TOKEN" ]] && export GATEWARDEN_AUTH_TOKEN="$TOKEN"
  fi
  export LITELLM_LOCAL_MODEL_COST_MAP=True
  export LITELLM_MASTER_KEY="$MASTER_KEY"
  export DEFAULT_FLUSH_INTERVAL_SECONDS="${LITELLM_FLUSH_INTERVAL:-1}"
  [[ -n "${LITELLM_BATCH_SIZE:-}" ]] && export DEFAULT_BATCH_SIZE="$LITELLM_BATCH_SIZE"
  export OTEL_EXPORTER=otlp_http
  export OTEL_ENDPOINT="${GW_BASE}/v1/traces"
  export OTEL_HEADERS="$OTEL_HEADERS_VALUE"
  export OTEL_SERVICE_NAME="${OTEL_SERVICE_NAME:-litellm}"
  export OTEL_BSP_SCHEDULE_DELAY="${LITELLM_OTEL_DELAY_MS:-500}"
  export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
  export no_proxy="$NO_PROXY"
  export PYTHONUNBUFFERED=1
  cd "$WORKDIR"
  exec setsid "$LITELLM_BIN" --config "$CONFIG" --host 127.0.0.1 --port "$PORT" "${DEBUG_FLAG[@]}" \
    >"$LOGFILE" 2>&1 </dev/null
) &
PID=$!
echo "$PID" > "$PIDFILE"
echo "$PORT" > "$WORKDIR/litellm.port"

URL="http://127.0.0.1:${PORT}"
TIMEOUT="${LITELLM_START_TIMEOUT:-120}"
START=$(date +%s)
echo "start.sh: started litellm pid $PID on $URL (config $CONFIG, log $LOGFILE); waiting up to ${TIMEOUT}s"
while true; do
  if curl -fsS --noproxy '*' -m 2 "$URL/health/liveliness" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "start.sh: litellm exited during startup; last log lines:" >&2
    tail -n 40 "$LOGFILE" >&2 || true
    rm -f "$PIDFILE"
    exit 1
  fi
  if (( $(date +%s) - START >= TIMEOUT )); then
    echo "start.sh: litellm not live after ${TIMEOUT}s; last log lines:" >&2
    tail -n 40 "$LOGFILE" >&2 || true
    "$SCRIPT_DIR/stop.sh" "$WORKDIR" >&2 || true
    exit 1
  fi
  sleep 0.5
done
echo "start.sh: live after $(( $(date +%s) - START ))s"
echo "LITELLM_URL=$URL"
