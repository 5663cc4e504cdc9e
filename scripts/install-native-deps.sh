#!/usr/bin/env bash
# Installs what test/native needs to run the generated PostgreSQL and Redis artifacts for real,
# without a container engine: Debian 12 (bookworm) packages, pinned by name.
#
#   postgresql-15, postgresql-client-15   initdb, postgres, pg_ctl, psql, pg_isready, pg_dump(all), pg_restore
#   libnss-wrapper                        the libnss_wrapper.so the official postgres image preloads
#   redis-server (brings redis-tools)     redis-server, redis-cli
#   util-linux                            setpriv, to run as uid/gid 10999 with no passwd entry
#
# Idempotent: when every binary is already there it does not touch apt. Services are never started
# (a policy-rc.d that denies starts is put in place for the install if none exists).
# Usage: bash scripts/install-native-deps.sh        (as root, or with sudo available)
set -euo pipefail

PG_MAJOR=15
PG_BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"

# binary (or file) that proves a package is installed -> package that provides it
declare -A NEED=(
  ["${PG_BIN}/initdb"]=postgresql-${PG_MAJOR}
  ["${PG_BIN}/postgres"]=postgresql-${PG_MAJOR}
  ["${PG_BIN}/pg_ctl"]=postgresql-${PG_MAJOR}
  ["${PG_BIN}/psql"]=postgresql-client-${PG_MAJOR}
  ["${PG_BIN}/pg_isready"]=postgresql-client-${PG_MAJOR}
  ["${PG_BIN}/pg_dump"]=postgresql-client-${PG_MAJOR}
  ["${PG_BIN}/pg_dumpall"]=postgresql-client-${PG_MAJOR}
  ["${PG_BIN}/pg_restore"]=postgresql-client-${PG_MAJOR}
  [libnss_wrapper.so]=libnss-wrapper
  [redis-server]=redis-server
  [redis-cli]=redis-tools
  [setpriv]=util-linux
)

have() {
  case "$1" in
    /*) [ -x "$1" ] ;;
    *.so) compgen -G "/usr/lib/*/$1" >/dev/null || compgen -G "/usr/lib/$1" >/dev/null || compgen -G "/lib/*/$1" >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for f in "${!NEED[@]}"; do
  have "$f" || missing+=("${NEED[$f]}")
done

versions() {
  dpkg-query -W -f='  ${Package} ${Version}\n' postgresql-${PG_MAJOR} postgresql-client-${PG_MAJOR} libnss-wrapper redis-server redis-tools util-linux 2>/dev/null || true
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-native-deps: all present, apt not used:"
  versions
  exit 0
fi

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)

if ! grep -qE '^VERSION_ID="?12"?' /etc/os-release 2>/dev/null; then
  echo "install-native-deps: missing ${pkgs[*]}; these names are pinned to Debian 12 (bookworm), and this is:" >&2
  grep -E '^PRETTY_NAME=' /etc/os-release >&2 || true
  exit 1
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-native-deps: need root (or sudo) to install ${pkgs[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi

# Never start the packaged redis/postgresql services during the install.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 0755 "$policy"
  trap '"${SUDO[@]}" rm -f "$policy"' EXIT
fi

echo "install-native-deps: installing ${pkgs[*]}"
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine; update only when the candidates are unknown.
for p in "${pkgs[@]}"; do
  if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    "${SUDO[@]}" apt-get update -qq
    break
  fi
done
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null \
  || { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }

still=()
for f in "${!NEED[@]}"; do have "$f" || still+=("$f"); done
if [ "${#still[@]}" -ne 0 ]; then
  echo "install-native-deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
echo "install-native-deps: installed ${pkgs[*]} in $(( $(date +%s) - start ))s; versions:"
versions
