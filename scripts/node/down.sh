#!/usr/bin/env bash
# Stop a node started by scripts/node/up.sh and remove everything it made, by what it recorded:
#
#   1. the watchdog, then the daemons (TERM to all, newest first: kube-router, kube-proxy, kubelet,
#      containerd, scheduler, controller manager, apiserver, etcd; KILL to any still alive after 5 s,
#      and to the apiserver and etcd as soon as the others are down)
#   2. every process still left in the node: in its mount namespace (containerd shims, the holder),
#      in its network namespace (commands run there), or in its cgroup tree (containers): KILL
#   3. kubelet's cgroup folders (deepest first, in every hierarchy)
#   4. the network namespace, with the veth pair, the CNI bridge, pod addresses and the iptables
#      rules and ipsets inside it
#   5. the state folder (unless --keep-state); the private mounts died with their namespace
#
# Usage: scripts/node/down.sh [--keep-state] [--quiet] [STATE_DIR]
#        (STATE_DIR defaults to $STACKPORT_NODE_STATE)
#
# Idempotent. Only processes that belong to this node are signalled: a recorded pid is checked
# against the node's namespaces before it is hit, so a recycled pid is left alone.
set -euo pipefail

keep=0
quiet=0
STATE=""
for arg in "$@"; do
  case "$arg" in
    --keep-state) keep=1 ;;
    --quiet) quiet=1 ;;
    -h|--help) sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "down.sh: unknown flag $arg" >&2; exit 2 ;;
    *) STATE="$arg" ;;
  esac
done
STATE="${STATE:-${STACKPORT_NODE_STATE:-}}"
[[ -n "$STATE" ]] || { echo "down.sh: no state dir given (argument or STACKPORT_NODE_STATE)" >&2; exit 2; }
say() { [[ $quiet -eq 1 ]] || echo "$@" >&2; }
if [[ ! -d "$STATE" ]]; then
  say "down.sh: $STATE does not exist (already down)"
  exit 0
fi
STATE="$(cd "$STATE" && pwd)"
[[ -f "$STATE/netns" ]] || { echo "down.sh: $STATE is not a node state folder (no netns file)" >&2; exit 2; }
start=$EPOCHREALTIME
# phase NAME: the seconds since the last phase mark, for the summary line.
phases=""
mark=$EPOCHREALTIME
phase() { phases+="${phases:+, }$1 $(awk -v a="$mark" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"; mark=$EPOCHREALTIME; }

NETNS="$(cat "$STATE/netns")"
CGROUP_ROOT="$(cat "$STATE/cgroup-root" 2>/dev/null || true)"
MNT_NS="$(cat "$STATE/mnt-ns" 2>/dev/null || true)"
NET_NS=""
[[ ! -e "/run/netns/$NETNS" ]] || NET_NS="net:[$(stat -L -c %i "/run/netns/$NETNS")]"

# ours PID: alive and inside one of this node's namespaces or cgroups.
ours() {
  local pid="$1" ns
  [[ -d "/proc/$pid" && "$pid" != "$$" ]] || return 1
  if [[ -n "$MNT_NS" ]]; then ns="$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" && [[ "$ns" == "$MNT_NS" ]] && return 0; fi
  if [[ -n "$NET_NS" ]]; then ns="$(readlink "/proc/$pid/ns/net" 2>/dev/null)" && [[ "$ns" == "$NET_NS" ]] && return 0; fi
  if [[ -n "$CGROUP_ROOT" ]]; then grep -q ":$CGROUP_ROOT\(/\|$\)" "/proc/$pid/cgroup" 2>/dev/null && return 0; fi
  return 1
}

