#!/usr/bin/env bash
# Builds an image from the project's Dockerfile with whichever builder this machine has:
# a Docker engine, else podman (or buildah) with chroot isolation, which needs no daemon.
#
#   scripts/build-image.sh [--target serving|pipeline] [--tag NAME] [--offline-base]
#
# --offline-base: when the Dockerfile's base image is neither local nor pullable (no
# registry reachable), make a stand-in for it from Debian's packages with debootstrap
# and tag it under the Dockerfile's FROM name, so the Dockerfile itself stays the public
# one. Debian bookworm's python3 is 3.11, the same minor as the official base. The
# debootstrapped tree is cached as a tarball in .cache/image-base/ (git-ignored).
#
# Prints the builder used ("docker" or "podman") and the image name on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

target=serving
tag=""
offline_base=false
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --offline-base) offline_base=true; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
tag="${tag:-localhost/amazon-sentiment-${target}:dev}"

# The base image named by the Dockerfile's `ARG PYTHON_IMAGE=...`.
base_image=$(sed -n 's/^ARG PYTHON_IMAGE=//p' Dockerfile)
[ -n "$base_image" ] || { echo "Dockerfile has no 'ARG PYTHON_IMAGE=' line" >&2; exit 1; }
debian_mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache_dir=".cache/image-base"

log() { echo "build-image: $*" >&2; }

docker_engine_available() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# A Debian bookworm root with python3 (3.11), venv and CA certificates, as a tarball.
debootstrap_base_tarball() {
  local tarball="$cache_dir/bookworm-python3.tar"
  if [ -s "$tarball" ]; then echo "$tarball"; return; fi
  command -v debootstrap >/dev/null 2>&1 \
    || { log "debootstrap not found: run scripts/install-system-packages.sh"; exit 1; }
  mkdir -p "$cache_dir"
  local root
  root=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  log "debootstrapping bookworm into $root from $debian_mirror (about 2 minutes)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$debian_mirror" >"$cache_dir/debootstrap.log" 2>&1 \
    || { log "debootstrap failed, see $cache_dir/debootstrap.log"; exit 1; }
  # The official image has its interpreter in /usr/local/bin; the Dockerfile only
  # relies on `python3` being on PATH, but keep both spellings working.
  ln -sf /usr/bin/python3 "$root/usr/local/bin/python3"
  ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  tar -C "$root" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  rm -rf "$root"
  echo "$tarball"
}

# Tag a debootstrapped stand-in under the Dockerfile's FROM name. Certificate
# authorities this machine trusts beyond Debian's (a TLS-inspecting proxy in front of
# PyPI, say) are added to it, and pip and uv are told to use the system bundle, so the
# RUN steps can reach PyPI exactly as they do from the host.
import_offline_base() {
  local tarball extra_cas=()
  tarball=$(debootstrap_base_tarball)
  shopt -s nullglob
  extra_cas=(/usr/local/share/ca-certificates/*.crt)
  shopt -u nullglob
  local root
  root=$(mktemp -d "$cache_dir/import.XXXXXX")
  tar -C "$root" -xf "$tarball"
  if [ ${#extra_cas[@]} -gt 0 ]; then
    cp "${extra_cas[@]}" "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  local bundle=/etc/ssl/certs/ca-certificates.crt
  log "importing the debootstrapped base as $base_image"
  tar -C "$root" -c . | podman import \
    --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" \
    --change "ENV SSL_CERT_FILE=$bundle" \
    --change "ENV PIP_CERT=$bundle" \
    --change "ENV UV_SYSTEM_CERTS=1" \
    --change 'CMD ["python3"]' \
    - "$base_image" >/dev/null
  rm -rf "$root"
}

if docker_engine_available; then
  log "building $tag (target $target) with docker"
  DOCKER_BUILDKIT=1 docker build --target "$target" -t "$tag" . >&2
  echo "docker $tag"
  exit 0
fi

if command -v podman >/dev/null 2>&1; then
  if ! podman image exists "$base_image"; then
    if $offline_base; then
      import_offline_base
    else
      log "pulling $base_image"
      podman pull "$base_image" >&2
    fi
  fi
  log "building $tag (target $target) with podman, chroot isolation"
  podman build --isolation=chroot --pull=never --layers --format docker --target "$target" -t "$tag" . >&2
  echo "podman $tag"
  exit 0
fi

log "no image builder: need a Docker engine or podman (scripts/install-system-packages.sh)"
exit 3
