#!/usr/bin/env bash
# Build the pinned control-plane and node binaries (scripts/cluster/versions.env) from Go
# modules into a per-user cache outside the clone, keyed by version. Idempotent: a component
# whose binary exists and reports the pinned version is not built again.
#
# Usage: scripts/cluster/build.sh [--force] [--node|--all] [COMPONENT...]
#        scripts/cluster/build.sh --print-dir         # control-plane binary directory, then exit
#        scripts/cluster/build.sh --print-node-dir    # node binary directory, then exit
#        scripts/cluster/build.sh --print-bin=C       # path of component C's binary, then exit
#
# Control plane (default, with configcheck): kube-apiserver kube-controller-manager kube-scheduler
#   kubectl etcd kwok kwokctl.
# configcheck: the test tool of scripts/configcheck (Tiltfiles, kind configs); its version is a
#   hash of its sources, so an edit rebuilds it. Not linked into the directories below.
# Node (--node; --all = both): kubelet kube-proxy containerd containerd-shim-runc-v2 ctr coredns
#   kube-router local-path-provisioner.
#
# Layout (CACHE = ${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}):
#   CACHE/bin/<component>-v<version>/<component>       the binaries, one directory per version
#   CACHE/bin/configcheck-src-<hash>/configcheck
#   CACHE/bin/k8s-vK_etcd-vE_kwok-vW/<component>       relative symlinks to the above: the one
#                                                      directory to put on PATH (--print-dir)
#   CACHE/bin/node-k8s-vK_containerd-vC_.../<component>  the same for the node (--print-node-dir)
#   CACHE/src/<module>-v<version>/                     generated wrapper modules (go.mod, go.sum)
# Go's module cache and build cache stay in Go's default locations (go env GOMODCACHE GOCACHE).
#
# Environment: STACKPORT_CACHE_DIR (cache root), STACKPORT_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
source "$SCRIPT_DIR/versions.env"
: "${KUBERNETES_VERSION:?}" "${ETCD_VERSION:?}" "${KWOK_VERSION:?}" "${CONTAINERD_VERSION:?}"
: "${COREDNS_VERSION:?}" "${KUBE_ROUTER_VERSION:?}" "${LOCAL_PATH_PROVISIONER_VERSION:?}"

CACHE_ROOT="${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}"
BIN_ROOT="$CACHE_ROOT/bin"
SRC_ROOT="$CACHE_ROOT/src"
SET_DIR="$BIN_ROOT/k8s-v${KUBERNETES_VERSION}_etcd-v${ETCD_VERSION}_kwok-v${KWOK_VERSION}"
NODE_SET_DIR="$BIN_ROOT/node-k8s-v${KUBERNETES_VERSION}_containerd-v${CONTAINERD_VERSION}_coredns-v${COREDNS_VERSION}_kube-router-v${KUBE_ROUTER_VERSION}_lpp-v${LOCAL_PATH_PROVISIONER_VERSION}"
CONTROL_PLANE_COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)
NODE_COMPONENTS=(kubelet kube-proxy containerd containerd-shim-runc-v2 ctr coredns kube-router local-path-provisioner)

usage() { sed -n '2,28s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

force=0
components=()
print_bin=""
for arg in "$@"; do
  case "$arg" in
    --print-dir) echo "$SET_DIR"; exit 0 ;;
    --print-node-dir) echo "$NODE_SET_DIR"; exit 0 ;;
    --print-bin=*) print_bin="${arg#--print-bin=}" ;;
    --force) force=1 ;;
    --node) components+=("${NODE_COMPONENTS[@]}") ;;
    --all) components+=("${CONTROL_PLANE_COMPONENTS[@]}" "${NODE_COMPONENTS[@]}") ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "build.sh: unknown flag $arg" >&2; usage >&2; exit 2 ;;
    *) components+=("$arg") ;;
  esac
done
[[ ${#components[@]} -gt 0 ]] || components=("${CONTROL_PLANE_COMPONENTS[@]}" configcheck)
CONFIGCHECK_DIR="$SCRIPT_DIR/../configcheck"

# The hash of configcheck's sources, in a stable file order.
configcheck_hash() {
  (cd "$CONFIGCHECK_DIR" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)
}

component_version() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|kubelet|kube-proxy) echo "v$KUBERNETES_VERSION" ;;
    etcd) echo "v$ETCD_VERSION" ;;
    kwok|kwokctl) echo "v$KWOK_VERSION" ;;
    containerd|containerd-shim-runc-v2|ctr) echo "v$CONTAINERD_VERSION" ;;
    coredns) echo "v$COREDNS_VERSION" ;;
    kube-router) echo "v$KUBE_ROUTER_VERSION" ;;
    local-path-provisioner) echo "v$LOCAL_PATH_PROVISIONER_VERSION" ;;
    configcheck) echo "src-$(configcheck_hash)" ;;
    *) echo "build.sh: unknown component $1" >&2; return 1 ;;
  esac
}
for c in "${components[@]}"; do component_version "$c" >/dev/null; done

