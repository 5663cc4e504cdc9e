#!/usr/bin/env bash
# Start a real single-node Kubernetes cluster for runtime tests, entirely inside a network
# namespace this script creates (nothing on the host's interfaces, routes, firewall or sysctls
# changes) and with every daemon in a private mount namespace:
#
#   network  netns stackport-node-<id>: loopback, and a veth pair inside it whose end "eth0" holds
#            the node address 10.89.0.2/24 (this kernel has no dummy driver); pods on the CNI bridge
#            cni0 (10.244.0.0/24), Services 10.96.0.0/16, DNS 10.96.0.10
#   mounts   a holder process (unshare --mount --propagation slave) whose namespace every daemon
#            joins (nsenter -t HOLDER -m -n); /run, /var/lib and /var/log, which kubelet, containerd
#            and the CNI plugins write to at fixed paths, and the /proc/sys entries kubelet rewrites,
#            are bind-mounted there from the state folder
#   daemons  etcd, kube-apiserver, kube-controller-manager, kube-scheduler (as scripts/cluster/up.sh,
#            but on the node address), containerd + Debian runc + Debian CNI plugins, kubelet,
#            kube-proxy (iptables) and kube-router (NetworkPolicy firewall only) as host processes
#            with their own ServiceAccount tokens; CoreDNS and local-path-provisioner (classes
#            "standard" and "local-path") as restricted pods
#   images   every docker-archive in the node image folder (scripts/node/images.sh) and in the
#            application image folder (scripts/images/build.sh) imported into containerd
#
# Usage: scripts/node/up.sh [--state-dir DIR] [--owner-pid PID]
#
#   --state-dir  where everything goes (must be empty or absent; default mktemp -d under /tmp)
#   --owner-pid  tear the node down by itself once this process exits (default: the caller;
#                0 disables the watchdog)
#
# Needs root, `scripts/cluster/build.sh --all`, scripts/node/install-deps.sh and
# scripts/node/images.sh. On failure everything started is torn down (trap). On success the last
# lines on stdout are shell assignments:
#
#   export STACKPORT_NODE_STATE=/tmp/stackport-node.XXXXXX
#   export KUBECONFIG=/tmp/stackport-node.XXXXXX/admin.kubeconfig
#   export STACKPORT_KUBECTL=/tmp/stackport-node.XXXXXX/bin/kubectl   (kubectl run inside the netns)
#
# STATE/bin/node-exec runs a command in the node's network namespace (curl a Service, say), and
# STATE/node.json records addresses, pids and timings. Stop it with scripts/node/down.sh STATE.
#
# Environment: STACKPORT_NODE_TIMEOUT (seconds per readiness wait, default 120),
# STACKPORT_IMAGES_DIR (application images; default CACHE/images; "none" imports only the node's).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../cluster/versions.env
source "$SCRIPT_DIR/../cluster/versions.env"
usage() { sed -n '2,37s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

STATE=""
OWNER_PID="$PPID"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --state-dir) STATE="${2:?--state-dir needs a value}"; shift 2 ;;
    --state-dir=*) STATE="${1#*=}"; shift ;;
    --owner-pid) OWNER_PID="${2:?--owner-pid needs a value}"; shift 2 ;;
    --owner-pid=*) OWNER_PID="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "up.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$OWNER_PID" =~ ^[0-9]+$ ]] || { echo "up.sh: --owner-pid must be a number" >&2; exit 2; }
TIMEOUT="${STACKPORT_NODE_TIMEOUT:-120}"

# shellcheck source=../lib/daemons.sh
source "$SCRIPT_DIR/../lib/daemons.sh"

