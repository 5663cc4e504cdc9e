#!/bin/sh
# Entrypoint of the Redis stand-in (Debian's redis-server 7.0), following the official redis
# image's entrypoint (see README.md for what is implemented). Manifests that set `command`
# bypass it, as they do with the official image.
set -e

# `docker run image --appendonly yes` or `docker run image /path/redis.conf` mean redis-server.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
  # As root, own /data and hand over to the redis account (skipped when run as non-root).
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups -- "$0" "$@"
  fi
  # The official image builds redis with protected mode off, so a server started without a
  # config file serves other containers; Debian's binary needs it said on the command line.
  conf=no
  for a in "$@"; do case "$a" in *.conf) conf=yes ;; esac; done
  if [ "$conf" = no ]; then
    shift
    set -- redis-server --protected-mode no "$@"
  fi
  # Files redis writes (RDB, AOF) are private unless a umask was chosen.
  [ "$(umask)" != 0022 ] || umask 0077
fi

exec "$@"