bin_path() { echo "$BIN_ROOT/$1-$(component_version "$1")/$1"; }
if [[ -n "$print_bin" ]]; then component_version "$print_bin" >/dev/null && bin_path "$print_bin"; exit; fi

# True when the binary exists and reports exactly the pinned version.
version_ok() {
  local c="$1" bin="$2" out
  [[ -x "$bin" ]] || return 1
  case "$c" in
    kubectl)
      out="$("$bin" version --client 2>/dev/null)" || return 1
      grep -qx "Client Version: v$KUBERNETES_VERSION" <<<"$out" ;;
    kube-router)   # before kube-*: it is not a Kubernetes binary
      out="$("$bin" --version 2>&1)" || return 1
      [[ "$out" == *" version v$KUBE_ROUTER_VERSION, "* ]] ;;
    kube-*)
      out="$("$bin" --version 2>/dev/null)" || return 1
      [[ "$out" == "Kubernetes v$KUBERNETES_VERSION" ]] ;;
    etcd)
      out="$("$bin" --version 2>/dev/null)" || return 1
      grep -qx "etcd Version: $ETCD_VERSION" <<<"$out" ;;
    kwok|kwokctl)
      out="$("$bin" --version 2>/dev/null)" || return 1
      [[ "$out" == "$c version v$KWOK_VERSION "* ]] ;;
    containerd|ctr)
      out="$("$bin" --version 2>/dev/null)" || return 1
      [[ "$out" == "$c github.com/containerd/containerd/v2 v$CONTAINERD_VERSION"* ]] ;;
    containerd-shim-runc-v2)
      out="$("$bin" -v 2>/dev/null)" || return 1
      grep -qE "^  Version: +v$CONTAINERD_VERSION\$" <<<"$out" ;;
    coredns)
      out="$("$bin" -version 2>/dev/null)" || return 1
      grep -qx "CoreDNS-$COREDNS_VERSION" <<<"$out" ;;
    local-path-provisioner)
      out="$("$bin" --version 2>/dev/null)" || return 1
      [[ "$out" == *" version v$LOCAL_PATH_PROVISIONER_VERSION" ]] ;;
    configcheck)
      out="$("$bin" --version 2>/dev/null)" || return 1
      [[ "$out" == "configcheck $(component_version configcheck)" ]] ;;
  esac
}

# ---------------------------------------------------------------- Go environment
export GOTOOLCHAIN=local
export GOFLAGS=-mod=mod
export CGO_ENABLED=0
JOBS="${STACKPORT_BUILD_JOBS:-2}"
command -v go >/dev/null || { echo "build.sh: go not found in PATH" >&2; exit 1; }
mkdir -p "$BIN_ROOT" "$SRC_ROOT"

# Query module metadata outside any main module.
modinfo() { (cd "$SRC_ROOT" && go list -m -f "$2" "$1"); }