[[ $(id -u) -eq 0 ]] || die "needs root (network and mount namespaces, cgroups)"
for tool in ip nsenter unshare openssl curl iptables ipset /usr/sbin/runc /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback /usr/lib/cni/portmap; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/node/install-deps.sh"
done
CACHE_ROOT="${STACKPORT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackport}"
BIN="$("$SCRIPT_DIR/../cluster/build.sh" --print-dir)"
NODE_BIN="$("$SCRIPT_DIR/../cluster/build.sh" --print-node-dir)"
for c in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  [[ -x "$BIN/$c" ]] || die "$BIN/$c missing: run scripts/cluster/build.sh --all"
done
for c in kubelet kube-proxy containerd containerd-shim-runc-v2 ctr kube-router; do
  [[ -x "$NODE_BIN/$c" ]] || die "$NODE_BIN/$c missing: run scripts/cluster/build.sh --all"
done
NODE_IMAGES="$("$SCRIPT_DIR/images.sh" --print-dir)"
APP_IMAGES="${STACKPORT_IMAGES_DIR:-$CACHE_ROOT/images}"
for f in pause busybox coredns local-path-provisioner; do
  [[ -f "$NODE_IMAGES/$f.tar" ]] || die "$NODE_IMAGES/$f.tar missing: run scripts/node/images.sh"
done
KUBECTL="$BIN/kubectl"

NODE_NAME=stackport-node
NODE_IP=10.89.0.2
POD_CIDR=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
DNS_IP=10.96.0.10
API_URL="https://$NODE_IP:6443"
PAUSE_IMAGE=stackport.local/pause:1
HELPER_IMAGE=stackport.local/busybox:1.35.0

# ------------------------------------------------------------------ state, names, teardown trap
if [[ -z "$STATE" ]]; then
  STATE="$(mktemp -d /tmp/stackport-node.XXXXXX)"
else
  mkdir -p "$STATE"
  [[ -z "$(ls -A "$STATE")" ]] || die "--state-dir $STATE is not empty"
fi
STATE="$(cd "$STATE" && pwd)"
chmod 755 "$STATE"   # pods' hostPath volumes (local-path) live under it
# The id names the network namespace and cgroup root: a hash of the state folder's path, so two
# nodes never share them (a name-derived id let /tmp/a-node and /tmp/b-node collide, and the
# failing one's teardown then removed the other's namespace).
ID="$(printf '%s' "$STATE" | sha256sum | cut -c1-10)"
NETNS="stackport-node-$ID"
CGROUP_ROOT="/stackport-node-$ID"
# Checked before the teardown trap is armed: a namespace that exists belongs to someone else.
if ip netns list | awk '{print $1}' | grep -qx "$NETNS"; then die "network namespace $NETNS already exists (another node with this state folder?)"; fi
[[ ! -e "/sys/fs/cgroup/cpu/$CGROUP_ROOT" && ! -e "/sys/fs/cgroup/memory/$CGROUP_ROOT" ]] || die "cgroup $CGROUP_ROOT already exists (another node with this state folder?)"
mkdir -p "$STATE"/{pki,logs,pids,bin,etcd,kubelet,storage,cni/net.d,cni/ipam,containerd,plugins,root/run,root/var-lib,root/var-log,sysctl}
echo "$NETNS" >"$STATE/netns"
echo "$CGROUP_ROOT" >"$STATE/cgroup-root"

teardown_on_failure 12

# ------------------------------------------------------------------ network namespace
ip netns add "$NETNS"
in_netns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }
ip -n "$NETNS" link set lo up
ip -n "$NETNS" link add eth0 type veth peer name eth1
ip -n "$NETNS" addr add "$NODE_IP/24" dev eth0
ip -n "$NETNS" link set eth0 up
ip -n "$NETNS" link set eth1 up
# The node's default route exists only in its namespace and leads nowhere beyond it.
ip -n "$NETNS" route add default dev eth0
# These are the namespace's own settings (net.* sysctls are per network namespace).
in_netns sysctl -qw net.ipv4.ip_forward=1
in_netns sysctl -qw net.bridge.bridge-nf-call-iptables=1
log "network namespace $NETNS: node address $NODE_IP"

