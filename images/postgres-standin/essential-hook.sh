#!/bin/sh
# mmdebstrap essential hook ($1 = rootfs): the postgres account as uid/gid 999, as in the official
# image, before postgresql-common is installed (its postinst keeps an existing account).
set -eu
echo 'postgres:x:999:' >>"$1/etc/group"
echo 'postgres:!::' >>"$1/etc/gshadow"
echo 'postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash' >>"$1/etc/passwd"
echo 'postgres:!:19000::::::' >>"$1/etc/shadow"
