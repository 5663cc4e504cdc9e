#!/bin/sh
# mmdebstrap customize hook ($1 = rootfs): the layout of the official redis image.
set -eu
root="$1"
mkdir -p "$root/data"
chown 999:999 "$root/data"
# Debian's packaged config (daemonize, /var/log) is for the system service, not a container.
rm -f "$root/etc/redis/redis.conf"