# ------------------------------------------------------------------ private mount namespace
setsid nsenter --net="/run/netns/$NETNS" -- unshare --mount --propagation slave -- \
  sleep infinity </dev/null >/dev/null 2>&1 &
HOLDER=$!
echo "$HOLDER" >"$STATE/pids/holder.pid"
echo holder >>"$STATE/pids/order"
for _ in $(seq 1 50); do
  [[ "$(readlink "/proc/$HOLDER/ns/mnt" 2>/dev/null)" != "$(readlink /proc/self/ns/mnt)" ]] && break
  sleep 0.1
done
[[ "$(readlink "/proc/$HOLDER/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]] || die "mount namespace holder did not start"
readlink "/proc/$HOLDER/ns/mnt" >"$STATE/mnt-ns"
in_node() { nsenter -t "$HOLDER" -m -n -- "$@"; }

# Fixed paths the daemons write to: fresh folders from the state dir, seen only in this namespace.
in_node mount --bind "$STATE/root/run" /run
in_node mount --bind "$STATE/root/var-lib" /var/lib
in_node mount --bind "$STATE/root/var-log" /var/log
# Kernel settings kubelet rewrites (kernel.panic, vm.overcommit_memory, ...): it writes to copies.
for key in kernel/panic kernel/panic_on_oops vm/overcommit_memory vm/panic_on_oom kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
  f="$STATE/sysctl/${key//\//.}"
  cat "/proc/sys/$key" >"$f"
  in_node mount --bind "$f" "/proc/sys/$key"
done

