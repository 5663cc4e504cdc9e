#!/usr/bin/env bash
# Builds the container images the real node runs, offline from any image registry: Debian root
# filesystems from the Debian mirror (mmdebstrap), Python packages from PyPI, Go from the module
# proxy, assembled with buildah (no daemon). Each image is written as a docker-archive tarball
# holding exactly one image, ready for `ctr -n k8s.io images import` or `docker load`.
#
# Usage: scripts/images/build.sh [--force] [IMAGE...]      (default: every image below)
#        scripts/images/build.sh --print-dir               print the tarball directory and exit
#
# Images (reference stackport.local/<name>:<tag>, tags in scripts/images/versions.env):
#   postgres-standin        PostgreSQL 15 from Debian with the official image's entrypoint contract
#   redis-standin           Redis 7.0 from Debian, laid out like the official image
#   dataplatform-api        examples/dataplatform-app Dockerfile, target api (also runs the migrations)
#   dataplatform-worker     examples/dataplatform-app Dockerfile, target worker
#   dataplatform-dashboard  examples/dataplatform-app Dockerfile, target dashboard
#   connectivity            images/connectivity: listens, answers probes, dials what the env names
#
# Layout (CACHE = ${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}):
#   CACHE/images/<name>.tar        docker-archive, one image
#   CACHE/images/<name>.key        sha256 of every input; equal key means the tarball is reused
#   CACHE/images/<name>.packages   Debian packages (name version) inside the image, if any
#   CACHE/images/images.tsv        manifest: name, reference, tarball, image id, bytes (one line each)
#   CACHE/rootfs/<key>.tar         mmdebstrap root filesystems, keyed by suite, mirrors, packages, hooks
#   CACHE/buildah/                 buildah's storage (overlay driver; layers reused across runs)
#   CACHE/bin/connectivity-v<V>/   the static connectivity binary
# Idempotent: an image whose key is unchanged is not rebuilt (--force rebuilds). Needs root.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
source "$SCRIPT_DIR/versions.env"

CACHE_ROOT="${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}"
OUT="$CACHE_ROOT/images"
ROOTFS_DIR="$CACHE_ROOT/rootfs"
STORE="$CACHE_ROOT/buildah"
ALL_IMAGES=(postgres-standin redis-standin dataplatform-api dataplatform-worker dataplatform-dashboard connectivity)
APP_DIR="$REPO/examples/dataplatform-app"

usage() { sed -n '2,29s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

force=0
images=()
for arg in "$@"; do
  case "$arg" in
    --print-dir) echo "$OUT"; exit 0 ;;
    --force) force=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "images/build.sh: unknown flag $arg" >&2; usage >&2; exit 2 ;;
    *)
      [[ " ${ALL_IMAGES[*]} " == *" $arg "* ]] || { echo "images/build.sh: unknown image '$arg'; expected one of: ${ALL_IMAGES[*]}" >&2; exit 2; }
      images+=("$arg") ;;
  esac
