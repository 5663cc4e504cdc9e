#!/usr/bin/env bash
# Print the directory holding the pinned control-plane binaries (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, etcd, kwok, kwokctl) built by build.sh.
# Does not build anything; run scripts/cluster/build.sh first. Usage:
#   PATH="$(scripts/cluster/bin-path.sh):$PATH"
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/build.sh" --print-dir