# 1. watchdog and daemons, newest first.
if [[ -f "$STATE/pids/watchdog.pid" ]]; then
  pid="$(cat "$STATE/pids/watchdog.pid")"
  if [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" && "$pid" != "$PPID" ]] && grep -qa stackport-node-watchdog "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
fi
names=()
[[ ! -f "$STATE/pids/order" ]] || mapfile -t names < <(tac "$STATE/pids/order")
# TERM to all of them at once (newest first), then one shared grace period: one by one, a daemon
# that takes its time to stop (kube-apiserver's graceful shutdown) held up every one after it.
stopping=()
for name in "${names[@]}"; do
  [[ "$name" != holder ]] || continue
  pid="$(cat "$STATE/pids/$name.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && ours "$pid" || continue
  kill -TERM "$pid" 2>/dev/null || true
  stopping+=("$name:$pid")
done
stopped=${#stopping[@]}
# kube-apiserver's graceful termination waits for requests in flight (up to a minute, and the
# node's own clients keep sending them) and etcd for the apiserver's streams: neither is waited
# for. Both keep nothing a node being removed needs; they get KILL with whatever else is left.
unhurried() { [[ "$1" == kube-apiserver || "$1" == etcd ]]; }
for _ in $(seq 1 50); do
  alive=0
  for np in "${stopping[@]}"; do unhurried "${np%%:*}" || ! ours "${np#*:}" || alive=1; done
  [[ $alive -eq 1 ]] || break
  sleep 0.1
done
for np in "${stopping[@]}"; do
  if ours "${np#*:}"; then
    unhurried "${np%%:*}" || say "down.sh: ${np%%:*} (pid ${np#*:}) ignored TERM; sending KILL"
    kill -KILL "${np#*:}" 2>/dev/null || true
  fi
done

phase daemons
# 2. whatever is left: shims, containers, the holder, commands run in the namespace.
cgroup_pids() {
  local h
  [[ -n "$CGROUP_ROOT" ]] || return 0
  for h in /sys/fs/cgroup/*/; do
    [[ -d "$h${CGROUP_ROOT#/}" ]] || continue
    find "$h${CGROUP_ROOT#/}" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done
}
# Every process of the node: one find and one grep over /proc (a readlink and a grep per pid, as
# ours does, forked over a thousand times per round with the host's and the pods' processes).
leftovers() {
  {
    find /proc/[0-9]*/ns -maxdepth 1 \( -name mnt -o -name net \) -printf '%h %l\n' 2>/dev/null |
      awk -v m="$MNT_NS" -v n="$NET_NS" '($2 == m && m != "") || ($2 == n && n != "") { split($1, p, "/"); print p[3] }' || true
    # (find and grep fail on a process that exits meanwhile: under set -e that must not end the list)
    [[ -z "$CGROUP_ROOT" ]] || grep -l ":$CGROUP_ROOT\(/\|\$\)" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 || true
    cgroup_pids
  } | grep -vx -e "$$" -e "$BASHPID" || true
}
for round in $(seq 1 50); do
  mapfile -t left < <(leftovers | sort -u)
  [[ ${#left[@]} -gt 0 ]] || break
  [[ $round -gt 1 ]] || stopped=$((stopped + ${#left[@]}))
  kill -KILL "${left[@]}" 2>/dev/null || true
  sleep 0.2
done
[[ ${#left[@]} -eq 0 ]] || say "down.sh: processes still alive after KILL: ${left[*]}"

phase leftovers
# 3. cgroup folders, deepest first.
if [[ -n "$CGROUP_ROOT" ]]; then
  for h in /sys/fs/cgroup/*/; do
    d="$h${CGROUP_ROOT#/}"
    [[ -d "$d" ]] || continue
    for _ in 1 2 3 4 5; do
      find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
      [[ -d "$d" ]] || break
      sleep 0.5
    done
    [[ ! -d "$d" ]] || say "down.sh: could not remove cgroup $d"
  done
fi

phase cgroups
# 4. the network namespace.
if [[ -e "/run/netns/$NETNS" ]]; then
  ip netns delete "$NETNS" || say "down.sh: could not delete netns $NETNS"
fi

phase netns
# 5. the state folder.
if [[ $keep -eq 1 ]]; then
  rm -f "$STATE/node.json"
  phase files
  say "down.sh: stopped $stopped process(es) in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s ($phases); kept $STATE"
else
  rm -rf -- "$STATE"
  phase files
  say "down.sh: stopped $stopped process(es) and removed $STATE in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s ($phases)"
fi
