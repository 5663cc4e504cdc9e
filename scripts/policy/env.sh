# shellcheck shell=bash
# Paths of the policy tools that scripts/policy/install.sh installs. Source it, don't run it:
#
#   source scripts/policy/env.sh
#   "$STACKPORT_KUBECONFORM" -strict -kubernetes-version "$STACKPORT_K8S_VERSION" \
#     -schema-location "$STACKPORT_K8S_SCHEMA_LOCATION" \
#     -schema-location "$STACKPORT_CRD_SCHEMA_LOCATION" dist/kind
#   "$STACKPORT_KUBE_SCORE" score --output-format json dist/kind/dataplatform.k8s.yaml
#   "$STACKPORT_CHECKOV" --framework kubernetes --skip-download --quiet --compact --output json \
#     --file dist/kind/dataplatform.k8s.yaml
#   "$STACKPORT_TRIVY" config "${STACKPORT_TRIVY_OFFLINE[@]}" --format json dist/kind
#   "$STACKPORT_KYVERNO" apply "$STACKPORT_KYVERNO_POLICIES" --resource dist/kind/dataplatform.k8s.yaml
# All of these work offline (test/policy/tools.test.ts runs them behind a dead proxy).
#
# Only sets variables (and the helper stackport_policy_missing); never installs, never fails.
# The Go tools are in STACKPORT_CACHE_DIR/bin (below); everything else is in STACKPORT_POLICY_HOME,
#   ${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}/policy
# (the same cache root as scripts/cluster/build.sh), outside the clone.
#
# STACKPORT_POLICY_HOME/
#   venv/checkov-<v>/                 checkov and its pinned dependencies
#   venv/schema-tools-<key>/          openapi2jsonschema + PyYAML (schema generation only)
#   schemas/kubernetes/v<k8s>-standalone-strict/<kind>[-<group>]-<version>.json
#   schemas/crds/<sha>/<group>/<kind>_<version>.json   from crds/*.yaml; <sha> = content hash of
#                                     crds/*.yaml and crd2jsonschema.py, so a CRD bump gets new schemas
#   trivy-cache/                      Trivy's --cache-dir (it writes scan caches; never a download)
# kubeconform, kube-score, Trivy and the Kyverno CLI are built by scripts/cluster/build.sh --policy,
# the one script that builds from Go modules: STACKPORT_CACHE_DIR/bin/<tool>-<v>/<tool>.

_stackport_policy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_stackport_policy_root="$(cd "$_stackport_policy_dir/../.." && pwd)"
# shellcheck source=scripts/policy/versions.env
source "$_stackport_policy_dir/versions.env"

export STACKPORT_POLICY_HOME="${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}/policy"

# The Go tools, where scripts/cluster/build.sh puts them.
_stackport_bin="${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}/bin"
export STACKPORT_KUBECONFORM="$_stackport_bin/kubeconform-$KUBECONFORM_VERSION/kubeconform"
export STACKPORT_KUBE_SCORE="$_stackport_bin/kube-score-$KUBE_SCORE_VERSION/kube-score"
export STACKPORT_TRIVY="$_stackport_bin/trivy-$TRIVY_VERSION/trivy"
export STACKPORT_KYVERNO="$_stackport_bin/kyverno-$KYVERNO_VERSION/kyverno"
export STACKPORT_TRIVY_CACHE="$STACKPORT_POLICY_HOME/trivy-cache"
# The Kyverno policies the gate applies: Pod Security "restricted" and the vendored library ones.
export STACKPORT_KYVERNO_POLICIES="$_stackport_policy_root/scripts/policy/kyverno"
export STACKPORT_CHECKOV_VENV="$STACKPORT_POLICY_HOME/venv/checkov-$CHECKOV_VERSION"
export STACKPORT_CHECKOV="$STACKPORT_CHECKOV_VENV/bin/checkov"
export STACKPORT_SCHEMA_TOOLS_VENV="$STACKPORT_POLICY_HOME/venv/schema-tools-o2j$OPENAPI2JSONSCHEMA_VERSION-pyyaml$PYYAML_VERSION"

# kubeconform: -kubernetes-version "$STACKPORT_K8S_VERSION" -strict, with both locations, in this order.
# The Kubernetes schemas exist only in the strict flavour, so a run without -strict finds none.
export STACKPORT_K8S_VERSION="$KUBERNETES_SCHEMA_VERSION"
export STACKPORT_K8S_SCHEMA_DIR="$STACKPORT_POLICY_HOME/schemas/kubernetes"
export STACKPORT_K8S_SCHEMA_LOCATION="$STACKPORT_K8S_SCHEMA_DIR/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json"

_stackport_policy_crd_key() {
  local files=() f
  for f in "$_stackport_policy_root"/crds/*.yaml; do [[ -f "$f" ]] && files+=("$f"); done
  files+=("$_stackport_policy_dir/crd2jsonschema.py")
  cat "${files[@]}" 2>/dev/null | sha256sum | cut -c1-16
}
STACKPORT_CRD_SCHEMA_DIR="$STACKPORT_POLICY_HOME/schemas/crds/$(_stackport_policy_crd_key)"
export STACKPORT_CRD_SCHEMA_DIR
export STACKPORT_CRD_SCHEMA_LOCATION="$STACKPORT_CRD_SCHEMA_DIR/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"

# Checkov: no version check against PyPI on start (also pass --skip-download).
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true

# Print the tools (and schema sets) that are not installed, one per line; return 1 if any.
stackport_policy_missing() {
  local missing=0
  [[ -x "$STACKPORT_KUBECONFORM" ]] || { echo "kubeconform"; missing=1; }
  [[ -x "$STACKPORT_KUBE_SCORE" ]] || { echo "kube-score"; missing=1; }
  [[ -x "$STACKPORT_TRIVY" ]] || { echo "trivy"; missing=1; }
  [[ -x "$STACKPORT_KYVERNO" ]] || { echo "kyverno"; missing=1; }
  [[ -x "$STACKPORT_CHECKOV" ]] || { echo "checkov"; missing=1; }
  [[ -f "$STACKPORT_K8S_SCHEMA_DIR/v$STACKPORT_K8S_VERSION-standalone-strict/.complete" ]] || { echo "kubernetes-schemas"; missing=1; }
  [[ -f "$STACKPORT_CRD_SCHEMA_DIR/.complete" ]] || { echo "crd-schemas"; missing=1; }
  return "$missing"
}

unset -f _stackport_policy_crd_key
unset _stackport_bin
