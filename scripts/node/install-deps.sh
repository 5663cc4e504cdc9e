#!/usr/bin/env bash
# Install the Debian packages the test node needs, pinned (Debian 12 "bookworm"):
#   runc                         the OCI runtime containerd's runc shim calls (/usr/sbin/runc)
#   containernetworking-plugins  CNI bridge, host-local, portmap, loopback (/usr/lib/cni)
#   iptables, ipset, conntrack   used by kube-proxy (iptables mode) and kube-router's firewall
#   nftables                     only to probe the kernel (scripts/node/README.md: enforcer choice)
#   busybox-static               the one userland in the node's helper image (scripts/node/images.sh)
#   iproute2, util-linux, openssl, curl  namespaces, veth, unshare/nsenter, certificates, probes
# Idempotent: packages already at the pinned version are left alone.
set -euo pipefail
PKGS=(
  runc=1.1.5+ds1-1+deb12u1
  containernetworking-plugins=1.1.1+ds1-3+b5
  iptables=1.8.9-2
  ipset=7.17-1
  conntrack=1:1.4.7-1+b2
  nftables=1.0.6-2+deb12u2
  busybox-static=1:1.35.0-4+deb12u1+b1
)
missing=()
for p in "${PKGS[@]}"; do
  name="${p%%=*}" want="${p#*=}"
  have="$(dpkg-query -W -f '${Status} ${Version}' "$name" 2>/dev/null || true)"
  [[ "$have" == "install ok installed $want" ]] || missing+=("$p")
done
for tool in ip unshare nsenter openssl curl gcc; do
  command -v "$tool" >/dev/null || { echo "install-deps.sh: $tool not found (Debian: iproute2, util-linux, openssl, curl, gcc)" >&2; exit 1; }
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "node packages: all pinned versions installed"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "install-deps.sh: need root to install ${missing[*]}" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${missing[@]}"
}
echo "node packages installed: ${missing[*]}"
