#!/usr/bin/env bash
# Stop a control plane started by scripts/cluster/up.sh and remove everything it wrote: its
# processes (by the pids it recorded, newest first: kwok, scheduler, controller manager,
# apiserver, etcd; TERM, then KILL after 10 s), the etcd data dir on tmpfs and the state dir.
#
# Usage: scripts/cluster/down.sh [--keep-state] [--quiet] [STATE_DIR]
#        (STATE_DIR defaults to $STACKPORT_CLUSTER_STATE)
#
#   --keep-state  stop the processes but keep STATE_DIR (logs, certificates) for inspection
#
# Idempotent: a missing state dir or an already stopped process is not an error. A pid is only
# signalled while its command line still names this cluster's state or data dir, so a recycled
# pid is never hit.
set -euo pipefail

keep=0
quiet=0
STATE=""
for arg in "$@"; do
  case "$arg" in
    --keep-state) keep=1 ;;
    --quiet) quiet=1 ;;
    -h|--help) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "down.sh: unknown flag $arg" >&2; exit 2 ;;
    *) STATE="$arg" ;;
  esac
done
STATE="${STATE:-${STACKPORT_CLUSTER_STATE:-}}"
[[ -n "$STATE" ]] || { echo "down.sh: no state dir given (argument or STACKPORT_CLUSTER_STATE)" >&2; exit 2; }
say() { [[ $quiet -eq 1 ]] || echo "$@" >&2; }
if [[ ! -d "$STATE" ]]; then
  say "down.sh: $STATE does not exist (already down)"
  exit 0
fi
STATE="$(cd "$STATE" && pwd)"
start=$SECONDS

ETCD_DATA=""
[[ ! -f "$STATE/etcd-data-dir" ]] || ETCD_DATA="$(cat "$STATE/etcd-data-dir")"

# ours PID: the process is alive and its command line mentions this cluster.
ours() {
  local cmd
  [[ -r "/proc/$1/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"$STATE"* || ( -n "$ETCD_DATA" && "$cmd" == *"$ETCD_DATA"* ) ]]
}

# The watchdog first (unless we are the watchdog), then the components in reverse start order.
names=()
[[ ! -f "$STATE/pids/watchdog.pid" ]] || names+=(watchdog)
if [[ -f "$STATE/pids/order" ]]; then
  mapfile -t order <"$STATE/pids/order"
  for ((i = ${#order[@]} - 1; i >= 0; i--)); do names+=("${order[$i]}"); done
fi

pids=()
for name in "${names[@]}"; do
  f="$STATE/pids/$name.pid"
  [[ -f "$f" ]] || continue
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] || continue
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
    # Let each component go before the one it depends on (kwok before apiserver before etcd).
    for _ in $(seq 1 50); do ours "$pid" || break; sleep 0.1; done
  fi
done
for pid in "${pids[@]}"; do
  if ours "$pid"; then
    say "down.sh: pid $pid ignored TERM; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
done

# Remove what up.sh created (only paths it recorded; the etcd dir must look like one of ours).
if [[ -n "$ETCD_DATA" && "$(basename "$ETCD_DATA")" == stackport-etcd.* && -d "$ETCD_DATA" ]]; then
  rm -rf -- "$ETCD_DATA"
fi
if [[ $keep -eq 1 ]]; then
  rm -f "$STATE/cluster.json"
  say "down.sh: stopped ${#pids[@]} process(es) in $((SECONDS - start))s; kept $STATE"
else
  rm -rf -- "$STATE"
  say "down.sh: stopped ${#pids[@]} process(es) and removed $STATE in $((SECONDS - start))s"
fi