# Requirements ("path version") of a go.mod file, block or single-line form.
mod_requires() {
  go mod edit -print "$1" | awk '
    /^require \($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock { print $1, $2; next }
    /^require / { print $2, $3 }'
}

# godebug key=value settings of a go.mod file, block or single-line form.
mod_godebugs() {
  go mod edit -print "$1" | awk '
    /^godebug \($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock { print $1; next }
    /^godebug / { print $2 }'
}

# write_wrapper DIR MODULE VERSION [go mod edit flags...]
# (Re)generates DIR/go.mod requiring MODULE@VERSION, with the same go directive and
# godebug lines as MODULE's own go.mod. go.sum is kept; `go build -mod=mod` fills go.mod in.
write_wrapper() {
  local dir="$1" mod="$2" ver="$3" gomod gover kv
  shift 3
  read -r gomod gover < <(modinfo "$mod@$ver" '{{.GoMod}} {{.GoVersion}}')
  [[ -f "$gomod" ]] || { echo "build.sh: cannot fetch go.mod of $mod@$ver" >&2; return 1; }
  local args=(-require="$mod@$ver")
  [[ -z "$gover" ]] || args+=(-go="$gover")
  for kv in $(mod_godebugs "$gomod"); do args+=(-godebug="$kv"); done
  mkdir -p "$dir"
  printf 'module stackport.local/build/%s\n' "${dir##*/}" >"$dir/go.mod"
  (cd "$dir" && go mod edit "${args[@]}" "$@")
}

# k8s.io/kubernetes requires each staging repo at the nonexistent v0.0.0 (its own replace
# directives point into ./staging, and replaces of a dependency are ignored). Replace every
# such k8s.io/* requirement with the published v0.<minor>.<patch>.
k8s_replace_flags() {
  local gomod mods m
  gomod="$(modinfo "k8s.io/kubernetes@v$KUBERNETES_VERSION" '{{.GoMod}}')"
  mods="$(mod_requires "$gomod" | awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }')"
  [[ -n "$mods" ]] || { echo "build.sh: no k8s.io/* v0.0.0 requirements in $gomod" >&2; return 1; }
  for m in $mods; do echo "-replace=$m=$m@v0.${KUBERNETES_VERSION#*.}"; done
}

k8s_ldflags() {
  local date kv flags="-s -w"
  # Deterministic build date: the release's commit time as recorded by the module proxy.
  date="$(modinfo "k8s.io/kubernetes@v$KUBERNETES_VERSION" '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}')"
  # Same variables as hack/lib/version.sh (no gitCommit: the module proxy does not give it).
  for kv in "gitVersion=v$KUBERNETES_VERSION" "gitMajor=${KUBERNETES_VERSION%%.*}" \
            "gitMinor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")" "buildDate=$date"; do
    flags+=" -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done
  echo "$flags"
}

declare -A WRAPPER_READY=()
prepare() { # component -> sets WRAPPER PKG LDFLAGS TAGS
  local c="$1"
  case "$c" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|kubelet|kube-proxy)
      WRAPPER="$SRC_ROOT/kubernetes-v$KUBERNETES_VERSION"
      PKG="k8s.io/kubernetes/cmd/$c"
      # Upstream release flags (hack/lib/golang.sh): static, -trimpath, -s -w, these tags.
      TAGS="selinux,notest,grpcnotrace"
      if [[ -z "${WRAPPER_READY[k8s]:-}" ]]; then
        local replaces; replaces="$(k8s_replace_flags)"
        # shellcheck disable=SC2086 # one flag per word
        write_wrapper "$WRAPPER" k8s.io/kubernetes "v$KUBERNETES_VERSION" $replaces
        K8S_LDFLAGS="$(k8s_ldflags)"
        WRAPPER_READY[k8s]=1
      fi
      LDFLAGS="$K8S_LDFLAGS" ;;
    etcd)
      WRAPPER="$SRC_ROOT/etcd-v$ETCD_VERSION"
      PKG="go.etcd.io/etcd/server/v3"   # package main (server/main.go -> etcdmain.Main)
      TAGS=""
      LDFLAGS="-s -w"
      write_wrapper "$WRAPPER" go.etcd.io/etcd/server/v3 "v$ETCD_VERSION" ;;
    kwok|kwokctl)
      WRAPPER="$SRC_ROOT/kwok-v$KWOK_VERSION"
      PKG="sigs.k8s.io/kwok/cmd/$c"
      TAGS=""
      # consts.KubeVersion is kwokctl's default Kubernetes version (1.36.1 in v0.8.0): align
      # it with the binaries built here so kwokctl picks matching flags and etcd defaults.
      LDFLAGS="-s -w -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBERNETES_VERSION"
      if [[ -z "${WRAPPER_READY[kwok]:-}" ]]; then
        write_wrapper "$WRAPPER" sigs.k8s.io/kwok "v$KWOK_VERSION"
        WRAPPER_READY[kwok]=1
      fi ;;
    containerd|containerd-shim-runc-v2|ctr)
      WRAPPER="$SRC_ROOT/containerd-v$CONTAINERD_VERSION"
      PKG="github.com/containerd/containerd/v2/cmd/$c"
      # Upstream's Makefile: these tags drop the snapshotters that need cgo or host libraries.
      TAGS="no_btrfs,no_devmapper,no_zfs"
      local v=github.com/containerd/containerd/v2/version
      LDFLAGS="-s -w -X $v.Version=v$CONTAINERD_VERSION -X $v.Revision=module-v$CONTAINERD_VERSION"
      if [[ -z "${WRAPPER_READY[containerd]:-}" ]]; then
        write_wrapper "$WRAPPER" github.com/containerd/containerd/v2 "v$CONTAINERD_VERSION"
        WRAPPER_READY[containerd]=1
      fi ;;
    coredns)
      WRAPPER="$SRC_ROOT/coredns-v$COREDNS_VERSION"
      PKG="."
      TAGS=""
      LDFLAGS="-s -w -X github.com/coredns/coredns/coremain.GitCommit=module-v$COREDNS_VERSION"
      write_wrapper "$WRAPPER" github.com/coredns/coredns "v$COREDNS_VERSION"
      cp "$SCRIPT_DIR/../node/coredns/main.go" "$WRAPPER/main.go" ;;
    kube-router)
      WRAPPER="$SRC_ROOT/kube-router-v$KUBE_ROUTER_VERSION"
      PKG="github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
      TAGS=""
      local date
      date="$(modinfo "github.com/cloudnativelabs/kube-router/v2@v$KUBE_ROUTER_VERSION" '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}')"
      LDFLAGS="-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION"
      LDFLAGS+=" -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=$date"
      write_wrapper "$WRAPPER" github.com/cloudnativelabs/kube-router/v2 "v$KUBE_ROUTER_VERSION" ;;
    local-path-provisioner)
      WRAPPER="$SRC_ROOT/local-path-provisioner-v$LOCAL_PATH_PROVISIONER_VERSION"
      PKG="github.com/rancher/local-path-provisioner"
      TAGS=""
      LDFLAGS="-s -w -X main.VERSION=v$LOCAL_PATH_PROVISIONER_VERSION"
      write_wrapper "$WRAPPER" github.com/rancher/local-path-provisioner "v$LOCAL_PATH_PROVISIONER_VERSION" ;;
    configcheck)
      # Built in place from its own module (go.sum committed: -mod=mod adds nothing).
      WRAPPER="$CONFIGCHECK_DIR"
      PKG="."
      TAGS=""
      LDFLAGS="-s -w -X main.version=$(component_version configcheck)" ;;
  esac
}

