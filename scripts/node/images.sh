#!/usr/bin/env bash
# Build the images the test node itself needs, offline, as docker-archive tarballs that
# `ctr images import` reads (no registry, no container engine):
#
#   stackport.local/pause:1              the pod sandbox: scripts/node/pause/pause.c, static
#   stackport.local/busybox:1.35.0       Debian's busybox-static with its applet links: the
#                                        local-path-provisioner helper pod and the test client
#   stackport.local/coredns:<v>          the pinned binaries scripts/cluster/build.sh --node
#   stackport.local/local-path-provisioner:<v>   builds, each alone in its image
#
# Output: ${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}/node-images/*.tar
# (application images live beside it in images/, built by scripts/images/build.sh). Layers are
# reproducible (sorted entries, fixed mtimes and owners), so an unchanged input gives the same
# image id. Rebuilt only when the tarball is missing or older than its inputs.
#
# Usage: scripts/node/images.sh [--print-dir]
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}"
OUT="$CACHE_ROOT/node-images"
[[ "${1:-}" != --print-dir ]] || { echo "$OUT"; exit 0; }

# shellcheck source=SCRIPTDIR/../cluster/versions.env
source "$SCRIPT_DIR/../cluster/versions.env"
NODE_BIN="$("$SCRIPT_DIR/../cluster/build.sh" --print-node-dir)"
PAUSE_REF=stackport.local/pause:1
COREDNS_REF=stackport.local/coredns:$COREDNS_VERSION
LPP_REF=stackport.local/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION
BUSYBOX_REF=stackport.local/busybox:1.35.0
BUSYBOX=/bin/busybox
# The whole output, not `| head -1`: under pipefail, busybox killed by SIGPIPE would fail the check.
busybox_banner="$("$BUSYBOX" --help 2>&1 || true)"
[[ -x "$BUSYBOX" && "$busybox_banner" == "BusyBox v1.35.0 "* ]] \
  || { echo "images.sh: $BUSYBOX (Debian busybox-static 1.35.0) missing: run scripts/node/install-deps.sh" >&2; exit 1; }
mkdir -p "$OUT"

# docker_archive REF OUT.tar ROOTFS ENTRYPOINT-JSON
docker_archive() {
  local ref="$1" out="$2" rootfs="$3" entry="$4" work layer diff cfg cfgsha
  work="$(mktemp -d "$OUT/.build.XXXXXX")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
  diff="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  mkdir "$work/$diff"
  mv "$work/layer.tar" "$work/$diff/layer.tar"
  cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\"config\":{\"Entrypoint\":$entry,\"Env\":[\"PATH=/bin\"],\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff\"]}}"
  cfgsha="$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)"
  printf '%s' "$cfg" >"$work/$cfgsha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfgsha" "$ref" "$diff" >"$work/manifest.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" manifest.json "$cfgsha.json" "$diff"
  mv -f "$out.tmp" "$out"
  rm -rf "$work"
  echo "$ref -> $out (config sha256:$cfgsha)"
}

fresh() { [[ -f "$1" ]] && for src in "${@:2}"; do [[ "$1" -nt "$src" ]] || return 1; done; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if ! fresh "$OUT/pause.tar" "$SCRIPT_DIR/pause/pause.c" "${BASH_SOURCE[0]}"; then
  mkdir -p "$tmp/pause"
  gcc -static -Os -s -o "$tmp/pause/pause" "$SCRIPT_DIR/pause/pause.c"
  docker_archive "$PAUSE_REF" "$OUT/pause.tar" "$tmp/pause" '["/pause"]'
fi

if ! fresh "$OUT/busybox.tar" "$BUSYBOX" "${BASH_SOURCE[0]}"; then
  r="$tmp/busybox"
  mkdir -p "$r/bin" "$r/tmp" "$r/etc"
  chmod 1777 "$r/tmp"
  cp "$BUSYBOX" "$r/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$r/bin/$applet"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  docker_archive "$BUSYBOX_REF" "$OUT/busybox.tar" "$r" '["/bin/sh"]'
fi
# single_binary NAME REF: an image holding only the built binary, as /NAME.
single_binary() {
  local bin
  bin="$(readlink -f "$NODE_BIN/$1")"
  [[ -x "$bin" ]] || { echo "images.sh: $NODE_BIN/$1 missing: run scripts/cluster/build.sh --node" >&2; exit 1; }
  if ! fresh "$OUT/$1.tar" "$bin" "${BASH_SOURCE[0]}"; then
    mkdir -p "$tmp/$1/tmp"
    chmod 1777 "$tmp/$1/tmp"
    cp "$bin" "$tmp/$1/$1"
    docker_archive "$2" "$OUT/$1.tar" "$tmp/$1" "[\"/$1\"]"
  fi
}
single_binary coredns "$COREDNS_REF"
single_binary local-path-provisioner "$LPP_REF"
ls -l "$OUT"
