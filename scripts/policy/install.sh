#!/usr/bin/env bash
# Install the pinned policy tools (scripts/policy/versions.env) and generate the JSON schemas
# kubeconform validates against, into a per-user cache outside the clone. Idempotent: what is
# already there at the pinned version is reused; a second run takes about a second.
#
# Usage: scripts/policy/install.sh [--force] [STEP...]
#
# Steps (default: all): kubeconform kube-score trivy kyverno checkov k8s-schemas crd-schemas
#   kubeconform kube-score trivy kyverno
#                             scripts/cluster/build.sh TOOL: the script that builds every binary
#                             of the project from Go modules, into the same cache (bin/<tool>-<v>/)
#   checkov                   PyPI, in a venv, dependencies pinned by checkov-constraints.txt
#   k8s-schemas               api/openapi-spec/swagger.json from the Go module k8s.io/kubernetes
#                             -> openapi2jsonschema --expanded --kubernetes --stand-alone --strict
#   crd-schemas               crds/*.yaml -> crd2jsonschema.py (strict, one file per kind+version)
# kube-linter and Polaris are not installed: the Go module proxy refuses both (docs/policy.md).
# Any failure stops the run with a non-zero exit.
#
# --force       rebuild the selected steps even when they are present
# Paths: see scripts/policy/env.sh (source it to get them). Go's module and build caches stay in
# Go's default locations (go env GOMODCACHE GOCACHE); pip uses its own cache.
# Environment: STACKPORT_CACHE_DIR (cache root, default ${XDG_CACHE_HOME:-$HOME/.cache}/stackport),
# STACKPORT_BUILD_JOBS (go build -p, default 2), PYTHON (default python3).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/policy/env.sh
source "$SCRIPT_DIR/env.sh"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
: "${KUBECONFORM_VERSION:?}" "${KUBE_SCORE_VERSION:?}" "${TRIVY_VERSION:?}" "${KYVERNO_VERSION:?}"
: "${CHECKOV_VERSION:?}" "${OPENAPI2JSONSCHEMA_VERSION:?}" "${PYYAML_VERSION:?}" "${KUBERNETES_SCHEMA_VERSION:?}"

export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
JOBS="${STACKPORT_BUILD_JOBS:-2}"
PYTHON="${PYTHON:-python3}"
ALL_STEPS=(kubeconform kube-score trivy kyverno checkov k8s-schemas crd-schemas)

log() { printf '[policy] %s\n' "$*" >&2; }
die() { printf '[policy] error: %s\n' "$*" >&2; exit 1; }

# --- helpers -------------------------------------------------------------------------------

# go mod download MOD@VER in an empty directory (no go.mod, no go.work consulted).
# Prints the module directory. Returns 2 when the registry refused the module or version
# (error text in $WORK/refusal), 1 on any other error.
go_mod_dir() {
  local mod="$1" ver="$2" json rc=0
  json="$(cd "$WORK" && go mod download -json "$mod@$ver" 2>"$WORK/gomod.err")" || true
  "$PYTHON" -c '
import json, sys
text = sys.argv[1]
try:
    j = json.loads(text)
except ValueError:
    sys.stderr.write(open(sys.argv[2]).read() or "no output from go mod download\n")
    sys.exit(1)
err = j.get("Error")
if err:
    # Answers of the registry itself; an offline or DNS failure is no refusal.
    refused = ("403 Forbidden", "404 Not Found", "410 Gone")
    with open(sys.argv[3], "w") as f:
        f.write(err + "\n")
    if any(r in err for r in refused):
        sys.exit(2)  # the caller reports it
    sys.stderr.write(err + "\n")
    sys.exit(1)
if not j.get("Dir"):
    sys.stderr.write("go mod download printed no Dir\n")
    sys.exit(1)
print(j["Dir"])
' "$json" "$WORK/gomod.err" "$WORK/refusal" || rc=$?
  return "$rc"
}

# --- steps ---------------------------------------------------------------------------------