# kubelet's cgroup root, one folder per v1 hierarchy (cpuset needs its cpus and mems filled in).
for h in /sys/fs/cgroup/*/; do
  h="${h%/}"
  [[ -f "$h/cgroup.procs" ]] || continue
  mkdir -p "$h$CGROUP_ROOT"
  if [[ -f "$h/cpuset.cpus" ]]; then
    cat "$h/cpuset.cpus" >"$h$CGROUP_ROOT/cpuset.cpus"
    cat "$h/cpuset.mems" >"$h$CGROUP_ROOT/cpuset.mems"
  fi
done
log "mount namespace held by pid $HOLDER; cgroup root $CGROUP_ROOT"

# ------------------------------------------------------------------ certificates and kubeconfigs
PKI="$STATE/pki"
ca() {
  ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
}
# cert NAME SUBJECT EXTENSIONS [CA]
cert() {
  local signer="${4:-ca}"
  ssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "$2"
  ssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$signer.crt" -CAkey "$PKI/$signer.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 2 -out "$PKI/$1.crt" -extfile <(printf '%b\n' "$3")
  rm -f "$PKI/$1.csr"
}
CLIENT_EXT='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
SERVER_EXT='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth'
ca ca stackport-node-ca
ca front-proxy-ca stackport-node-front-proxy-ca
cert apiserver "/CN=kube-apiserver" \
  "$SERVER_EXT\nsubjectAltName=IP:$NODE_IP,IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert kubelet-serving "/CN=$NODE_NAME" "$SERVER_EXT\nsubjectAltName=IP:$NODE_IP,DNS:$NODE_NAME"
cert admin "/O=system:masters/CN=stackport-admin" "$CLIENT_EXT"
cert controller-manager "/CN=system:kube-controller-manager" "$CLIENT_EXT"
cert scheduler "/CN=system:kube-scheduler" "$CLIENT_EXT"
cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$CLIENT_EXT"
cert apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" "$CLIENT_EXT"
cert front-proxy-client "/CN=front-proxy-client" "$CLIENT_EXT" front-proxy-ca
ssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key"
ssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
chmod 600 "$PKI"/*.key

# kubeconfig NAME [TOKEN] -> STATE/NAME.kubeconfig (client certificate pki/NAME, or a bearer token)
kubeconfig() {
  local user
  if [[ -n "${2:-}" ]]; then
    user="    token: $2"
  else
    user="    client-certificate: $PKI/$1.crt
    client-key: $PKI/$1.key"
  fi
  cat >"$STATE/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: stackport-node
  cluster:
    server: $API_URL
    certificate-authority: $PKI/ca.crt
users:
- name: $1
  user:
$user
contexts:
- name: stackport-node
  context:
    cluster: stackport-node
    user: $1
current-context: stackport-node
EOF
  chmod 600 "$STATE/$1.kubeconfig"
}
for n in admin controller-manager scheduler kubelet; do kubeconfig "$n"; done

# Entry points for callers on the host: kubectl and any command, inside the node's netns.
cat >"$STATE/bin/kubectl" <<EOF
#!/bin/sh
# kubectl against the node's API server, which only listens inside its network namespace.
exec nsenter --net=/run/netns/$NETNS -- "$KUBECTL" --kubeconfig "\${KUBECONFIG:-$STATE/admin.kubeconfig}" --cache-dir "$STATE/kube-cache" "\$@"
EOF
cat >"$STATE/bin/node-exec" <<EOF
#!/bin/sh
# Run a command in the node's network namespace.
exec nsenter --net=/run/netns/$NETNS -- "\$@"
EOF
chmod 755 "$STATE/bin/kubectl" "$STATE/bin/node-exec"
k() { "$STATE/bin/kubectl" "$@"; }
log "certificates and kubeconfigs in $STATE"

# ------------------------------------------------------------------ process helpers
# Daemons start in the node's namespaces (start, alive and wait_until: scripts/lib/daemons.sh).
LAUNCH=(nsenter -t "$HOLDER" -m -n -- env PATH="$NODE_BIN:$BIN:/usr/sbin:/usr/bin:/sbin:/bin")
admin_curl() { in_netns curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }

# ------------------------------------------------------------------ control plane
start etcd "$BIN/etcd" \
  --name stackport-node \
  --data-dir "$STATE/etcd" \
  --unsafe-no-fsync \
  --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster stackport-node=http://127.0.0.1:2380 \
  --initial-cluster-state new \
  --log-level warn
wait_until etcd "etcd healthy" sh -c "nsenter --net=/run/netns/$NETNS -- curl -sf --max-time 2 http://127.0.0.1:2379/health | grep -q '\"health\":\"true\"'"

start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers http://127.0.0.1:2379 \
  --bind-address 0.0.0.0 \
  --advertise-address "$NODE_IP" \
  --secure-port 6443 \
  --tls-cert-file "$PKI/apiserver.crt" \
  --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$PKI/ca.crt" \
  --kubelet-preferred-address-types InternalIP \
  --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" \
  --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User \
  --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$PKI/front-proxy-client.crt" \
  --proxy-client-key-file "$PKI/front-proxy-client.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" \
  --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --authorization-mode Node,RBAC \
  --allow-privileged=true \
  --profiling=false \
  --v=1
wait_until kube-apiserver "$API_URL/readyz" admin_curl "$API_URL/readyz"

start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 \
  --leader-elect=false \
  --controllers '*' \
  --use-service-account-credentials=true \
  --root-ca-file "$PKI/ca.crt" \
  --service-account-private-key-file "$PKI/sa.key" \
  --cluster-signing-cert-file "$PKI/ca.crt" \
  --cluster-signing-key-file "$PKI/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --allocate-node-cidrs=true \
  --cluster-cidr "$CLUSTER_CIDR" \
  --node-cidr-mask-size 24 \
  --flex-volume-plugin-dir "$STATE/plugins" \
  --profiling=false \
  --v=1
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig "$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 \
  --leader-elect=false \
  --profiling=false \
  --v=1

# ------------------------------------------------------------------ containerd
CONTAINERD_SOCK="$STATE/containerd/containerd.sock"
# For callers on the host: ctr against this containerd, in the namespace the kubelet's images live in
# (what `kind load docker-image` runs inside a kind node).
cat >"$STATE/bin/ctr" <<EOF
#!/bin/sh
exec nsenter -t $HOLDER -m -n -- "$NODE_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io "\$@"
EOF
chmod 755 "$STATE/bin/ctr"
cat >"$STATE/containerd/config.toml" <<EOF
version = 4
root = "$STATE/containerd/root"
# Not the host's /etc/containerd/conf.d: this node's settings are all here.
imports = []
state = "$STATE/containerd/state"
# Not needed on a test node: /opt/containerd, NRI (a socket in /run/nri), tracing.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

# Version 4 configures the servers as plugins (a version-3 [grpc] table is silently ignored here).
[plugins."io.containerd.server.v1.grpc"]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.server.v1.ttrpc"]
  address = "$CONTAINERD_SOCK.ttrpc"

[plugins."io.containerd.cri.v1.images"]
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"

[plugins."io.containerd.cri.v1.runtime"]
  # Pods may bind ports below 1024 without NET_BIND_SERVICE (kind's and k3s's default), so CoreDNS
  # and restricted workloads keep all capabilities dropped.
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  # No CAP_SYS_RESOURCE on this host: never ask for a lower oom_score_adj than containerd's own.
  restrict_oom_score_adj = true
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  disable_hugetlb_controller = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$STATE/cni/net.d"
EOF
cat >"$STATE/cni/net.d/10-stackport.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "stackport",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
# Images: the node's own, then the application's (any docker-archive in the image folder).
images=("$NODE_IMAGES"/*.tar)
if [[ "$APP_IMAGES" != none && -d "$APP_IMAGES" ]]; then
  for f in "$APP_IMAGES"/*.tar; do [[ ! -f "$f" ]] || images+=("$f"); done
fi
ctr_() { in_node "$NODE_BIN/ctr" --address "$1" -n k8s.io "${@:2}"; }

# Importing 1.7 GB of archives costs a minute and 45 CPU-seconds on two cores, every bring-up. So it
# is done once per set of archives, into a seed root kept in the cache by a containerd of its own;
# each node then starts from a copy of that root. Layer contents and blobs are never written after
# import (overlayfs only reads lower layers, containers write to their own upper dirs), so they are
# hard-linked; everything else (the metadata databases containerd writes in place) is copied.
t_img="$EPOCHREALTIME"
# The key: containerd's version and each archive by content. scripts/node/images.sh rebuilds the
# node's small archives (byte for byte the same) whenever its sources are newer, which in a fresh
# clone is every run, so those are hashed; the large application archives are only rewritten by
# scripts/images/build.sh when their image changes, so their size and mtime stand for them.
archive_id() {
  local size; size="$(stat -L -c %s "$1")"
  if ((size < 64 * 1024 * 1024)); then echo "$(basename "$1") $size $(sha256sum <"$1" | cut -c1-64)"
  else echo "$(basename "$1") $size $(stat -L -c %Y "$1")"; fi
}
SEED_KEY="$( { echo "$CONTAINERD_VERSION"; for f in "${images[@]}"; do archive_id "$f"; done; } | sha256sum | cut -c1-16)"
SEEDS="$CACHE_ROOT/containerd-seed"
SEED="$SEEDS/$SEED_KEY"
if [[ ! -d "$SEED/root" ]]; then
  mkdir -p "$SEEDS"
  building="$(mktemp -d "$SEEDS/.build.XXXXXX")"
  mkdir -p "$building/root" "$STATE/containerd/seed-state"
  sed -e "s|^root = .*|root = \"$building/root\"|" -e "s|^state = .*|state = \"$STATE/containerd/seed-state\"|" \
      -e "s|$CONTAINERD_SOCK|$STATE/containerd/seed.sock|g" "$STATE/containerd/config.toml" >"$STATE/containerd/seed.toml"
  start containerd-seed "$NODE_BIN/containerd" --config "$STATE/containerd/seed.toml" --log-level warn
  wait_until containerd-seed "seed socket" ctr_ "$STATE/containerd/seed.sock" version
  for f in "${images[@]}"; do
    ctr_ "$STATE/containerd/seed.sock" images import "$f" >>"$STATE/logs/images.log" 2>&1 \
      || { rm -rf "$building"; die "importing $f into containerd failed (log: $STATE/logs/images.log)"; }
  done
  seed_pid="$(cat "$STATE/pids/containerd-seed.pid")"
  kill -TERM "$seed_pid"
  for _ in $(seq 1 100); do kill -0 "$seed_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$seed_pid" 2>/dev/null && { rm -rf "$building"; die "the seed containerd did not stop"; }
  rm -f "$STATE/pids/containerd-seed.pid"
  # Another bring-up may have finished the same seed meanwhile: keep the first, drop ours.
  mv -T "$building" "$SEED" 2>/dev/null || rm -rf "$building"
  for old in "$SEEDS"/*; do [[ "$old" == "$SEED" ]] || rm -rf "$old"; done
  log "seeded containerd with ${#images[@]} image archive(s) in $SEEDS ($(awk -v a="$t_img" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')s)"
fi
ROOT_DIR="$STATE/containerd/root"
# Hard links need the cache and the state folder on one file system; otherwise a full copy.
cp -al "$SEED/root/." "$ROOT_DIR/" 2>/dev/null || { rm -rf "$ROOT_DIR"; cp -a "$SEED/root" "$ROOT_DIR"; }
( cd "$SEED/root" && find . -type f -not -path './io.containerd.content.v1.content/blobs/*' -not -path './io.containerd.snapshotter.v1.overlayfs/snapshots/*' -print0 ) \
  | while IFS= read -r -d '' f; do cp -a --remove-destination "$SEED/root/$f" "$ROOT_DIR/$f"; done
start containerd "$NODE_BIN/containerd" --config "$STATE/containerd/config.toml" --log-level warn
wait_until containerd "CRI socket" ctr_ "$CONTAINERD_SOCK" version
IMAGES_SECONDS="$(awk -v a="$t_img" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
log "containerd has ${#images[@]} image archive(s) from seed $SEED_KEY in ${IMAGES_SECONDS}s"

# ------------------------------------------------------------------ kubelet
printf 'nameserver %s\nsearch cluster.local\noptions ndots:1\n' "$NODE_IP" >"$STATE/resolv.conf"
cat >"$STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This host has cgroup v1 (hybrid): kubelet 1.35 refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failSwapOn: false
# The default -999 needs CAP_SYS_RESOURCE, which this host does not grant.
oomScoreAdj: 0
protectKernelDefaults: false
resolvConf: $STATE/resolv.conf
podCIDR: $POD_CIDR
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
volumePluginDir: $STATE/plugins
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
# The host's disk is shared and the images were imported, not pulled: never evict or collect them.
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
EOF
start kubelet "$NODE_BIN/kubelet" \
  --config "$STATE/kubelet.yaml" \
  --kubeconfig "$STATE/kubelet.kubeconfig" \
  --root-dir "$STATE/kubelet" \
  --hostname-override "$NODE_NAME" \
  --node-ip "$NODE_IP" \
  --containerd "$CONTAINERD_SOCK" \
  --v=1
node_registered() { k get node "$NODE_NAME" >/dev/null; }
wait_until kubelet "node $NODE_NAME registered" node_registered

# ------------------------------------------------------------------ node agents (own identities)
k apply --server-side --field-manager=stackport-node -f "$SCRIPT_DIR/manifests/agents-rbac.yaml" >/dev/null
for sa in kube-proxy kube-router; do
  token="$(k -n kube-system create token "$sa" --duration 48h)"
  kubeconfig "$sa" "$token"
done
cat >"$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_CIDR
# Zero: leave the kernel's conntrack table size and timeouts as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOF
start kube-proxy "$NODE_BIN/kube-proxy" --config "$STATE/kube-proxy.yaml" --v=1
start kube-router "$NODE_BIN/kube-router" \
  --kubeconfig "$STATE/kube-router.kubeconfig" \
  --hostname-override "$NODE_NAME" \
  --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --metrics-port 0 \
  --health-port 20244 \
  --v=1

node_ready() {
  [[ "$(k get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.spec.taints}')" == True/ ]]
}
wait_until kubelet "node Ready and untainted" node_ready
NODE_READY="$(elapsed)"
wait_until kube-proxy "healthz" in_netns curl -sf --max-time 2 http://127.0.0.1:10256/healthz
wait_until kube-router "healthz" in_netns curl -sf --max-time 2 http://127.0.0.1:20244/healthz

# ------------------------------------------------------------------ add-ons as pods
subst() {
  sed -e "s|@COREDNS_IMAGE@|stackport.local/coredns:$COREDNS_VERSION|g" \
      -e "s|@LPP_IMAGE@|stackport.local/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION|g" \
      -e "s|@HELPER_IMAGE@|$HELPER_IMAGE|g" \
      -e "s|@DNS_IP@|$DNS_IP|g" \
      -e "s|@STORAGE_DIR@|$STATE/storage|g" "$1"
}
t_addons="$EPOCHREALTIME"
{ subst "$SCRIPT_DIR/manifests/coredns.yaml"; echo '---'; subst "$SCRIPT_DIR/manifests/local-path-storage.yaml"; } \
  | k apply --server-side --field-manager=stackport-node -f - >/dev/null
addons_ready() {
  k -n kube-system rollout status deployment/coredns --timeout 1s &&
    k -n local-path-storage rollout status deployment/local-path-provisioner --timeout 1s
}
wait_until kubelet "CoreDNS and local-path-provisioner Ready" addons_ready
ADDONS_READY="$(awk -v a="$t_addons" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
wait_until kube-controller-manager "ServiceAccount default/default" k -n default get serviceaccount default

# ------------------------------------------------------------------ watchdog, summary
start_watchdog stackport-node-watchdog

TOTAL="$(elapsed)"
cat >"$STATE/node.json.tmp" <<EOF
{
  "stateDir": "$STATE",
  "netns": "$NETNS",
  "cgroupRoot": "$CGROUP_ROOT",
  "kubeconfig": "$STATE/admin.kubeconfig",
  "kubectl": "$STATE/bin/kubectl",
  "nodeExec": "$STATE/bin/node-exec",
  "server": "$API_URL",
  "node": {"name": "$NODE_NAME", "ip": "$NODE_IP", "podCIDR": "$POD_CIDR"},
  "serviceCIDR": "$SERVICE_CIDR",
  "dnsIP": "$DNS_IP",
  "storageClasses": ["standard", "local-path"],
  "images": {"pause": "$PAUSE_IMAGE", "helper": "$HELPER_IMAGE", "archives": ${#images[@]}},
  "holderPid": $HOLDER,
  "ownerPid": $OWNER_PID,
  "watchdogPid": $WATCHDOG_PID,
  "timings": {"etcd": ${READY_AFTER[etcd]}, "kubeApiserver": ${READY_AFTER[kube-apiserver]}, "imageImport": $IMAGES_SECONDS, "nodeReady": $NODE_READY, "addonsReady": $ADDONS_READY, "total": $TOTAL}
}
EOF
mv "$STATE/node.json.tmp" "$STATE/node.json"
ok=1
log "node $NODE_NAME ($NODE_IP in netns $NETNS) ready in ${TOTAL}s"
echo "export STACKPORT_NODE_STATE=$STATE"
echo "export KUBECONFIG=$STATE/admin.kubeconfig"
echo "export STACKPORT_KUBECTL=$STATE/bin/kubectl"
