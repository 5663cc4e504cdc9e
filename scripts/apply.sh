#!/usr/bin/env bash
# Applies one synthesized environment: scripts/apply.sh [kind|k3d|prod] [--spec F] [--context C] [--skip-missing]
# Namespace and Secrets first, then a check that the cluster has every add-on the manifests need,
# then the workloads (see scripts/apply.ts).
set -euo pipefail
env="${1:-kind}"
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."
exec npx tsx scripts/apply.ts --env "$env" "$@"