done
[[ ${#images[@]} -gt 0 ]] || images=("${ALL_IMAGES[@]}")

[[ "$(id -u)" == 0 ]] || { echo "images/build.sh: needs root (mmdebstrap and buildah without user namespaces)" >&2; exit 1; }
for tool in buildah mmdebstrap go; do
  command -v "$tool" >/dev/null || { echo "images/build.sh: $tool not found; run scripts/images/install-tools.sh" >&2; exit 1; }
done

mkdir -p "$OUT" "$ROOTFS_DIR" "$STORE"
# One build at a time per cache (several clones may share it).
exec 8>"$OUT/.build.lock"
flock 8

# Overlay storage under the cache, chroot isolation for RUN steps: no daemon, no runtime needed.
BUILDAH=(nice -n 10 buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver overlay)
export BUILDAH_ISOLATION=chroot

sha() { sha256sum | cut -c1-64; }
# Content hash of files (paths relative to the repository, so the clone's location does not matter).
tree_hash() {
  (cd "$REPO" && find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -path '*/.pytest_cache/*' -print0 \
    | sort -z | xargs -0 sha256sum) | sha
}

tmpfiles=()
containers=()
cleanup() {
  [[ ${#tmpfiles[@]} -eq 0 ]] || rm -rf "${tmpfiles[@]}"
  # Working containers of a build that failed half-way (commit --rm removes the others).
  local c
  for c in "${containers[@]}"; do "${BUILDAH[@]}" rm "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# ------------------------------------------------------------------ root filesystems
# Excluding documentation and translations keeps images small; copyright files stay (licences).
DPKG_OPTS=(
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
)
IFS='|' read -r -a MIRRORS <<<"$DEBIAN_MIRRORS"

# rootfs NAME "PACKAGES" [HOOK_DIR] -> prints the path of a cached rootfs tarball. HOOK_DIR may
# hold essential-hook.sh (run after the Essential packages, before the rest) and customize-hook.sh
# (run last); mmdebstrap passes each the rootfs directory as $1.
rootfs() {
  local name="$1" pkgs="$2" hooks="${3:-}" key tar hook_args=()
  key="$(rootfs_key "$pkgs" "$hooks")"
  tar="$ROOTFS_DIR/$name-${key:0:16}.tar"
  if [[ -n "$hooks" ]]; then
    [[ ! -f "$REPO/$hooks/essential-hook.sh" ]] || hook_args+=(--essential-hook="$REPO/$hooks/essential-hook.sh")
    [[ ! -f "$REPO/$hooks/customize-hook.sh" ]] || hook_args+=(--customize-hook="$REPO/$hooks/customize-hook.sh")
  fi
  if [[ ! -s "$tar" ]]; then
    local start=$SECONDS part="$tar.partial"
    tmpfiles+=("$part")
    echo "rootfs $name: mmdebstrap $DEBIAN_SUITE ($pkgs)" >&2
    nice -n 10 mmdebstrap --quiet --mode=root --variant=minbase --format=tar \
      --include="$(tr ' ' ',' <<<"$pkgs")" "${DPKG_OPTS[@]}" "${hook_args[@]}" \
      "$DEBIAN_SUITE" "$part" "${MIRRORS[@]}" >&2
    mv -f "$part" "$tar"
    echo "rootfs $name: $(( SECONDS - start ))s, $(du -m "$tar" | cut -f1) MB" >&2
  fi
  echo "$tar"
}

rootfs_key() { # packages hook-dir
  { printf '%s\n' "$DEBIAN_SUITE" "$DEBIAN_MIRRORS" "$1" "${DPKG_OPTS[*]}" "$MMDEBSTRAP_VERSION"
    [[ -z "$2" ]] || (cd "$REPO" && find "$2" -maxdepth 1 -name '*-hook.sh' -print0 | sort -z | xargs -0 -r sha256sum); } | sha
}

# Debian packages in a rootfs tarball, "name version" per line (for CACHE/images/<name>.packages).
packages_of() {
  tar -xOf "$1" ./var/lib/dpkg/status | awk '/^Package: /{p=$2} /^Version: /{print p, $2}' | sort
}

# from_rootfs TARBALL -> a working container holding that root filesystem.
from_rootfs() {
  local c
  c="$("${BUILDAH[@]}" from --quiet scratch)"
  "${BUILDAH[@]}" add --quiet "$c" "$1" / >/dev/null
  echo "$c"
}

# finish CONTAINER NAME TAG -> commits, writes the docker-archive, removes the container.
finish() {
  local c="$1" name="$2" tag="$3" ref="stackport.local/$2:$3"
  "${BUILDAH[@]}" config --label "org.opencontainers.image.source=stackport" \
    --label "org.opencontainers.image.title=$name" --label "org.opencontainers.image.version=$tag" "$c"
  "${BUILDAH[@]}" commit --quiet --format docker --rm "$c" "$ref" >/dev/null
  archive "$name" "$ref"
}

# archive NAME REF -> CACHE/images/NAME.tar with exactly that one reference.
archive() {
  local name="$1" ref="$2" part="$OUT/.$1.tar.partial"
  tmpfiles+=("$part")
  rm -f "$part"
  "${BUILDAH[@]}" push --quiet "$ref" "docker-archive:$part:$ref" >/dev/null
  mv -f "$part" "$OUT/$name.tar"
}

# ------------------------------------------------------------------ images
# Images from scratch have no environment: runtimes look commands up in the image's PATH.
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
PG_PKGS="postgresql-$PG_MAJOR=$POSTGRESQL_VERSION postgresql-client-$PG_MAJOR=$POSTGRESQL_VERSION libnss-wrapper=$NSS_WRAPPER_VERSION tzdata=$TZDATA_VERSION"

key_postgres_standin() { printf '%s\n' "$(rootfs_key "$PG_PKGS" images/postgres-standin)" "$(declare -f build_postgres_standin)" "$(tree_hash images/postgres-standin)" "$POSTGRES_STANDIN_TAG" | sha; }
build_postgres_standin() {
  local tar c
  tar="$(rootfs postgres "$PG_PKGS" images/postgres-standin)"
  c="$(from_rootfs "$tar")"
  containers+=("$c")
  "${BUILDAH[@]}" copy --quiet --chmod 0755 "$c" "$REPO/images/postgres-standin/docker-entrypoint.sh" /usr/local/bin/docker-entrypoint.sh
  "${BUILDAH[@]}" config --env "PATH=$PG_BIN:$DEFAULT_PATH" \
    --env LANG=C.UTF-8 --env PG_MAJOR="$PG_MAJOR" --env PGDATA=/var/lib/postgresql/data \
    --entrypoint '["docker-entrypoint.sh"]' --cmd '["postgres"]' --user 999:999 --port 5432/tcp \
    --stop-signal SIGINT --workingdir / "$c"
  packages_of "$tar" >"$OUT/postgres-standin.packages"
  finish "$c" postgres-standin "$POSTGRES_STANDIN_TAG"
}

REDIS_PKGS="redis-server=$REDIS_VERSION redis-tools=$REDIS_VERSION tzdata=$TZDATA_VERSION"
key_redis_standin() { printf '%s\n' "$(rootfs_key "$REDIS_PKGS" images/redis-standin)" "$(declare -f build_redis_standin)" "$(tree_hash images/redis-standin)" "$REDIS_STANDIN_TAG" | sha; }
build_redis_standin() {
  local tar c
  tar="$(rootfs redis "$REDIS_PKGS" images/redis-standin)"
  c="$(from_rootfs "$tar")"
  containers+=("$c")
  "${BUILDAH[@]}" copy --quiet --chmod 0755 "$c" "$REPO/images/redis-standin/docker-entrypoint.sh" /usr/local/bin/docker-entrypoint.sh
  "${BUILDAH[@]}" config --env "PATH=$DEFAULT_PATH" --env LANG=C.UTF-8 --entrypoint '["docker-entrypoint.sh"]' --cmd '["redis-server"]' \
    --user 999:999 --port 6379/tcp --workingdir /data "$c"
  packages_of "$tar" >"$OUT/redis-standin.packages"
  finish "$c" redis-standin "$REDIS_STANDIN_TAG"
}

# The Python base the application's Dockerfile builds FROM in CI (laptops use python:3.11-slim).
PY_PKGS="python3=$PYTHON3_VERSION python3-venv=$PYTHON3_VERSION ca-certificates=$CA_CERTIFICATES_VERSION tzdata=$TZDATA_VERSION"
PY_BASE_REF="stackport.local/python-base:$PYTHON_BASE_TAG"
python_base() {
  local tar key c
  tar="$(rootfs python "$PY_PKGS")"
  key="$(basename "$tar" .tar)"
  if [[ "$("${BUILDAH[@]}" inspect --type image --format '{{index .ImageAnnotations "stackport.rootfs"}}' "$PY_BASE_REF" 2>/dev/null || true)" != "$key" ]]; then
    c="$(from_rootfs "$tar")"
    containers+=("$c")
    "${BUILDAH[@]}" config --env "PATH=$DEFAULT_PATH" --env LANG=C.UTF-8 --cmd '["python3"]' --annotation "stackport.rootfs=$key" "$c"
    "${BUILDAH[@]}" commit --quiet --format oci --rm "$c" "$PY_BASE_REF" >/dev/null
  fi
  packages_of "$tar"
}

key_app() { printf '%s\n' "$(rootfs_key "$PY_PKGS" "")" "$(declare -f build_app)" "$(tree_hash examples/dataplatform-app)" "$DATAPLATFORM_APP_VERSION" "$1" | sha; }
build_app() { # target
  local target="$1" name="dataplatform-$1" ref
  ref="stackport.local/$name:$DATAPLATFORM_APP_VERSION"
  python_base >"$OUT/$name.packages"
  # Behind a TLS-intercepting proxy the host's trust store holds the proxy's CA: RUN steps (pip)
  # see the host's bundle through a bind mount that exists during the build only.
  local ca=() bundle=/etc/ssl/certs/ca-certificates.crt
  [[ ! -s "$bundle" ]] || ca=(--volume "$bundle:$bundle:ro")
  # The Dockerfile laptop users build, with the base image swapped for the local one.
  (cd "$APP_DIR" && "${BUILDAH[@]}" bud --quiet --layers --pull=never --format docker "${ca[@]}" \
    --build-arg "BASE=$PY_BASE_REF" --target "$target" -f Dockerfile -t "$ref" . >/dev/null)
  archive "$name" "$ref"
}
key_dataplatform_api() { key_app api; }
build_dataplatform_api() { build_app api; }
key_dataplatform_worker() { key_app worker; }
build_dataplatform_worker() { build_app worker; }
key_dataplatform_dashboard() { key_app dashboard; }
build_dataplatform_dashboard() { build_app dashboard; }

CONNECTIVITY_BIN="$CACHE_ROOT/bin/connectivity-v$CONNECTIVITY_VERSION/connectivity"
key_connectivity() { printf '%s\n' "$(declare -f build_connectivity)" "$(tree_hash images/connectivity)" "$(go env GOVERSION)" "$CONNECTIVITY_VERSION" | sha; }
build_connectivity() {
  local c
  mkdir -p "${CONNECTIVITY_BIN%/*}"
  # Static (no libc in a scratch image); the project's own module, standard library only.
  (cd "$REPO/images/connectivity" && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 10 \
    go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=$CONNECTIVITY_VERSION" -o "$CONNECTIVITY_BIN.partial" .)
  mv -f "$CONNECTIVITY_BIN.partial" "$CONNECTIVITY_BIN"
  c="$("${BUILDAH[@]}" from --quiet scratch)"
  containers+=("$c")
  "${BUILDAH[@]}" copy --quiet --chmod 0755 "$c" "$CONNECTIVITY_BIN" /connectivity
  "${BUILDAH[@]}" config --entrypoint '["/connectivity"]' --cmd '[]' --user 65532:65532 "$c"
  : >"$OUT/connectivity.packages"
  finish "$c" connectivity "$CONNECTIVITY_VERSION"
}

ref_of() {
  case "$1" in
    postgres-standin) echo "stackport.local/$1:$POSTGRES_STANDIN_TAG" ;;
    redis-standin) echo "stackport.local/$1:$REDIS_STANDIN_TAG" ;;
    dataplatform-*) echo "stackport.local/$1:$DATAPLATFORM_APP_VERSION" ;;
    connectivity) echo "stackport.local/$1:$CONNECTIVITY_VERSION" ;;
  esac
}

# ------------------------------------------------------------------ main
echo "images: $OUT (buildah $(buildah --version | awk '{print $3}'), storage $STORE)"
total_start=$SECONDS
key_of() { { "key_${1//-/_}"; echo "$DEFAULT_PATH"; declare -f from_rootfs finish archive; } | sha; }
todo=()
for name in "${images[@]}"; do
  if [[ $force -eq 0 && -s "$OUT/$name.tar" && "$(cat "$OUT/$name.key" 2>/dev/null)" == "$(key_of "$name")" ]]; then
    printf '%-24s cached          %s\n' "$name" "$OUT/$name.tar"
  else
    todo+=("$name")
  fi
done

# mmdebstrap spends its time waiting on the mirror and dpkg, not on CPU: make the root
# filesystems the images to build need side by side (each is cached, so later calls reuse them).
declare -A need_rootfs=()
for name in "${todo[@]}"; do
  case "$name" in
    postgres-standin) need_rootfs[postgres]="$PG_PKGS|images/postgres-standin" ;;
    redis-standin) need_rootfs[redis]="$REDIS_PKGS|images/redis-standin" ;;
    dataplatform-*) need_rootfs[python]="$PY_PKGS|" ;;
  esac
done
pids=()
for r in "${!need_rootfs[@]}"; do
  rootfs "$r" "${need_rootfs[$r]%|*}" "${need_rootfs[$r]#*|}" >/dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || { echo "images/build.sh: a root filesystem failed to build (see above)" >&2; exit 1; }; done

for name in "${todo[@]}"; do
  fn="${name//-/_}"
  key="$(key_of "$name")"
  start=$SECONDS
  rm -f "$OUT/$name.key"
  "build_$fn"
  echo "$key" >"$OUT/$name.key"
  printf '%-24s built in %4ds  %s (%s MB)\n' "$name" "$((SECONDS - start))" "$OUT/$name.tar" "$(du -m "$OUT/$name.tar" | cut -f1)"
done

# Images replaced by this build are untagged now: drop them (the layer cache of the current
# images is kept), so the storage does not grow with every change.
"${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true

# The manifest lists every image whose tarball is current, whether built now or earlier.
manifest="$OUT/.images.tsv.partial"
tmpfiles+=("$manifest")
printf '# name\treference\tarchive\timage-id\tbytes\n' >"$manifest"
for name in "${ALL_IMAGES[@]}"; do
  [[ -s "$OUT/$name.tar" && -s "$OUT/$name.key" ]] || continue
  id="$(tar -xOf "$OUT/$name.tar" manifest.json | sed -E 's/.*"Config":"([0-9a-f]{64})(\.json)?".*/\1/')"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$(ref_of "$name")" "$OUT/$name.tar" "sha256:$id" "$(stat -c %s "$OUT/$name.tar")" >>"$manifest"
done
mv -f "$manifest" "$OUT/images.tsv"
echo "total $((SECONDS - total_start))s; manifest $OUT/images.tsv"
