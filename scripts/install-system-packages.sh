#!/usr/bin/env bash
# Installs the system packages the test suite needs beyond Python, from Debian's
# packages: PostgreSQL (MLflow's backend store in the production-topology tests), podman
# and debootstrap (build and smoke-test the serving image without a Docker engine),
# wrk (the serving benchmark's load generator) and, when no javac is on PATH, a JDK
# (the ETL compiles its JVM cleaner with it; without one it falls back to slower SQL
# cleaning, and the tests of the JVM cleaner fail).
#
# Idempotent: when everything is already installed it only checks, in well under a
# second. On a machine without apt-get it says what is missing and exits 0; the tests
# that need a missing tool then fail or skip with a message naming it.
set -euo pipefail

packages=(postgresql podman buildah debootstrap wrk)
if ! command -v javac >/dev/null 2>&1 && ! [ -x "${JAVA_HOME:-/nonexistent}/bin/javac" ]; then
  packages+=(openjdk-17-jdk-headless)
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system-packages: all present (${packages[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-packages: no apt-get here; install by other means: ${missing[*]}" >&2
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 \
    || { echo "install-system-packages: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi

echo "install-system-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
echo "install-system-packages: done"
