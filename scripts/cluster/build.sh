#!/usr/bin/env bash
# Build the pinned control-plane and node binaries (scripts/cluster/versions.env) from Go
# modules into a per-user cache outside the clone, keyed by version. Idempotent: a component
# whose binary exists and reports the pinned version is not built again.
#
# Usage: scripts/cluster/build.sh [--force] [--node|--edge|--all] [COMPONENT...]
#        scripts/cluster/build.sh --print-dir         # control-plane binary directory, then exit
#        scripts/cluster/build.sh --print-node-dir    # node binary directory, then exit
#        scripts/cluster/build.sh --print-edge-dir    # edge binary directory, then exit
#        scripts/cluster/build.sh --print-bin=C       # path of component C's binary, then exit
#        scripts/cluster/build.sh --policy            # the policy gate's scanners (scripts/policy/install.sh)
#
# Control plane (default, with configcheck): kube-apiserver kube-controller-manager kube-scheduler
#   kubectl etcd kwok kwokctl.
# configcheck: the test tool of scripts/configcheck (Tiltfiles, kind configs, SealedSecrets); its version is a
#   hash of its sources, so an edit rebuilds it. Not linked into the directories below.
# Node (--node; --all = both): kubelet kube-proxy containerd containerd-shim-runc-v2 ctr coredns
#   kube-router local-path-provisioner.
# Edge (--edge; not in --all): the controllers the runtime edge test runs in pods: traefik,
#   cert-manager-{controller,webhook,cainjector,acmesolver}, pebble, pebble-challtestsrv (its
#   DNS server, answering the stack's host with the edge's address), prometheus-operator,
#   prometheus-config-reloader, prometheus. Versions: scripts/crd-versions.env (the CRDs' own
#   releases) and versions.env; see scripts/edge/README.md for what each build changes upstream.
# Policy (--policy; not in --all): kubeconform, kube-score, trivy and kyverno (its CLI,
#   kubectl-kyverno), the Go tools of the policy gate, at the versions of scripts/policy/versions.env.
#
# Layout (CACHE = ${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}):
#   CACHE/bin/<component>-v<version>/<component>       the binaries, one directory per version
#   CACHE/bin/configcheck-src-<hash>/configcheck
#   CACHE/bin/k8s-vK_etcd-vE_kwok-vW/<component>       relative symlinks to the above: the one
#                                                      directory to put on PATH (--print-dir)
#   CACHE/bin/node-k8s-vK_containerd-vC_.../<component>  the same for the node (--print-node-dir)
#   CACHE/bin/edge-traefik-vT_.../<component>           the same for the edge (--print-edge-dir)
#   CACHE/src/<module>-v<version>/                     generated wrapper modules (go.mod, go.sum)
# Go's module cache and build cache stay in Go's default locations (go env GOMODCACHE GOCACHE).
#
# Environment: STACKPORT_CACHE_DIR (cache root), STACKPORT_BUILD_JOBS (go build -p, default 2).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
source "$SCRIPT_DIR/versions.env"
# shellcheck source=SCRIPTDIR/../crd-versions.env
source "$SCRIPT_DIR/../crd-versions.env"
# shellcheck source=SCRIPTDIR/../policy/versions.env
source "$SCRIPT_DIR/../policy/versions.env"
: "${TRAEFIK_VERSION:?}" "${CERT_MANAGER_VERSION:?}" "${PROMETHEUS_OPERATOR_VERSION:?}" "${PEBBLE_VERSION:?}" "${PROMETHEUS_VERSION:?}"
: "${KUBERNETES_VERSION:?}" "${ETCD_VERSION:?}" "${KWOK_VERSION:?}" "${CONTAINERD_VERSION:?}"
: "${COREDNS_VERSION:?}" "${KUBE_ROUTER_VERSION:?}" "${LOCAL_PATH_PROVISIONER_VERSION:?}"
: "${KUBECONFORM_VERSION:?}" "${KUBE_SCORE_VERSION:?}" "${TRIVY_VERSION:?}" "${KYVERNO_VERSION:?}" "${KYVERNO_PSA_FORK:?}"

