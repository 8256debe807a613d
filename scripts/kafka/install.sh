#!/usr/bin/env bash
# Resolve the Kafka broker jars from Maven Central into a cache folder and print its path.
# Idempotent: a marker (written last, only on success) short-circuits later runs.
#   env: KAFKA_VERSION (default 3.9.2), GATEWARDEN_CACHE (default <repo>/.cache)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="${KAFKA_VERSION:-3.9.2}"
cache="${GATEWARDEN_CACHE:-$repo/.cache}"
dest="$cache/kafka-$version"
libs="$dest/libs"
marker="$dest/.installed"
# Marker content ties the cache to the version and the pom, so editing the pom re-resolves.
stamp="$version $(sha256sum "$here/pom.xml" | cut -d' ' -f1)"

installed() { [[ -f "$marker" && "$(cat "$marker")" == "$stamp" ]]; }
if installed; then echo "$libs"; exit 0; fi

mkdir -p "$dest"
# Serialize concurrent installs (e.g. parallel test workers); re-check once we hold the lock.
exec 9>"$dest/.lock"
flock 9
if installed; then echo "$libs"; exit 0; fi

tmp="$(mktemp -d "$dest/libs.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# stdout is reserved for the libs path, so Maven talks on stderr.
mvn -B -q -f "$here/pom.xml" \
  -Dmaven.repo.local="$cache/m2" \
  -Dkafka.version="$version" \
  dependency:copy-dependencies -DoutputDirectory="$tmp" >&2
compgen -G "$tmp/kafka_2.13-$version.jar" >/dev/null || { echo "install.sh: kafka_2.13-$version.jar missing after mvn" >&2; exit 1; }

rm -rf "$libs"
mv "$tmp" "$libs"
echo "$stamp" >"$marker"
echo "$libs"
