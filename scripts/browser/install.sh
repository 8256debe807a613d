#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests (test/e2e/console-*.test.ts drive it with
# playwright-core through executablePath; no browser download of Playwright's own). Prints its path.
# Idempotent: an installed chromium short-circuits; otherwise apt-get (run as root, as CI runs).
#   env: GATEWARDEN_CHROMIUM (default /usr/bin/chromium)
set -euo pipefail

bin="${GATEWARDEN_CHROMIUM:-/usr/bin/chromium}"
works() { [[ -x "$bin" ]] && "$bin" --version >/dev/null 2>&1; }
if works; then echo "$bin"; exit 0; fi

[[ "$(id -u)" == 0 ]] || { echo "install.sh: chromium missing; run as root or: apt-get install -y chromium" >&2; exit 1; }
# Serialize concurrent installs (dpkg has its own lock, but a second apt-get would fail on it, not wait).
exec 9>/tmp/gatewarden-chromium-install.lock
flock 9
if works; then echo "$bin"; exit 0; fi

export DEBIAN_FRONTEND=noninteractive
# the package lists may be missing or old on a fresh machine
if ! apt-cache show chromium >/dev/null 2>&1; then apt-get update -qq >&2; fi
apt-get install -y -qq --no-install-recommends chromium >&2 || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends chromium >&2; }
works || { echo "install.sh: $bin does not run after apt-get install chromium" >&2; exit 1; }
echo "$bin"