CACHE_ROOT="${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}"
BIN_ROOT="$CACHE_ROOT/bin"
SRC_ROOT="$CACHE_ROOT/src"
SET_DIR="$BIN_ROOT/k8s-v${KUBERNETES_VERSION}_etcd-v${ETCD_VERSION}_kwok-v${KWOK_VERSION}"
NODE_SET_DIR="$BIN_ROOT/node-k8s-v${KUBERNETES_VERSION}_containerd-v${CONTAINERD_VERSION}_coredns-v${COREDNS_VERSION}_kube-router-v${KUBE_ROUTER_VERSION}_lpp-v${LOCAL_PATH_PROVISIONER_VERSION}"
# The runtime node's kube-router waits this long after each full sync (kube_router_wrapper below).
KUBE_ROUTER_SYNC_GAP_MS=2000
KUBE_ROUTER_BUILD="stackport.sync-gap-${KUBE_ROUTER_SYNC_GAP_MS}ms"
# The runtime node's local-path-provisioner runs its helper's script itself (local_path_provisioner_wrapper).
LPP_BUILD="stackport.helper-in-process"
CONTROL_PLANE_COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)
NODE_COMPONENTS=(kubelet kube-proxy containerd containerd-shim-runc-v2 ctr coredns kube-router local-path-provisioner)
EDGE_SET_DIR="$BIN_ROOT/edge-traefik-${TRAEFIK_VERSION}_cm-${CERT_MANAGER_VERSION}_pebble-v${PEBBLE_VERSION}_po-${PROMETHEUS_OPERATOR_VERSION}_prom-v${PROMETHEUS_VERSION}"
CERT_MANAGER_BINARIES=(cert-manager-controller cert-manager-webhook cert-manager-cainjector cert-manager-acmesolver)
EDGE_COMPONENTS=(traefik "${CERT_MANAGER_BINARIES[@]}" pebble pebble-challtestsrv prometheus-operator prometheus-config-reloader prometheus)
POLICY_COMPONENTS=(kubeconform kube-score trivy kyverno)

usage() { sed -n '2,/^set -e/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }

force=0
components=()
print_bin=""
for arg in "$@"; do
  case "$arg" in
    --print-dir) echo "$SET_DIR"; exit 0 ;;
    --print-node-dir) echo "$NODE_SET_DIR"; exit 0 ;;
    --print-edge-dir) echo "$EDGE_SET_DIR"; exit 0 ;;
    --print-bin=*) print_bin="${arg#--print-bin=}" ;;
    --force) force=1 ;;
    --node) components+=("${NODE_COMPONENTS[@]}") ;;
    --edge) components+=("${EDGE_COMPONENTS[@]}") ;;
    --policy) components+=("${POLICY_COMPONENTS[@]}") ;;
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
    traefik) echo "$TRAEFIK_VERSION" ;;
    cert-manager-*) echo "$CERT_MANAGER_VERSION" ;;
    pebble|pebble-challtestsrv) echo "v$PEBBLE_VERSION" ;;
    prometheus-operator|prometheus-config-reloader) echo "$PROMETHEUS_OPERATOR_VERSION" ;;
    prometheus) echo "v$PROMETHEUS_VERSION" ;;
    kubeconform) echo "$KUBECONFORM_VERSION" ;;
    kube-score) echo "$KUBE_SCORE_VERSION" ;;
    trivy) echo "$TRIVY_VERSION" ;;
    kyverno) echo "$KYVERNO_VERSION" ;;
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
    kube-score) version_ok_module "$c" "$bin" ;;  # before kube-*: not a Kubernetes binary
    kube-router)   # before kube-*: it is not a Kubernetes binary
      out="$("$bin" --version 2>&1)" || return 1
      [[ "$out" == *" version v$KUBE_ROUTER_VERSION+$KUBE_ROUTER_BUILD, "* ]] ;;
    kube-*|kubelet)
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
      [[ "$out" == *" version v$LOCAL_PATH_PROVISIONER_VERSION+$LPP_BUILD" ]] ;;
    configcheck)
      out="$("$bin" --version 2>/dev/null)" || return 1
      [[ "$out" == "configcheck $(component_version configcheck)" ]] ;;
    *) version_ok_module "$c" "$bin" ;;  # the edge and policy tools
  esac
}

