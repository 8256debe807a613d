#!/usr/bin/env bash
# Build the Docker Compose v2 CLI (github.com/docker/compose/v2, from the Go module proxy) into a cache
# folder and print the binary's path. Used by test/integration/compose-config.test.ts to run
# `docker-compose config` on the repo's docker-compose.yml (no Docker engine is needed for that).
# `go install` refuses the module (its go.mod has replace directives), so it is downloaded into the
# module cache and built from there.
# Idempotent: a marker (written last, only on success) short-circuits later runs.
#   env: COMPOSE_VERSION (default v2.40.3), GATEWARDEN_CACHE (default <repo>/.cache)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="${COMPOSE_VERSION:-v2.40.3}"
module="github.com/docker/compose/v2"
cache="${GATEWARDEN_CACHE:-$repo/.cache}"
dest="$cache/compose"
bin="$dest/docker-compose"
marker="$dest/.installed"
stamp="$module@$version $(go env GOVERSION)"

installed() { [[ -f "$marker" && "$(cat "$marker")" == "$stamp" && -x "$bin" ]]; }
if installed; then echo "$bin"; exit 0; fi

command -v go >/dev/null || { echo "install.sh: go not found (the compose CLI is built from source)" >&2; exit 1; }
mkdir -p "$dest"
# Serialize concurrent installs; re-check once we hold the lock.
exec 9>"$dest/.lock"
flock 9
if installed; then echo "$bin"; exit 0; fi

# stdout is reserved for the binary's path, so go talks on stderr.
dir="$(GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$dir" && -f "$dir/go.mod" ]] || { echo "install.sh: go mod download $module@$version gave no module directory" >&2; exit 1; }

tmp="$(mktemp "$dest/docker-compose.tmp.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# The module cache is read-only; building inside it writes only to the build cache and to -o.
(cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" \
  -o "$tmp" ./cmd) >&2
"$tmp" version >&2

mv -f "$tmp" "$bin"
echo "$stamp" >"$marker"
echo "$bin"
