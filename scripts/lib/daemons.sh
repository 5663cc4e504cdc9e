# Shared by scripts/cluster/up.sh and scripts/node/up.sh (sourced, not run): timestamped logging,
# the teardown a failed start runs, and starting daemons and waiting for them with a deadline.
# The sourcing script sets STATE (its state folder), SCRIPT_DIR (where its down.sh is), TIMEOUT
# (seconds a wait may take) and, when daemons must start somewhere else, LAUNCH (a command prefix
# such as nsenter into the node's namespaces). It sets ok=1 once the start has succeeded.

T0="$EPOCHREALTIME"
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%6ss] %s\n' "$(elapsed)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# teardown_on_failure LINES: from now on, an exit before ok=1 prints the last LINES of every daemon
# log and runs down.sh, so a failed start leaves nothing behind.
ok=0
TAIL_LINES=15
teardown_on_failure() {
  TAIL_LINES="$1"
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
on_exit() {
  local rc=$?
  if [[ $ok -ne 1 ]]; then
    log "start failed (exit $rc); tearing down $STATE"
    for f in "$STATE"/logs/*.log; do
      [[ -s "$f" && "$f" != */openssl.log ]] || continue
      echo "----- last lines of ${f##*/}" >&2
      tail -n "$TAIL_LINES" "$f" >&2 || true
    done
    "$SCRIPT_DIR/down.sh" --quiet "$STATE" || true
  fi
}

# openssl with its chatter in logs/openssl.log.
ssl() { openssl "$@" >/dev/null 2>>"$STATE/logs/openssl.log"; }

declare -A STARTED_AT=() READY_AFTER=()
LAUNCH=()
# start NAME BINARY ARGS... : own session (under LAUNCH), stdin detached, output to logs/NAME.log, pid recorded.
start() {
  local name="$1"; shift
  STARTED_AT[$name]="$EPOCHREALTIME"
  setsid "${LAUNCH[@]}" "$@" </dev/null >"$STATE/logs/$name.log" 2>&1 &
  echo $! >"$STATE/pids/$name.pid"
  echo "$name" >>"$STATE/pids/order"
}
alive() { kill -0 "$(cat "$STATE/pids/$1.pid")" 2>/dev/null; }
# wait_until NAME DESCRIPTION COMMAND... : poll until COMMAND succeeds, NAME dies, or TIMEOUT.
wait_until() {
  local name="$1" what="$2" deadline=$((SECONDS + TIMEOUT)); shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$name" || die "$name exited while waiting for $what (log: $STATE/logs/$name.log)"
    ((SECONDS < deadline)) || die "$what not reached within ${TIMEOUT}s (log: $STATE/logs/$name.log)"
    sleep 0.2
  done
  LAST_READY="$(awk -v a="${STARTED_AT[$name]}" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
  READY_AFTER[$name]="${READY_AFTER[$name]:-$LAST_READY}"
  log "$name ready ($what) ${LAST_READY}s after its start"
}

# start_watchdog NAME: when OWNER_PID (0: none) dies while the state folder still has pids, run
# down.sh; sets WATCHDOG_PID. The owner is the test process, so a crashed test leaves nothing behind.
WATCHDOG_PID=0
start_watchdog() {
  [[ "$OWNER_PID" != 0 ]] || return 0
  # shellcheck disable=SC2016 # expanded by the watchdog's own bash
  setsid bash -c 'owner="$1" state="$2" down="$3"
    while kill -0 "$owner" 2>/dev/null && [[ -d "$state/pids" ]]; do sleep 2; done
    if [[ -d "$state/pids" ]]; then echo "owner $owner is gone: tearing down"; exec "$down" "$state"; fi' \
    "$1" "$OWNER_PID" "$STATE" "$SCRIPT_DIR/down.sh" \
    </dev/null >"$STATE/logs/watchdog.log" 2>&1 &
  WATCHDOG_PID=$!
  echo "$WATCHDOG_PID" >"$STATE/pids/watchdog.pid"
}