# True when Go recorded the component's upstream module at its pinned version in the binary.
version_ok_module() {
  local out
  out="$(go version -m "$2" 2>/dev/null)" || return 1
  grep -qP "^\t(mod|dep)\t$(edge_module "$1")\t$(edge_module_version "$1")(\t|\$)" <<<"$out"
}

# The upstream module each edge binary is built from, and its module version.
edge_module() {
  case "$1" in
    traefik) echo github.com/traefik/traefik/v3 ;;
    cert-manager-*) echo github.com/cert-manager/cert-manager ;;
    pebble|pebble-challtestsrv) echo github.com/letsencrypt/pebble/v2 ;;
    prometheus-operator|prometheus-config-reloader) echo github.com/prometheus-operator/prometheus-operator ;;
    prometheus) echo github.com/prometheus/prometheus ;;
    kubeconform) echo github.com/yannh/kubeconform ;;
    kube-score) echo github.com/zegl/kube-score ;;
    trivy) echo github.com/aquasecurity/trivy ;;
    kyverno) echo github.com/kyverno/kyverno ;;
  esac
}
edge_module_version() {
  case "$1" in
    # Prometheus X.Y.Z is published as module version v0.X<Y, two digits>.Z (3.16.0 -> v0.316.0).
    prometheus) IFS=. read -r x y z <<<"$PROMETHEUS_VERSION"; printf 'v0.%d%02d.%d\n' "$x" "$y" "$z" ;;
    *) component_version "$1" ;;
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

