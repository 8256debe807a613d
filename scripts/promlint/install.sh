#!/usr/bin/env bash
# Build scripts/promlint (promtool's `check metrics` linter, client_golang's testutil/promlint) into a cache
# folder and print the binary's path. Used by test/integration/metrics-promlint.test.ts.
# Idempotent: a marker tied to the sources and the Go version short-circuits later runs.
#   env: GATEWARDEN_CACHE (default <repo>/.cache)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${GATEWARDEN_CACHE:-$repo/.cache}"
dest="$cache/promlint"
bin="$dest/promlint"
marker="$dest/.installed"

command -v go >/dev/null || { echo "install.sh: go not found (promlint is built from source)" >&2; exit 1; }
stamp="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"
installed() { [[ -f "$marker" && "$(cat "$marker")" == "$stamp" && -x "$bin" ]]; }
if installed; then echo "$bin"; exit 0; fi

mkdir -p "$dest"
exec 9>"$dest/.lock"
flock 9
if installed; then echo "$bin"; exit 0; fi

tmp="$(mktemp "$dest/promlint.tmp.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# stdout is reserved for the binary's path, so go talks on stderr.
(cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$tmp" .) >&2
mv -f "$tmp" "$bin"
echo "$stamp" >"$marker"
echo "$bin"
