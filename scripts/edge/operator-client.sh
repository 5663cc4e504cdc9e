#!/usr/bin/env bash
# Generate prometheus-operator's client module for scripts/cluster/build.sh.
#
# Usage: scripts/edge/operator-client.sh OUT_DIR
#
# prometheus-operator imports github.com/prometheus-operator/prometheus-operator/pkg/client, a
# nested module of generated code (clientset, listers, informers, apply configurations) that the
# Go module proxy does not serve. Its source, pkg/apis/monitoring, is served. This script
# (re)creates OUT_DIR as that module the way upstream's `make k8s-client-gen` does: the same four
# generators with the same arguments and licence header, built from k8s.io/code-generator at the
# k8s.io/client-go version the operator's go.mod requires, run on the served pkg/apis/monitoring
# at PROMETHEUS_OPERATOR_VERSION (scripts/crd-versions.env). OUT_DIR/go.mod requires what
# upstream's pkg/client/go.mod does, at the operator's versions, completed by `go mod tidy`.
# OUT_DIR is replaced only once everything succeeded. Needs only the Go module proxy.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../crd-versions.env
source "$SCRIPT_DIR/../crd-versions.env"
: "${PROMETHEUS_OPERATOR_VERSION:?}"

die() { echo "operator-client.sh: $*" >&2; exit 1; }
[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 OUT_DIR"
command -v go >/dev/null || die "go not found in PATH"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off

VERSION="$PROMETHEUS_OPERATOR_VERSION"
GO_PKG=github.com/prometheus-operator/prometheus-operator
APIS_MOD="$GO_PKG/pkg/apis/monitoring"
CLIENT_MOD="$GO_PKG/pkg/client"
GENERATORS=(applyconfiguration-gen client-gen lister-gen informer-gen)

mkdir -p "$(dirname "$1")"
OUT_DIR="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
# Replace only an earlier output (or an empty directory), never anything else.
if [[ -e "$OUT_DIR" && -n "$(ls -A "$OUT_DIR" 2>/dev/null)" ]] &&
   ! grep -qx "module $CLIENT_MOD" "$OUT_DIR/go.mod" 2>/dev/null; then
  die "$OUT_DIR exists and is not a generated $CLIENT_MOD: refusing to replace it"
fi
tmp="$(mktemp -d "${OUT_DIR%/*}/.operator-client.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# The version of a requirement in a go.mod file (block or single-line form).
mod_require() {
  go mod edit -print "$1" | awk -v m="$2" '
    /^require \($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    inblock && $1 == m { print $2; exit }
    /^require / && $2 == m { print $3; exit }'
}
# The go directive of a go.mod file.
mod_go() { go mod edit -json "$1" | sed -n 's/^\t"Go": "\(.*\)",\{0,1\}$/\1/p'; }
# go mod download -json MODULE@VERSION -> FIELD (Dir, GoMod), in a scratch module of its own.
download() {
  local out
  out="$(cd "$tmp/dl" && go mod download -json "$1")" ||
    die "cannot download $1 from the module proxy: $(sed -n 's/^\t"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$out")"
  sed -n "s/^\t\"$2\": \"\(.*\)\",\$/\1/p" <<<"$out"
}
mkdir -p "$tmp/dl" && printf 'module stackport.local/download\n' >"$tmp/dl/go.mod"

# The operator's go.mod: its k8s.io versions, and the licence header of the generated files.
op_dir="$(download "$GO_PKG@$VERSION" Dir)"
op_gomod="$(download "$GO_PKG@$VERSION" GoMod)"
[[ -f "$op_dir/.header" && -f "$op_gomod" ]] || die "$GO_PKG@$VERSION has no .header or go.mod"
go_version="$(mod_go "$op_gomod")"
declare -A want=()
for m in k8s.io/api k8s.io/apiextensions-apiserver k8s.io/apimachinery k8s.io/client-go \
         sigs.k8s.io/structured-merge-diff/v6; do
  want[$m]="$(mod_require "$op_gomod" "$m")"
  [[ -n "${want[$m]}" ]] || die "$GO_PKG@$VERSION does not require $m"
done
[[ "$(mod_require "$op_gomod" "$APIS_MOD")" == "$VERSION" ]] || die "$GO_PKG@$VERSION does not require $APIS_MOD@$VERSION"
[[ "$(mod_require "$op_gomod" "$CLIENT_MOD")" == "$VERSION" ]] || die "$GO_PKG@$VERSION does not require $CLIENT_MOD@$VERSION"
CODEGEN_VERSION="${want[k8s.io/client-go]}"

# The generators, built from k8s.io/code-generator's own requirements (a module requiring only it).
echo "operator-client.sh: building k8s.io/code-generator@$CODEGEN_VERSION ${GENERATORS[*]}" >&2
codegen_gomod="$(download "k8s.io/code-generator@$CODEGEN_VERSION" GoMod)"
mkdir -p "$tmp/tools" "$tmp/bin"
printf 'module stackport.local/operator-client-tools\n' >"$tmp/tools/go.mod"
(cd "$tmp/tools" && go mod edit -require="k8s.io/code-generator@$CODEGEN_VERSION" -go="$(mod_go "$codegen_gomod")" &&
  nice -n 19 go build -trimpath -o "$tmp/bin/" "${GENERATORS[@]/#/k8s.io/code-generator/cmd/}") ||
  die "building k8s.io/code-generator@$CODEGEN_VERSION failed"

# The generators load the API packages with go/packages: run them in a module requiring
# pkg/apis/monitoring@VERSION. Arguments as upstream's Makefile (k8s-client-gen, K8S_GEN_ARGS).
echo "operator-client.sh: generating $CLIENT_MOD from $APIS_MOD@$VERSION" >&2
gen="$tmp/gen"
mkdir -p "$gen"
printf 'module stackport.local/operator-client-gen\n' >"$gen/go.mod"
(cd "$gen" && go mod edit -go="$go_version" -require="$APIS_MOD@$VERSION" && go mod download "$APIS_MOD") ||
  die "cannot set up a module requiring $APIS_MOD@$VERSION"
apis=("$APIS_MOD/v1" "$APIS_MOD/v1alpha1" "$APIS_MOD/v1beta1")
args=(--go-header-file "$op_dir/.header" --v=1 --logtostderr)
run() { (cd "$gen" && nice -n 19 "$tmp/bin/$1" "${args[@]}" "${@:2}") || die "$1 failed"; }
run applyconfiguration-gen --output-pkg "$CLIENT_MOD/applyconfiguration" \
  --output-dir client/applyconfiguration "${apis[@]}"
run client-gen --apply-configuration-package "$CLIENT_MOD/applyconfiguration" \
  --input-base "$GO_PKG/pkg/apis" --clientset-name versioned --output-pkg "$CLIENT_MOD" \
  --output-dir client --input monitoring/v1 --input monitoring/v1beta1 --input monitoring/v1alpha1
run lister-gen --output-pkg "$CLIENT_MOD/listers" --output-dir client/listers "${apis[@]}"
run informer-gen --versioned-clientset-package "$CLIENT_MOD/versioned" \
  --listers-package "$CLIENT_MOD/listers" --output-pkg "$CLIENT_MOD/informers" \
  --output-dir client/informers "${apis[@]}"
for d in applyconfiguration versioned listers informers/externalversions; do
  [[ -n "$(find "$gen/client/$d" -name '*.go' -print -quit 2>/dev/null)" ]] || die "no Go files generated in pkg/client/$d"
done

# The module: upstream's direct requirements at the operator's versions, then `go mod tidy`; a
# compile of every package checks the result against those versions.
req=(-require="$APIS_MOD@$VERSION")
for m in "${!want[@]}"; do req+=(-require="$m@${want[$m]}"); done
printf 'module %s\n' "$CLIENT_MOD" >"$gen/client/go.mod"
(cd "$gen/client" && go mod edit -go="$go_version" "${req[@]}" && go mod tidy) || die "go mod tidy of $CLIENT_MOD failed"
(cd "$gen/client" && nice -n 19 go build -trimpath ./...) || die "the generated $CLIENT_MOD does not compile"

rm -rf "$OUT_DIR"
mv "$gen/client" "$OUT_DIR"
echo "operator-client.sh: $CLIENT_MOD (code-generator $CODEGEN_VERSION, apis $VERSION) in $OUT_DIR" >&2