# The module cache directory of MODULE@VERSION, downloading it if needed.
moddir() { (cd "$SRC_ROOT" && go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }

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

# module_copy MODULE@VERSION DST: a writable copy of the module's source at DST (replacing any), to patch.
module_copy() {
  local src
  src="$(moddir "$1")"
  [[ -d "$src" ]] || { echo "build.sh: cannot download $1" >&2; return 1; }
  rm -rf "$2" && mkdir -p "${2%/*}" && cp -r "$src" "$2" && chmod -R u+w "$2"
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

# kube-router's firewall rebuilds every pod's chains, back to back, for each pod, namespace or policy
# event. On the runtime test's node (hundreds of pods coming and going on two cores) it was syncing
# most of the time: 1,307 full syncs in a 747 s run, 0.33 s each, 16% of all CPU with their
# iptables-restore and ipset children. The node's build waits KUBE_ROUTER_SYNC_GAP_MS after each full
# sync, so the events of that gap are taken by the next one; a new pod's rules may then lag by that
# much more, which NetworkPolicy implementations are allowed to do (the stack's waits cover it). The
# gap is in the version string, so a binary built without it is rebuilt.
kube_router_wrapper() {
  local dst="$SRC_ROOT/kube-router-v$KUBE_ROUTER_VERSION-paced" f
  module_copy "github.com/cloudnativelabs/kube-router/v2@v$KUBE_ROUTER_VERSION" "$dst"
  f="$dst/pkg/controllers/netpol/network_policy_controller.go"
  awk -v gap="$KUBE_ROUTER_SYNC_GAP_MS" '
    { print }
    /^\t+npc\.fullPolicySync\(\) \/\/ fullPolicySync\(\) is a blocking request here$/ {
      print "\t\t\t\tselect { // stackport: pace full syncs (scripts/cluster/build.sh)"
      print "\t\t\t\tcase <-stopCh:"
      print "\t\t\t\t\treturn"
      print "\t\t\t\tcase <-time.After(" gap " * time.Millisecond):"
      print "\t\t\t\t}"
      n++
    }
    END { if (n != 1) exit 1 }' "$f" >"$f.new" || { echo "build.sh: pacing kube-router's full syncs failed: $f changed upstream" >&2; return 1; }
  mv "$f.new" "$f"
  write_wrapper "$WRAPPER" github.com/cloudnativelabs/kube-router/v2 "v$KUBE_ROUTER_VERSION" -replace="github.com/cloudnativelabs/kube-router/v2=$dst"
}

# local-path-provisioner makes and removes each volume's folder with a helper pod (a busybox that
# runs the ConfigMap's setup or teardown script on the node's folder). In a runtime run that was 138
# of 359 pods, each costing the node about 0.45 CPU-seconds to start and remove (a sandbox, the API
# objects and their events, the kubelet's and containerd's work), whatever the script does: about a
# tenth of the run's CPU. Built here, when STACKPORT_HELPER_IN_PROCESS=true the provisioner runs the
# same command, with the helper's arguments and environment, in its own container (which mounts the
# scripts at the helper's /script and the volumes' folder at the same path; see
# scripts/node/manifests/local-path-storage.yaml). The volumes and their PersistentVolumes are the
# same; a claim binds sooner (the helper pod was polled once a second). The build is in the version.
local_path_provisioner_wrapper() {
  local dst="$SRC_ROOT/local-path-provisioner-v$LOCAL_PATH_PROVISIONER_VERSION-in-process" f
  module_copy "github.com/rancher/local-path-provisioner@v$LOCAL_PATH_PROVISIONER_VERSION" "$dst"
  f="$dst/provisioner.go"
  awk '
    /^\t\/\/ If it already exists due to some previous errors, the pod will be cleaned up later automatically$/ {
      print "\tif os.Getenv(\"STACKPORT_HELPER_IN_PROCESS\") == \"true\" { // stackport (scripts/cluster/build.sh)"
      print "\t\treturn runHelperInProcess(action, cmd, helperPod.Spec.Containers[0].Args, env, o, p.config.CmdTimeoutSeconds)"
      print "\t}"
      n++
    }
    { print }
    END { if (n != 1) exit 1 }' "$f" >"$f.new" || { echo "build.sh: the in-process helper of local-path-provisioner failed: $f changed upstream" >&2; return 1; }
  mv "$f.new" "$f"
  cat >"$dst/stackport_helper.go" <<'GO'
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/Sirupsen/logrus"
	v1 "k8s.io/api/core/v1"
)

// runHelperInProcess runs the helper pod's command (cmd, then its arguments) with its environment,
// in this process's container instead of a pod of its own.
func runHelperInProcess(action ActionType, cmd, args []string, env []v1.EnvVar, o volumeOptions, timeoutSeconds int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeoutSeconds)*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, cmd[0], append(append([]string{}, cmd[1:]...), args...)...)
	c.Env = os.Environ()
	for _, e := range env {
		c.Env = append(c.Env, e.Name+"="+e.Value)
	}
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("failed to %v volume %v: %s: %v: %s", action, o.Name, strings.Join(cmd, " "), err, out)
	}
	logrus.Infof("Volume %v has been %vd on %v:%v (in process)", o.Name, action, o.Node, o.Path)
	return nil
}
GO
  write_wrapper "$WRAPPER" github.com/rancher/local-path-provisioner "v$LOCAL_PATH_PROVISIONER_VERSION" -replace="github.com/rancher/local-path-provisioner=$dst"
}

