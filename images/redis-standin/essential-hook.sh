#!/bin/sh
# mmdebstrap essential hook ($1 = rootfs): the redis account as uid/gid 999, as in the official
# image, before redis-server is installed (its postinst keeps an existing account).
set -eu
echo 'redis:x:999:' >>"$1/etc/group"
echo 'redis:!::' >>"$1/etc/gshadow"
echo 'redis:x:999:999::/data:/usr/sbin/nologin' >>"$1/etc/passwd"
echo 'redis:!:19000::::::' >>"$1/etc/shadow"