# The Go tools: built (or found cached) by the one Go build script.
build_with_cluster_script() {
  local name="$1" args=("$1") out
  [[ $force -eq 0 ]] || args=(--force "$1")
  # Shown as it comes (on the open stderr: `tee /dev/stderr` would reopen, and truncate, a log file).
  out="$(bash "$ROOT/scripts/cluster/build.sh" "${args[@]}" | while IFS= read -r line; do echo "$line" >&2; echo "$line"; done; exit "${PIPESTATUS[0]}")" ||
    die "scripts/cluster/build.sh $name failed"
  STATUS[$name]="$(awk -v n="$name" '$1 == n { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' <<<"$out")"
}

step_kubeconform() { build_with_cluster_script kubeconform; }
step_kube-score() { build_with_cluster_script kube-score; }
step_trivy() { build_with_cluster_script trivy; }
step_kyverno() { build_with_cluster_script kyverno; }

step_checkov() {
  local venv="$STACKPORT_CHECKOV_VENV" stamp want
  want="checkov==$CHECKOV_VERSION constraints=$(sha256sum "$SCRIPT_DIR/checkov-constraints.txt" | cut -c1-16)"
  stamp="$(cat "$venv/.complete" 2>/dev/null || true)"
  if [[ $force -eq 0 && "$stamp" == "$want" ]] && "$venv/bin/python" -c '' 2>/dev/null && [[ -x "$STACKPORT_CHECKOV" ]]; then
    STATUS[checkov]="reused"; return 0
  fi
  log "checkov $CHECKOV_VERSION: new venv $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q -c "$SCRIPT_DIR/checkov-constraints.txt" "checkov==$CHECKOV_VERSION"
  [[ "$(CKV_SKIP_PACKAGE_UPDATE_CHECK=true "$STACKPORT_CHECKOV" --version)" == "$CHECKOV_VERSION" ]] \
    || die "checkov --version does not print $CHECKOV_VERSION"
  echo "$want" >"$venv/.complete"
  STATUS[checkov]="installed"
}

# The venv for openapi2jsonschema and crd2jsonschema.py (created on first need).
schema_tools() {
  local venv="$STACKPORT_SCHEMA_TOOLS_VENV" want
  want="openapi2jsonschema==$OPENAPI2JSONSCHEMA_VERSION click==$O2J_CLICK_VERSION colorama==$O2J_COLORAMA_VERSION jsonref==$O2J_JSONREF_VERSION PyYAML==$PYYAML_VERSION"
  if [[ "$(cat "$venv/.complete" 2>/dev/null || true)" == "$want" ]] && "$venv/bin/python" -c 'import yaml, openapi2jsonschema' 2>/dev/null; then
    return 0
  fi
  log "schema tools: new venv $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$PYTHON" -m venv "$venv"
  # --no-deps: openapi2jsonschema 0.9.1 declares pyyaml<6, which has no Python 3.11+ wheel.
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q --no-deps $want
  echo "$want" >"$venv/.complete"
}

