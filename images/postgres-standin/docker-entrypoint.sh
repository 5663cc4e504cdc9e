#!/usr/bin/env bash
# Entrypoint of the PostgreSQL stand-in (Debian's postgresql-15). It implements the part of the
# official postgres image's entrypoint contract listed in README.md, with the same variable names,
# messages and order, so manifests written for the official image run unchanged.
set -Eeo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*"; }
die() { log "error: $*" >&2; exit 1; }

# VAR or VAR_FILE (a path whose content is the value); both at once is an error.
file_env() {
  local var="$1" file_var="${1}_FILE" def="${2:-}" val
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    die "both $var and $file_var are set (but are exclusive)"
  fi
  val="$def"
  if [ -n "${!var:-}" ]; then
    val="${!var}"
  elif [ -n "${!file_var:-}" ]; then
    [ -r "${!file_var}" ] || die "$file_var=${!file_var}: file missing or not readable by uid $(id -u)"
    val="$(< "${!file_var}")"
  fi
  export "$var"="$val"
  unset "$file_var"
}

# As root, hand over to the postgres account like the official image (under Pod Security
# "restricted" the pod already runs as non-root and this is skipped).
if [ "$(id -u)" = 0 ] && [ "${1:-}" = postgres ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$BASH_SOURCE" "$@"
fi

# `docker run image -c foo=bar` means `postgres -c foo=bar`.
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
# Anything else (psql, pg_dump, sh -c ...) runs as given, as with the official image.
[ "${1:-}" = postgres ] || exec "$@"

: "${PGDATA:?PGDATA must be set}"
file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=}"

mkdir -p "$PGDATA" || die "cannot create PGDATA=$PGDATA as uid $(id -u)"
chmod 00700 "$PGDATA" 2>/dev/null || :
mkdir -p /var/run/postgresql 2>/dev/null || :
chmod 03775 /var/run/postgresql 2>/dev/null || :

if [ -s "$PGDATA/PG_VERSION" ]; then
  log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
  exec "$@"
fi

if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
  die "Database is uninitialized and superuser password is not specified.
       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value for the superuser,
       or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password."
fi

# initdb needs a passwd entry for the running uid; an arbitrary uid (10999 in the manifests) has
# none, so fake one with nss_wrapper for initdb only, exactly as the official image does.
uid="$(id -u)"
if ! getent passwd "$uid" >/dev/null 2>&1; then
  for wrapper in {/usr,}/lib{/*/,/}libnss_wrapper.so; do
    if [ -s "$wrapper" ]; then
      NSS_WRAPPER_PASSWD="$(mktemp)"
      NSS_WRAPPER_GROUP="$(mktemp)"
      export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
      printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$(id -g)" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
      printf 'postgres:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
      break
    fi
  done
fi

# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags, as in the official image
initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS

if [ -n "${NSS_WRAPPER_PASSWD:-}" ]; then
  rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
  unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
fi

# Remote connections: scram-sha-256 unless POSTGRES_HOST_AUTH_METHOD says otherwise; the local
# socket stays trusted (initdb's default), which the init scripts below rely on.
auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

# A temporary server on the socket only, so no client can connect before initialization is done.
export PGPASSWORD="$POSTGRES_PASSWORD"
pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start

psql_init=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
if [ "$POSTGRES_DB" != postgres ]; then
  "${psql_init[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
fi

# Run once, at first start: *.sh (executed if executable, else sourced), *.sql, *.sql.gz.
shopt -s nullglob
for f in /docker-entrypoint-initdb.d/*; do
  case "$f" in
    *.sh)
      if [ -x "$f" ]; then log "running $f"; "$f"
      else log "sourcing $f"; # shellcheck disable=SC1090
        . "$f"; fi ;;
    *.sql) log "running $f"; "${psql_init[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
    *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql_init[@]}" --dbname "$POSTGRES_DB" ;;
    *) log "ignoring $f" ;;
  esac
done
shopt -u nullglob

pg_ctl -D "$PGDATA" -m fast -w stop
unset PGPASSWORD
log "PostgreSQL init process complete; ready for start up."
exec "$@"
