#!/usr/bin/env bash
# Applies one synthesized environment to the cluster kubectl points at:
#   scripts/apply.sh [kind|k3d|prod]
# 1. deletes Jobs labelled stackport.dev/replace-on-apply (a Job's pod template is immutable, and
#    the migration is idempotent, so it simply runs again);
# 2. server-side applies dist/<env> (the Namespace comes first in the file);
# 3. creates the Secrets the stack references (kept across runs, see scripts/secrets.ts).
set -euo pipefail
env="${1:-kind}"
cd "$(dirname "$0")/.."
dir="dist/$env"
[ -d "$dir" ] || { echo "error: $dir does not exist; run npm run synth first" >&2; exit 1; }
ns=$(awk '/^kind: Namespace/{f=1} f && /^  name:/{print $2; exit}' "$dir"/*.k8s.yaml)
[ -n "$ns" ] || { echo "error: no Namespace in $dir" >&2; exit 1; }

if kubectl get namespace "$ns" >/dev/null 2>&1; then
  kubectl -n "$ns" delete job -l stackport.dev/replace-on-apply=true --ignore-not-found
fi
kubectl apply --server-side --field-manager=stackport -f "$dir"
npx tsx scripts/secrets.ts --env "$env" --apply
