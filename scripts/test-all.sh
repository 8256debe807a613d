#!/usr/bin/env bash
# Installs what the tests need (npm packages, a real Kafka broker from Maven Central, the real LiteLLM
# proxy from PyPI, the docker compose CLI and promlint built from Go modules, all cached under .cache/;
# Debian's chromium for the console tests) and runs every test tier. The last line is node's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

# `npm install` (which follows package-lock.json), not `npm ci`: the registry reachable here carries only
# chdb's linux-x64 binary package, so the lock cannot list the other platforms and `npm ci` refuses it.
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  step "npm install"
  npm install --no-audit --no-fund
fi
step "kafka broker (cached)"
scripts/kafka/install.sh >/dev/null
step "litellm proxy venv (cached)"
scripts/litellm/setup.sh >/dev/null
step "chromium for the console's browser tests (Debian package)"
scripts/browser/install.sh >/dev/null
step "docker compose v2 CLI, built from its Go module (cached; for \`docker-compose config\` in the tests)"
scripts/compose/install.sh >/dev/null
step "promlint (promtool's \`check metrics\`), built from client_golang (cached)"
scripts/promlint/install.sh >/dev/null
step "build"
npm run -s build
step "lint"
npm run -s lint
step "tests"
exec node scripts/run-tests.mjs