step_k8s-schemas() {
  local out="$STACKPORT_K8S_SCHEMA_DIR/v$KUBERNETES_SCHEMA_VERSION-standalone-strict" want dir tmp
  want="k8s.io/kubernetes@v$KUBERNETES_SCHEMA_VERSION openapi2jsonschema==$OPENAPI2JSONSCHEMA_VERSION --expanded --kubernetes --stand-alone --strict"
  if [[ $force -eq 0 && "$(cat "$out/.complete" 2>/dev/null || true)" == "$want" ]]; then
    STATUS[k8s-schemas]="reused"; return 0
  fi
  schema_tools
  dir="$(go_mod_dir k8s.io/kubernetes "v$KUBERNETES_SCHEMA_VERSION")" ||
    die "go mod download k8s.io/kubernetes@v$KUBERNETES_SCHEMA_VERSION failed: $(cat "$WORK/refusal" 2>/dev/null)"
  local swagger="$dir/api/openapi-spec/swagger.json"
  [[ -f "$swagger" ]] || die "$swagger not found"
  mkdir -p "$STACKPORT_K8S_SCHEMA_DIR"
  tmp="$(basename "$out").tmp.$$"
  log "k8s-schemas: openapi2jsonschema $swagger"
  # openapi2jsonschema resolves references against file://$PWD/<output>/, so -o must be relative.
  (cd "$STACKPORT_K8S_SCHEMA_DIR" && rm -rf "$tmp" &&
    "$STACKPORT_SCHEMA_TOOLS_VENV/bin/openapi2jsonschema" -o "$tmp" --expanded --kubernetes --stand-alone --strict "$swagger") \
    >"$WORK/openapi2jsonschema.log" 2>&1 || { tail -20 "$WORK/openapi2jsonschema.log" >&2; die "openapi2jsonschema failed"; }
  # It exits 0 after per-type errors. Only the apiextensions types that carry JSON schemas
  # themselves (CustomResourceDefinition and its parts) are expected to fail.
  local unexpected
  unexpected="$(grep 'An error occured processing' "$WORK/openapi2jsonschema.log" |
    grep -Ev 'processing (customresourcedefinition[a-z]*|customresourcevalidation|jsonschemaprops[a-z]*):' || true)"
  [[ -z "$unexpected" ]] || { echo "$unexpected" >&2; die "openapi2jsonschema failed on some types"; }
  for f in deployment-apps-v1 service-v1 namespace-v1 cronjob-batch-v1 networkpolicy-networking-v1; do
    [[ -s "$STACKPORT_K8S_SCHEMA_DIR/$tmp/$f.json" ]] || die "openapi2jsonschema wrote no $f.json"
  done
  echo "$want" >"$STACKPORT_K8S_SCHEMA_DIR/$tmp/.complete"
  rm -rf "$out"
  mv "$STACKPORT_K8S_SCHEMA_DIR/$tmp" "$out"
  STATUS[k8s-schemas]="generated $(find "$out" -name '*.json' | wc -l) files from k8s.io/kubernetes@v$KUBERNETES_SCHEMA_VERSION"
}

step_crd-schemas() {
  local out="$STACKPORT_CRD_SCHEMA_DIR" tmp
  if [[ $force -eq 0 && -f "$out/.complete" ]]; then
    STATUS[crd-schemas]="reused"; return 0
  fi
  local crds=("$ROOT"/crds/*.yaml)
  [[ -f "${crds[0]}" ]] || die "no crds/*.yaml in $ROOT"
  schema_tools
  tmp="$out.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  "$STACKPORT_SCHEMA_TOOLS_VENV/bin/python" "$SCRIPT_DIR/crd2jsonschema.py" "$tmp" "${crds[@]}" >&2
  date -u +%FT%TZ >"$tmp/.complete"
  rm -rf "$out"
  mv "$tmp" "$out"
  STATUS[crd-schemas]="generated $(find "$out" -name '*.json' | wc -l) files"
}

# --- main ----------------------------------------------------------------------------------

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

main() {
  force=0
  local steps=() arg s
  for arg in "$@"; do
    case "$arg" in
      --force) force=1 ;;
      -h|--help) usage; exit 0 ;;
      -*) echo "install.sh: unknown flag $arg" >&2; usage >&2; exit 2 ;;
      *) steps+=("$arg") ;;
    esac
  done
  [[ ${#steps[@]} -gt 0 ]] || steps=("${ALL_STEPS[@]}")
  for s in "${steps[@]}"; do
    [[ " ${ALL_STEPS[*]} " == *" $s "* ]] || { echo "install.sh: unknown step $s (one of: ${ALL_STEPS[*]})" >&2; exit 2; }
  done
  command -v go >/dev/null || die "go not found (needed for kubeconform, kube-score and the Kubernetes schemas)"
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found (needed for checkov and schema generation)"

  mkdir -p "$STACKPORT_POLICY_HOME"
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT

  declare -gA STATUS=() SECS=()
  local t0 total0="$EPOCHREALTIME"
  for s in "${steps[@]}"; do
    t0="$EPOCHREALTIME"
    "step_$s"
    SECS[$s]="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
  done

  log "$(printf '%-12s %7s  %s' step seconds result)"
  for s in "${steps[@]}"; do
    log "$(printf '%-12s %7s  %s' "$s" "${SECS[$s]}" "${STATUS[$s]:-?}")"
  done
  log "$(printf '%-12s %7s' total "$(awk -v a="$total0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')")"
  log "cache: $STACKPORT_POLICY_HOME (paths: source scripts/policy/env.sh)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