# One build at a time per cache directory (several clones may share it).
if command -v flock >/dev/null; then
  exec 9>"$CACHE_ROOT/.build.lock"
  flock 9
fi

tmp=""
trap '[[ -z "$tmp" ]] || rm -rf "$tmp"' EXIT

echo "cache: $CACHE_ROOT (GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE), $(go env GOVERSION), -p $JOBS)"
total_start=$SECONDS
for c in "${components[@]}"; do
  ver="$(component_version "$c")"
  bin="$(bin_path "$c")"
  if [[ $force -eq 0 ]] && version_ok "$c" "$bin"; then
    printf '%-24s %-8s cached          %s\n' "$c" "$ver" "$bin"
    continue
  fi
  start=$SECONDS
  prepare "$c"
  mkdir -p "${bin%/*}"
  # go build -o refuses to overwrite a non-binary file: build into a fresh temp directory.
  tmp="$(mktemp -d "${bin%/*}/.build.XXXXXX")"
  tags=()
  [[ -z "$TAGS" ]] || tags=(-tags "$TAGS")
  (cd "$WRAPPER" && nice -n 19 go build -p "$JOBS" -trimpath -buildvcs=false \
      "${tags[@]}" -ldflags "$LDFLAGS" -o "$tmp/$c" "$PKG")
  if ! version_ok "$c" "$tmp/$c"; then
    echo "build.sh: $c built but does not report version $ver" >&2
    exit 1
  fi
  mv -f "$tmp/$c" "$bin"
  rm -rf "$tmp"
  tmp=""
  printf '%-24s %-8s built in %4ds  %s\n' "$c" "$ver" "$((SECONDS - start))" "$bin"
done

# The directories other scripts put on PATH (relative links: the cache can move).
dirs=()
for c in "${components[@]}"; do
  [[ "$c" != configcheck ]] || continue
  dir="$SET_DIR"
  [[ " ${NODE_COMPONENTS[*]} " != *" $c "* ]] || dir="$NODE_SET_DIR"
  mkdir -p "$dir"
  ln -sfn "../$c-$(component_version "$c")/$c" "$dir/$c"
  [[ " ${dirs[*]} " == *" $dir "* ]] || dirs+=("$dir")
done
echo "total $((SECONDS - total_start))s${dirs[*]:+; binaries in ${dirs[*]}}"