# Traefik's go.mod has replace directives (ignored for a dependency) and its ACME library imports
# every DNS provider, some of whose modules the proxy does not serve. The wrapper repeats the
# replaces, recreates the empty dynamic/ext module (a separate module upstream, not served) and
# builds against a copy of lego whose provider registry keeps only providers with served modules.
traefik_wrapper() {
  local gomod lego_ver lego="$SRC_ROOT/traefik-$TRAEFIK_VERSION-lego" ext="$SRC_ROOT/traefik-$TRAEFIK_VERSION-ext" f
  gomod="$(modinfo "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" '{{.GoMod}}')"
  lego_ver="$(mod_requires "$gomod" | awk '$1 == "github.com/go-acme/lego/v5" { print $2 }')"
  [[ -n "$lego_ver" ]] || { echo "build.sh: traefik $TRAEFIK_VERSION does not require github.com/go-acme/lego/v5" >&2; return 1; }
  rm -rf "$ext" && mkdir -p "$ext"
  module_copy "github.com/go-acme/lego/v5@$lego_ver" "$lego"
  f="$lego/providers/dns/zz_gen_dns_providers.go"
  rm -f "$lego/providers/dns/dns_providers_test.go"
  awk -v keep="dnsupdate exec httpreq manual" '
    BEGIN { n = split(keep, k, " "); for (i = 1; i <= n; i++) K[k[i]] = 1 }
    /^\t"github.com\/go-acme\/lego\/v5\/providers\/dns\// { p = $0; sub(/.*\/dns\//, "", p); sub(/".*/, "", p); if (p in K) print; next }
    /^\tcase "/ { c = $0; sub(/^\tcase "/, "", c); sub(/".*/, "", c); incase = 1; skip = !(c in K) }
    /^\tdefault:/ { incase = 0; skip = 0 }
    incase && skip { next }
    { print }' "$f" >"$f.new" && mv "$f.new" "$f"
  grep -q 'case "exec":' "$f" || { echo "build.sh: trimming $f failed" >&2; return 1; }
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.26.0\n' >"$ext/go.mod"
  printf 'package ext\n\n// HTTP is a dynamic.HTTP extension.\ntype HTTP struct{}\n\n// Router is a dynamic.Router extension.\ntype Router struct{}\n' >"$ext/ext.go"
  # Traefik replaces go-http-auth by a fork the proxy does not serve. The two functions it uses
  # that v0.4.0 lacks are added: CheckSecret (upstream's own, from its later master) and
  # DigestAuth.RequireAuthStale (a 401 with stale=true, RFC 7616 3.3).
  local httpauth="$SRC_ROOT/traefik-$TRAEFIK_VERSION-go-http-auth"
  module_copy github.com/abbot/go-http-auth@v0.4.0 "$httpauth"
  rm -rf "$httpauth/examples" "$httpauth"/*_test.go
  printf 'module github.com/abbot/go-http-auth\n\ngo 1.16\n' >"$httpauth/go.mod"
  cat >"$httpauth/fork.go" <<'GO'
package auth

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CheckSecret returns true if the password matches the encrypted secret.
func CheckSecret(password, secret string) bool {
	compare := compareFuncs[0].compare
	for _, cmp := range compareFuncs[1:] {
		if strings.HasPrefix(secret, cmp.prefix) {
			compare = cmp.compare
			break
		}
	}
	return compare([]byte(secret), []byte(password)) == nil
}

// RequireAuthStale is RequireAuth telling the client that its nonce is stale: it may retry
// with the same credentials (RFC 7616, section 3.3).
func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	if len(a.clients) > a.ClientCacheSize+a.ClientCacheTolerance {
		a.Purge(a.ClientCacheTolerance * 2)
	}
	nonce := RandomKey()
	a.clients[nonce] = &digest_client{nc: 0, last_seen: time.Now().UnixNano()}
	w.Header().Set(contentType, a.Headers.V().UnauthContentType)
	w.Header().Set(a.Headers.V().Authenticate,
		fmt.Sprintf(`Digest realm="%s", nonce="%s", opaque="%s", algorithm="MD5", qop="auth", stale=true`,
			a.Realm, nonce, a.Opaque))
	w.WriteHeader(a.Headers.V().UnauthCode)
	w.Write([]byte(a.Headers.V().UnauthResponse))
}
GO
  write_wrapper "$WRAPPER" github.com/traefik/traefik/v3 "$TRAEFIK_VERSION" \
    -replace="github.com/traefik/traefik/dynamic/ext=$ext" -replace="github.com/go-acme/lego/v5=$lego" \
    -replace="github.com/abbot/go-http-auth=$httpauth" \
    -replace=github.com/gorilla/mux=github.com/containous/mux@v0.0.0-20250523120546-41b6ec3aed59 \
    -exclude=github.com/tencentcloud/tencentcloud-sdk-go@v3.0.83+incompatible
}

# The Venafi issuer's client library (github.com/Venafi/vcert/v5) is not served by the proxy, and Go
# refuses overlays of module-cache files. The binaries are built against a copy of the module in
# which the three packages that import that library are reduced to stubs holding only the
# controller names the configuration defaults list: cert-manager without the Venafi issuer.
cert_manager_module() {
  local copy="$SRC_ROOT/cert-manager-$CERT_MANAGER_VERSION/module" dir
  module_copy "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" "$copy"
  for dir in pkg/issuer/venafi pkg/controller/certificaterequests/venafi pkg/controller/certificatesigningrequests/venafi; do
    rm -rf "${copy:?}/$dir" && mkdir -p "$copy/$dir"
  done
  printf '// Package venafi: built without the Venafi issuer (its client library is not served).\npackage venafi\n' >"$copy/pkg/issuer/venafi/stub.go"
  printf 'package venafi\n\nconst CRControllerName = "certificaterequests-issuer-venafi"\n' >"$copy/pkg/controller/certificaterequests/venafi/stub.go"
  printf 'package venafi\n\nconst CSRControllerName = "certificatesigningrequests-issuer-venafi"\n' >"$copy/pkg/controller/certificatesigningrequests/venafi/stub.go"
  echo "$copy"
}

declare -A WRAPPER_READY=()
prepare() { # component -> sets WRAPPER PKG LDFLAGS TAGS GOEXP
  local c="$1"
  GOEXP=""
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
      LDFLAGS="-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION+$KUBE_ROUTER_BUILD"
      LDFLAGS+=" -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=$date"
      kube_router_wrapper ;;
    local-path-provisioner)
      WRAPPER="$SRC_ROOT/local-path-provisioner-v$LOCAL_PATH_PROVISIONER_VERSION"
      PKG="github.com/rancher/local-path-provisioner"
      TAGS=""
      LDFLAGS="-s -w -X main.VERSION=v$LOCAL_PATH_PROVISIONER_VERSION+$LPP_BUILD"
      local_path_provisioner_wrapper ;;
    traefik)
      WRAPPER="$SRC_ROOT/traefik-$TRAEFIK_VERSION"
      PKG="github.com/traefik/traefik/v3/cmd/traefik"
      TAGS=""
      LDFLAGS="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION"
      traefik_wrapper ;;
    cert-manager-*)
      local b="${c#cert-manager-}"
      WRAPPER="$SRC_ROOT/cert-manager-$CERT_MANAGER_VERSION/$b"
      PKG="."
      TAGS=""
      local u=github.com/cert-manager/cert-manager/pkg/util
      LDFLAGS="-s -w -X $u.AppVersion=$CERT_MANAGER_VERSION -X $u.AppGitCommit=module-$CERT_MANAGER_VERSION"
      if [[ -z "${WRAPPER_READY[cert-manager]:-}" ]]; then
        CERT_MANAGER_MODULE="$(cert_manager_module)"
        WRAPPER_READY[cert-manager]=1
      fi
      # The upstream module path keeps cert-manager's internal/ packages importable.
      write_wrapper "$WRAPPER" github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION" \
        -module="github.com/cert-manager/cert-manager/$b-binary" -replace="github.com/cert-manager/cert-manager=$CERT_MANAGER_MODULE"
      rm -rf "$WRAPPER/app" && cp -r "$SCRIPT_DIR/../edge/cert-manager/$b/." "$WRAPPER/" ;;
    pebble|pebble-challtestsrv)
      WRAPPER="$SRC_ROOT/pebble-v$PEBBLE_VERSION"
      PKG="github.com/letsencrypt/pebble/v2/cmd/$c"
      TAGS=""
      LDFLAGS="-s -w"
      write_wrapper "$WRAPPER" github.com/letsencrypt/pebble/v2 "v$PEBBLE_VERSION" ;;
    prometheus-operator|prometheus-config-reloader)
      WRAPPER="$SRC_ROOT/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
      PKG="github.com/prometheus-operator/prometheus-operator/cmd/$c"
      [[ "$c" != prometheus-operator ]] || PKG="github.com/prometheus-operator/prometheus-operator/cmd/operator"
      TAGS=""
      local v=github.com/prometheus/common/version
      LDFLAGS="-s -w -X $v.Version=${PROMETHEUS_OPERATOR_VERSION#v} -X $v.Revision=module-$PROMETHEUS_OPERATOR_VERSION"
      # Its pkg/client module (generated code) is not served: generated as upstream does, from the
      # served pkg/apis/monitoring, once per version and generator script (the stamp).
      local client="$SRC_ROOT/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION-client" gen="$SCRIPT_DIR/../edge/operator-client.sh" stamp
      if [[ -z "${WRAPPER_READY[prometheus-operator-client]:-}" ]]; then
        stamp="$PROMETHEUS_OPERATOR_VERSION $(sha256sum "$gen" | cut -c1-12)"
        if [[ "$(cat "$client/.stamp" 2>/dev/null)" != "$stamp" ]]; then
          bash "$gen" "$client"
          echo "$stamp" >"$client/.stamp"
        fi
        WRAPPER_READY[prometheus-operator-client]=1
      fi
      write_wrapper "$WRAPPER" github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" \
        -replace="github.com/prometheus-operator/prometheus-operator/pkg/client=$client" ;;
    prometheus)
      WRAPPER="$SRC_ROOT/prometheus-v$PROMETHEUS_VERSION"
      PKG="github.com/prometheus/prometheus/cmd/prometheus"
      # Only the Kubernetes service discovery (plugins/*.go build tags): the others pull in every
      # cloud SDK and are not used by the operator's configuration here.
      TAGS="netgo,remove_all_sd,enable_kubernetes_sd"
      local v=github.com/prometheus/common/version
      LDFLAGS="-s -w -X $v.Version=$PROMETHEUS_VERSION -X $v.Revision=module-v$PROMETHEUS_VERSION -X $v.Branch=HEAD"
      write_wrapper "$WRAPPER" github.com/prometheus/prometheus "$(edge_module_version prometheus)" ;;
    kubeconform)
      WRAPPER="$SRC_ROOT/kubeconform-$KUBECONFORM_VERSION"
      PKG="github.com/yannh/kubeconform/cmd/kubeconform"
      TAGS=""
      LDFLAGS="-s -w -X main.version=$KUBECONFORM_VERSION"
      write_wrapper "$WRAPPER" github.com/yannh/kubeconform "$KUBECONFORM_VERSION" ;;
    kube-score)
      WRAPPER="$SRC_ROOT/kube-score-$KUBE_SCORE_VERSION"
      PKG="github.com/zegl/kube-score/cmd/kube-score"
      TAGS=""
      LDFLAGS="-s -w -X main.version=${KUBE_SCORE_VERSION#v} -X main.commit=module-$KUBE_SCORE_VERSION"
      write_wrapper "$WRAPPER" github.com/zegl/kube-score "$KUBE_SCORE_VERSION" ;;
    trivy)
      WRAPPER="$SRC_ROOT/trivy-$TRIVY_VERSION"
      PKG="github.com/aquasecurity/trivy/cmd/trivy"
      TAGS=""
      # Upstream's release build (goreleaser.yml): its JSON code uses encoding/json/v2.
      GOEXP="jsonv2"
      LDFLAGS="-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${TRIVY_VERSION#v}"
      write_wrapper "$WRAPPER" github.com/aquasecurity/trivy "$TRIVY_VERSION" ;;
    kyverno)
      WRAPPER="$SRC_ROOT/kyverno-$KYVERNO_VERSION"
      PKG="github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno"
      TAGS=""
      LDFLAGS="-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$KYVERNO_VERSION"
      # Kyverno's go.mod replaces k8s.io/pod-security-admission with its fork (the podSecurity
      # rule's checks); a dependency's replaces are ignored, so the wrapper repeats it.
      write_wrapper "$WRAPPER" github.com/kyverno/kyverno "$KYVERNO_VERSION" \
        -replace="k8s.io/pod-security-admission=$KYVERNO_PSA_FORK" ;;
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
  (cd "$WRAPPER" && GOEXPERIMENT="$GOEXP" nice -n 19 go build -p "$JOBS" -trimpath -buildvcs=false \
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
  [[ " ${EDGE_COMPONENTS[*]} " != *" $c "* ]] || dir="$EDGE_SET_DIR"
  if [[ " ${POLICY_COMPONENTS[*]} " == *" $c "* ]]; then continue; fi  # found by --print-bin
  mkdir -p "$dir"
  ln -sfn "../$c-$(component_version "$c")/$c" "$dir/$c"
  [[ " ${dirs[*]} " == *" $dir "* ]] || dirs+=("$dir")
done
echo "total $((SECONDS - total_start))s${dirs[*]:+; binaries in ${dirs[*]}}"
