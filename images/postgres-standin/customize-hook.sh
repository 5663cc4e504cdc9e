#!/bin/sh
# mmdebstrap customize hook ($1 = rootfs): the layout of the official postgres image.
set -eu
root="$1"
major="$(ls "$root/usr/lib/postgresql")"
# No cluster from the package: the entrypoint runs initdb on first start.
rm -rf "$root/var/lib/postgresql/$major" "$root/etc/postgresql/$major"
# Listen on every interface, as the official image does by editing the same sample file.
sample="$root/usr/share/postgresql/$major/postgresql.conf.sample"
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$sample"
grep -q "^listen_addresses = '\*'" "$sample"
mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
chown 999:999 "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
chmod 1777 "$root/var/lib/postgresql/data"
chmod 3777 "$root/var/run/postgresql"
