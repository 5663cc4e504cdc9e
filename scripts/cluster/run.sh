#!/usr/bin/env bash
# Start a local control plane (scripts/cluster/up.sh), run one command against it with KUBECONFIG,
# KUBECACHEDIR, STACKPORT_CLUSTER_STATE and the binaries' directory on PATH, and tear it down
# afterwards, also when the command fails or the script is interrupted. Exits with the command's
# status.
#
# Usage: scripts/cluster/run.sh [up.sh options...] -- COMMAND [ARGS...]
#   e.g. scripts/cluster/run.sh --env prod -- kubectl get nodes -L topology.kubernetes.io/zone
#        scripts/cluster/run.sh -- bash      # an interactive shell with a cluster
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

up_args=()
while [[ $# -gt 0 && "$1" != "--" ]]; do up_args+=("$1"); shift; done
[[ "${1:-}" == "--" && $# -ge 2 ]] || { sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }
shift

STATE="$(mktemp -d "${TMPDIR:-/tmp}/stackport-cluster.XXXXXX")"
trap '"$SCRIPT_DIR/down.sh" "$STATE"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$SCRIPT_DIR/up.sh" "${up_args[@]}" --state-dir "$STATE" --owner-pid $$ >/dev/null
export STACKPORT_CLUSTER_STATE="$STATE" KUBECONFIG="$STATE/admin.kubeconfig" KUBECACHEDIR="$STATE/kube-cache"
PATH="$("$SCRIPT_DIR/build.sh" --print-dir):$PATH"
export PATH

set +e
"$@"
rc=$?
set -e
exit "$rc"
