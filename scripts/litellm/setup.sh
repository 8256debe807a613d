#!/usr/bin/env bash
# Install the real LiteLLM proxy (from PyPI) into a private venv for tests.
# Idempotent: a marker file records the installed pin set; rerunning is a no-op.
#
#   scripts/litellm/setup.sh            # install (or skip if already done)
#   GATEWARDEN_CACHE=/some/dir scripts/litellm/setup.sh
#   LITELLM_SETUP_FORCE=1 scripts/litellm/setup.sh   # reinstall
#
# Prints the venv's python path as its last line: LITELLM_PYTHON=<path>
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE_DIR="${GATEWARDEN_CACHE:-$REPO_ROOT/.cache}"
VENV="$CACHE_DIR/litellm-venv"

# --- pins -------------------------------------------------------------------
LITELLM_VERSION="1.108.7"
OTEL_VERSION="1.45.1"   # the version litellm 1.108.7's own "proxy-runtime" extra pins
# Kafka client for integrations/litellm/kafka_logger (wheels bundle librdkafka: no compiler, no system lib)
CONFLUENT_KAFKA_VERSION="2.16.1"
PACKAGES=(
  "litellm[proxy]==${LITELLM_VERSION}"
  "opentelemetry-api==${OTEL_VERSION}"
  "opentelemetry-sdk==${OTEL_VERSION}"
  "opentelemetry-exporter-otlp-proto-http==${OTEL_VERSION}"
  "confluent-kafka==${CONFLUENT_KAFKA_VERSION}"
)
# ---------------------------------------------------------------------------

PYTHON_BIN="${LITELLM_SETUP_PYTHON:-}"
if [[ -z "$PYTHON_BIN" ]]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1; then PYTHON_BIN="$c"; break; fi
  done
fi
[[ -n "$PYTHON_BIN" ]] || { echo "setup.sh: no python3 found" >&2; exit 1; }

MARKER="$VENV/.gatewarden-litellm-installed"
WANT="$(printf '%s\n' "${PACKAGES[@]}")"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1fs", b-a}'; }
T0="$(now)"

if [[ "${LITELLM_SETUP_FORCE:-0}" != "1" && -f "$MARKER" && "$(cat "$MARKER")" == "$WANT" && -x "$VENV/bin/litellm" ]]; then
  echo "setup.sh: litellm ${LITELLM_VERSION} already installed in $VENV (marker ok), skipping ($(elapsed "$T0"))"
  echo "LITELLM_PYTHON=$VENV/bin/python"
  exit 0
fi

mkdir -p "$CACHE_DIR"
if [[ ! -x "$VENV/bin/python" ]]; then
  T="$(now)"
  "$PYTHON_BIN" -m venv "$VENV"
  echo "setup.sh: created venv $VENV with $("$VENV/bin/python" --version) ($(elapsed "$T"))"
fi

T="$(now)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
echo "setup.sh: pip upgraded ($(elapsed "$T"))"

T="$(now)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}"
echo "setup.sh: installed ${PACKAGES[*]} ($(elapsed "$T"))"

# Sanity: the proxy must import, and so must the generic_api logger and the
# otel integration (LiteLLM swallows an ImportError of the generic_api logger
# and then silently never sends anything).
T="$(now)"
LITELLM_LOCAL_MODEL_COST_MAP=True "$VENV/bin/python" - <<'PY'
import importlib, sys
import litellm, litellm.proxy.proxy_server  # noqa: F401  (same import order as the proxy)
mods = [
    "litellm_enterprise.enterprise_callbacks.callback_controls",  # from the litellm-enterprise wheel ([proxy] extra)
    "litellm.integrations.generic_api.generic_api_callback",
    "litellm.integrations.opentelemetry",
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "confluent_kafka",  # the Gatewarden Kafka logger's client (integrations/litellm/kafka_logger)
]
bad = []
for m in mods:
    try:
        importlib.import_module(m)
    except Exception as e:  # noqa: BLE001
        bad.append(f"{m}: {type(e).__name__}: {e}")
# The trap: litellm_logging imports GenericAPILogger inside a try block next to the
# litellm_enterprise imports and falls back to the no-op CustomLogger on any error.
from litellm.integrations.custom_logger import CustomLogger
import litellm.litellm_core_utils.litellm_logging as ll
if ll.GenericAPILogger is CustomLogger:
    bad.append("litellm_logging.GenericAPILogger fell back to the no-op CustomLogger (enterprise import failed)")
if ll.EnterpriseStandardLoggingPayloadSetupVAR is None:
    bad.append("litellm_enterprise StandardLoggingPayloadSetup missing: requester_custom_headers would never be logged")
if bad:
    print("setup.sh: import check FAILED:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
from importlib.metadata import version
print(f"setup.sh: import check ok (litellm {version('litellm')}, litellm-enterprise {version('litellm-enterprise')}, "
      f"opentelemetry-sdk {version('opentelemetry-sdk')}, confluent-kafka {version('confluent-kafka')}); generic_api logger class = {ll.GenericAPILogger.__module__}")
PY
echo "setup.sh: import check took $(elapsed "$T")"

printf '%s' "$WANT" > "$MARKER"
echo "setup.sh: done in $(elapsed "$T0")"
echo "LITELLM_PYTHON=$VENV/bin/python"
