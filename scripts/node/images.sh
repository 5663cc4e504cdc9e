#!/usr/bin/env bash
# Build the images the test node itself needs, offline, as docker-archive tarballs that
# `ctr images import` reads (no registry, no container engine):
#
#   stackport.local/pause:1              the pod sandbox: scripts/node/pause/pause.c, static
#   stackport.local/busybox:1.35.0       Debian's busybox-static with its applet links: the test
#                                        client, and local-path-provisioner's helper image
#   stackport.local/coredns:<v>          the pinned binaries scripts/cluster/build.sh --node
#   stackport.local/local-path-provisioner:<v>   builds, each alone in its image (the provisioner
#                                        with the busybox above, which runs its helper's scripts)
#   stackport.local/<edge component>:<v> the binaries of scripts/cluster/build.sh --edge (Traefik,
#                                        cert-manager, Pebble, prometheus-operator, Prometheus),
#                                        each alone in its image with /tmp and a CA bundle; only
#                                        with --edge
#
# Output: ${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}/node-images/*.tar
# (application images live beside it in images/, built by scripts/images/build.sh). Layers are
# reproducible (sorted entries, fixed mtimes and owners), so an unchanged input gives the same
# image id. Rebuilt only when the tarball is missing or older than its inputs.
#
# Usage: scripts/node/images.sh [--edge] [--print-dir]
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}"
OUT="$CACHE_ROOT/node-images"
edge=0
for arg in "$@"; do
  case "$arg" in
    --print-dir) echo "$OUT"; exit 0 ;;
    --edge) edge=1 ;;
    *) echo "images.sh: unknown argument $arg (expected --edge or --print-dir)" >&2; exit 2 ;;
  esac
done

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

# docker_archive REF OUT.tar ROOTFS ENTRYPOINT-JSON [USER]
docker_archive() {
  local ref="$1" out="$2" rootfs="$3" entry="$4" user="${5:+\"User\":\"$5\",}" work layer diff cfg cfgsha
  work="$(mktemp -d "$OUT/.build.XXXXXX")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
  diff="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  mkdir "$work/$diff"
  mv "$work/layer.tar" "$work/$diff/layer.tar"
  cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\"config\":{$user\"Entrypoint\":$entry,\"Env\":[\"PATH=/bin\"],\"WorkingDir\":\"/\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff\"]}}"
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

# busybox_rootfs DIR: Debian's busybox-static with its applet links, /tmp and a passwd file.
busybox_rootfs() {
  local r="$1" applet
  mkdir -p "$r/bin" "$r/tmp" "$r/etc"
  chmod 1777 "$r/tmp"
  cp "$BUSYBOX" "$r/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$r/bin/$applet"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
}
if ! fresh "$OUT/busybox.tar" "$BUSYBOX" "${BASH_SOURCE[0]}"; then
  busybox_rootfs "$tmp/busybox"
  docker_archive "$BUSYBOX_REF" "$OUT/busybox.tar" "$tmp/busybox" '["/bin/sh"]'
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
# The provisioner runs its helper's setup and teardown scripts itself (scripts/cluster/build.sh,
# local_path_provisioner_wrapper): beside it, the helper image's busybox runs them.
lpp_bin="$(readlink -f "$NODE_BIN/local-path-provisioner")"
[[ -x "$lpp_bin" ]] || { echo "images.sh: $NODE_BIN/local-path-provisioner missing: run scripts/cluster/build.sh --node" >&2; exit 1; }
if ! fresh "$OUT/local-path-provisioner.tar" "$lpp_bin" "$BUSYBOX" "${BASH_SOURCE[0]}"; then
  busybox_rootfs "$tmp/lpp"
  cp "$lpp_bin" "$tmp/lpp/local-path-provisioner"
  docker_archive "$LPP_REF" "$OUT/local-path-provisioner.tar" "$tmp/lpp" '["/local-path-provisioner"]'
fi

# The edge images are large: keyed by content (binary, CA bundle, this function), not by mtime, so
# a fresh clone does not rewrite them and the node's containerd seed (keyed by their mtimes) stays.
edge_image() { # NAME REF
  local name="$1" ref="$2" bin key r
  bin="$(readlink -f "$EDGE_BIN/$name")"
  [[ -x "$bin" ]] || { echo "images.sh: $EDGE_BIN/$name missing: run scripts/cluster/build.sh --edge" >&2; exit 1; }
  key="$( { echo "$ref"; sha256sum <"$bin"; sha256sum <"$CA_BUNDLE"; declare -f edge_image docker_archive; } | sha256sum | cut -c1-64)"
  if [[ -s "$OUT/$name.tar" && "$(cat "$OUT/$name.key" 2>/dev/null)" == "$key" ]]; then return; fi
  r="$tmp/$name"
  mkdir -p "$r/tmp" "$r/etc/ssl/certs" "$r/bin"
  chmod 1777 "$r/tmp"
  cp "$CA_BUNDLE" "$r/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  cp "$bin" "$r/bin/$name"
  rm -f "$OUT/$name.key"
  # Non-root by default, as the upstream images (distroless nonroot, 65532).
  docker_archive "$ref" "$OUT/$name.tar" "$r" "[\"/bin/$name\"]" 65532:65532
  echo "$key" >"$OUT/$name.key"
  rm -rf "$r"
}
# stackport.local/NAME:VERSION, the version being that of the build's directory (NAME-VERSION).
edge_ref() { local d; d="$(dirname "$(readlink "$EDGE_BIN/$1")")"; echo "stackport.local/$1:${d##*/$1-}"; }
if [[ $edge -eq 1 ]]; then
  EDGE_BIN="$("$SCRIPT_DIR/../cluster/build.sh" --print-edge-dir)"
  CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
  [[ -s "$CA_BUNDLE" ]] || { echo "images.sh: $CA_BUNDLE missing: install Debian's ca-certificates" >&2; exit 1; }
  # STACKPORT_EDGE_IMAGES narrows the set (working on one controller); default: all of them.
  for name in ${STACKPORT_EDGE_IMAGES:-traefik cert-manager-controller cert-manager-webhook cert-manager-cainjector \
              cert-manager-acmesolver pebble pebble-challtestsrv prometheus-operator prometheus-config-reloader prometheus}; do
    edge_image "$name" "$(edge_ref "$name")"
  done
fi
ls -l "$OUT"
