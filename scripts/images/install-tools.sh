#!/usr/bin/env bash
# Installs the image build tools from Debian 12, pinned by version (scripts/images/versions.env):
#   buildah      builds and commits images and writes docker-archive tarballs, without a daemon
#   mmdebstrap   makes Debian root filesystems from the Debian mirror
# Idempotent: when both report the pinned versions apt is not used. Needs root (or sudo).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
source "$SCRIPT_DIR/versions.env"

installed() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
if [[ "$(installed buildah)" == "$BUILDAH_VERSION" && "$(installed mmdebstrap)" == "$MMDEBSTRAP_VERSION" ]]; then
  echo "install-tools: buildah $BUILDAH_VERSION and mmdebstrap $MMDEBSTRAP_VERSION present, apt not used"
  exit 0
fi
if ! grep -qE '^VERSION_ID="?12"?' /etc/os-release 2>/dev/null; then
  echo "install-tools: the pinned buildah/mmdebstrap versions are Debian 12 (bookworm) packages; this is:" >&2
  grep -E '^PRETTY_NAME=' /etc/os-release >&2 || true
  exit 1
fi
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { echo "install-tools: need root (or sudo) to install buildah and mmdebstrap" >&2; exit 1; }
  SUDO=(sudo)
fi
pkgs=("buildah=$BUILDAH_VERSION" "mmdebstrap=$MMDEBSTRAP_VERSION")
echo "install-tools: installing ${pkgs[*]}"
if ! apt-cache policy buildah mmdebstrap 2>/dev/null | grep -q 'Candidate: [0-9]'; then "${SUDO[@]}" apt-get update -qq; fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null \
  || { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }
echo "install-tools: buildah $(installed buildah), mmdebstrap $(installed mmdebstrap)"
