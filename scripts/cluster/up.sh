#!/usr/bin/env bash
# Start a throw-away Kubernetes control plane on 127.0.0.1 from the pinned binaries that
# scripts/cluster/build.sh builds (no container engine, no network beyond loopback):
#
#   etcd                     data dir on tmpfs (/dev/shm), --unsafe-no-fsync
#   kube-apiserver           own CA + serving cert, client-cert auth, service-account keys,
#                            Node,RBAC authorization, default admission plugins (PodSecurity,
#                            ServiceAccount, DefaultStorageClass, ...)
#   kube-controller-manager  --controllers=* (ServiceAccounts, ReplicaSets, Jobs, CronJobs, PV
#                            binding, EndpointSlices, HPA, GC, ...), one credential per controller
#   kube-scheduler
#   kwok                     stands in for the kubelets of fake Nodes (and for a volume
#                            provisioner): nodes, pods and volumes go through kwok's "fast" stages
#
# plus fake Nodes sized like the target environment, and StorageClasses served by kwok.
#
# Usage: scripts/cluster/up.sh [--env kind|k3d|prod] [--state-dir DIR] [--owner-pid PID]
#
#   --env        node layout and storage classes to imitate (default kind):
#                  kind, k3d  one node, 4 CPU / 8Gi / 110 pods; StorageClass "standard" (kind)
#                             or "local-path" (k3d) next to the default "kwok-volume"
#                  prod       three nodes, 8 CPU / 32Gi / 110 pods, zones zone-a, zone-b, zone-c
#   --state-dir  where certificates, kubeconfigs, logs and pid files go (must be empty or
#                absent; default: a new mktemp -d under ${TMPDIR:-/tmp})
#   --owner-pid  tear the cluster down by itself once this process exits (default: the
#                process that started up.sh; 0 disables the watchdog)
#
# Ports are picked free on 127.0.0.1 at start, and every path is unique, so several clusters can
# run side by side and the script can run again right away. On failure everything started so far
# is torn down (trap). On success the last lines on stdout are shell assignments:
#
#   export STACKPORT_CLUSTER_STATE=/tmp/stackport-cluster.XXXXXX
#   export KUBECONFIG=/tmp/stackport-cluster.XXXXXX/admin.kubeconfig
#   export KUBECACHEDIR=/tmp/stackport-cluster.XXXXXX/kube-cache   (kubectl's discovery cache)
#
# and STATE/cluster.json describes the cluster (ports, pids, nodes, timings). Stop it with
# scripts/cluster/down.sh STATE. scripts/cluster/run.sh does up, a command, and down.
#
# Environment: STACKPORT_CLUSTER_TIMEOUT (seconds per readiness wait, default 90),
# STACKPORT_KWOK_DIR (kwok module directory holding kustomize/stage; default from the Go
# module cache).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/versions.env
source "$SCRIPT_DIR/versions.env"

usage() { sed -n '2,41s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

ENV_NAME=kind
STATE=""
OWNER_PID="$PPID"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) ENV_NAME="${2:?--env needs a value}"; shift 2 ;;
    --env=*) ENV_NAME="${1#*=}"; shift ;;
    --state-dir) STATE="${2:?--state-dir needs a value}"; shift 2 ;;
    --state-dir=*) STATE="${1#*=}"; shift ;;
    --owner-pid) OWNER_PID="${2:?--owner-pid needs a value}"; shift 2 ;;
    --owner-pid=*) OWNER_PID="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "up.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$ENV_NAME" in kind|k3d|prod) ;; *) echo "up.sh: --env must be kind, k3d or prod" >&2; exit 2 ;; esac
[[ "$OWNER_PID" =~ ^[0-9]+$ ]] || { echo "up.sh: --owner-pid must be a number" >&2; exit 2; }
TIMEOUT="${STACKPORT_CLUSTER_TIMEOUT:-90}"

# shellcheck source=../lib/daemons.sh
source "$SCRIPT_DIR/../lib/daemons.sh"

for tool in openssl curl awk sed; do
  command -v "$tool" >/dev/null || die "$tool not found in PATH"
done

BIN="$("$SCRIPT_DIR/build.sh" --print-dir)"
for c in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [[ -x "$BIN/$c" ]] || die "$BIN/$c missing: run scripts/cluster/build.sh first"
done
KUBECTL="$BIN/kubectl"

# kwok stage files ship in the kwok module (resolved first: fail before starting anything).
KWOK_DIR="${STACKPORT_KWOK_DIR:-}"
if [[ -z "$KWOK_DIR" ]]; then
  if command -v go >/dev/null; then
    KWOK_DIR="$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION"
    [[ -d "$KWOK_DIR/kustomize/stage" ]] || KWOK_DIR="$(cd "${TMPDIR:-/tmp}" && GOTOOLCHAIN=local GOFLAGS='' \
      go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
  fi
fi
[[ -d "$KWOK_DIR/kustomize/stage" ]] || die "kwok stages not found (set STACKPORT_KWOK_DIR to the sigs.k8s.io/kwok@v$KWOK_VERSION module directory)"
STAGE="$KWOK_DIR/kustomize/stage"

# ------------------------------------------------------------------ state directory
if [[ -z "$STATE" ]]; then
  STATE="$(mktemp -d "${TMPDIR:-/tmp}/stackport-cluster.XXXXXX")"
else
  mkdir -p "$STATE"
  [[ -z "$(ls -A "$STATE")" ]] || die "--state-dir $STATE is not empty"
fi
STATE="$(cd "$STATE" && pwd)"
mkdir -p "$STATE/pki" "$STATE/logs" "$STATE/pids"
# etcd's data on tmpfs; the name is recorded so down.sh can remove it.
SHM=/dev/shm
[[ -d "$SHM" && -w "$SHM" ]] || SHM="$STATE"
ETCD_DATA="$(mktemp -d "$SHM/stackport-etcd.XXXXXX")"
echo "$ETCD_DATA" >"$STATE/etcd-data-dir"

teardown_on_failure 15

# ------------------------------------------------------------------ free loopback ports
declare -A TAKEN=()
# free_port VAR: a port nothing listens on, distinct from the ones picked before (no subshell, so
# TAKEN persists and a failure stops the script).
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))   # below the usual ephemeral range (32768-60999)
    [[ -z "${TAKEN[$p]:-}" ]] || continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      TAKEN[$p]=1
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free port found on 127.0.0.1"
}
for v in ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT KWOK_PORT; do free_port "$v"; done
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
POD_CIDR=10.244.0.0/16
API_URL="https://127.0.0.1:$API_PORT"

# ------------------------------------------------------------------ certificates and keys
PKI="$STATE/pki"
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=stackport-local-cluster-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
# cert NAME SUBJECT EXTENSIONS
cert() {
  ssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "$2"
  ssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 2 -out "$PKI/$1.crt" -extfile <(printf '%b\n' "$3")
  rm -f "$PKI/$1.csr"
}
CLIENT_EXT='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
cert apiserver "/CN=kube-apiserver" \
  "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=stackport-admin" "$CLIENT_EXT"
cert controller-manager "/CN=system:kube-controller-manager" "$CLIENT_EXT"
cert scheduler "/CN=system:kube-scheduler" "$CLIENT_EXT"
# Front proxy (aggregation layer) CA and client: makes the apiserver publish a request-header CA
# in kube-system/extension-apiserver-authentication, which the controller manager and scheduler
# read when they authenticate requests to their own ports.
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$PKI/front-proxy-ca.key" -out "$PKI/front-proxy-ca.crt" -subj "/CN=stackport-front-proxy-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
ssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$PKI/front-proxy-client.key" -out "$PKI/front-proxy-client.csr" -subj "/CN=front-proxy-client"
ssl x509 -req -in "$PKI/front-proxy-client.csr" -CA "$PKI/front-proxy-ca.crt" -CAkey "$PKI/front-proxy-ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -days 2 -out "$PKI/front-proxy-client.crt" -extfile <(printf '%b\n' "$CLIENT_EXT")
rm -f "$PKI/front-proxy-client.csr"
ssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key"
ssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
chmod 600 "$PKI"/*.key

# kubeconfig NAME -> STATE/NAME.kubeconfig using pki/NAME.{crt,key}
kubeconfig() {
  cat >"$STATE/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: stackport-local
  cluster:
    server: $API_URL
    certificate-authority: $PKI/ca.crt
users:
- name: $1
  user:
    client-certificate: $PKI/$1.crt
    client-key: $PKI/$1.key
contexts:
- name: stackport-local
  context:
    cluster: stackport-local
    user: $1
current-context: stackport-local
EOF
  chmod 600 "$STATE/$1.kubeconfig"
}
kubeconfig admin
kubeconfig controller-manager
kubeconfig scheduler
log "certificates and kubeconfigs in $STATE"

# ------------------------------------------------------------------ process helpers
# start, alive and wait_until: scripts/lib/daemons.sh (daemons run in this namespace).
admin_curl() { curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }
k() { "$KUBECTL" --kubeconfig "$STATE/admin.kubeconfig" --cache-dir "$STATE/kube-cache" "$@"; }

# ------------------------------------------------------------------ etcd
start etcd "$BIN/etcd" \
  --name stackport \
  --data-dir "$ETCD_DATA" \
  --unsafe-no-fsync \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "stackport=http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster-state new \
  --log-level warn
wait_until etcd "http://127.0.0.1:$ETCD_PORT/health" \
  sh -c "curl -sf --max-time 2 http://127.0.0.1:$ETCD_PORT/health | grep -q '\"health\":\"true\"'"

# ------------------------------------------------------------------ kube-apiserver
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 \
  --advertise-address 127.0.0.1 \
  --secure-port "$API_PORT" \
  --tls-cert-file "$PKI/apiserver.crt" \
  --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
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
  --endpoint-reconciler-type none \
  --profiling=false \
  --v=1
wait_until kube-apiserver "$API_URL/readyz" admin_curl "$API_URL/readyz"

# ------------------------------------------------------------------ controller manager, scheduler
start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 \
  --secure-port "$KCM_PORT" \
  --leader-elect=false \
  --controllers '*' \
  --use-service-account-credentials=true \
  --root-ca-file "$PKI/ca.crt" \
  --service-account-private-key-file "$PKI/sa.key" \
  --cluster-signing-cert-file "$PKI/ca.crt" \
  --cluster-signing-key-file "$PKI/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --flex-volume-plugin-dir "$STATE/flex-volume" \
  --profiling=false \
  --v=1
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig "$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 \
  --secure-port "$SCHED_PORT" \
  --leader-elect=false \
  --profiling=false \
  --v=1
wait_until kube-controller-manager "https://127.0.0.1:$KCM_PORT/healthz" \
  curl -sf --max-time 2 -k "https://127.0.0.1:$KCM_PORT/healthz"
wait_until kube-scheduler "https://127.0.0.1:$SCHED_PORT/healthz" \
  curl -sf --max-time 2 -k "https://127.0.0.1:$SCHED_PORT/healthz"

# ------------------------------------------------------------------ kwok stages, storage classes, nodes

# Storage classes the environment's manifests name; kwok's volume stages only serve classes in
# this list (upstream matches 'kwok-volume' only).
case "$ENV_NAME" in
  kind) EXTRA_CLASSES=(standard) ;;
  k3d) EXTRA_CLASSES=(local-path) ;;
  prod) EXTRA_CLASSES=() ;;
esac
classes="'kwok-volume'"
for c in "${EXTRA_CLASSES[@]}"; do classes+=", '$c'"; done
{
  first=1
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
           volume/fast/pvc-provision.yaml volume/fast/pv-bind.yaml volume/fast/pvc-delete.yaml volume/fast/pv-delete.yaml; do
    [[ -f "$STAGE/$f" ]] || die "missing kwok stage $STAGE/$f"
    [[ $first -eq 1 ]] || echo '---'
    first=0
    sed "s/self\.spec\.storageClassName == 'kwok-volume'/self.spec.storageClassName in [$classes]/" "$STAGE/$f"
  done
} >"$STATE/kwok-stages.yaml"

{
  cat "$STAGE/volume/fast/storage-class.yaml"
  for c in "${EXTRA_CLASSES[@]}"; do
    cat <<EOF
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $c
provisioner: kwok.x-k8s.io/volume
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
  done
} >"$STATE/storage-classes.yaml"

# node_yaml NAME CPU MEMORY IP [ZONE]   (the IP is only reported in the Node's status; nothing binds it)
node_yaml() {
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $1
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: $1
    kubernetes.io/os: linux
    node.kubernetes.io/instance-type: kwok-$2cpu-$3
    type: kwok
EOF
  if [[ -n "${5:-}" ]]; then
    echo "    topology.kubernetes.io/region: local"
    echo "    topology.kubernetes.io/zone: $5"
  fi
  cat <<EOF
spec: {}
status:
  addresses: [{type: InternalIP, address: "$4"}, {type: Hostname, address: "$1"}]
  allocatable: {cpu: "$2", memory: $3, pods: "110", ephemeral-storage: 100Gi}
  capacity: {cpu: "$2", memory: $3, pods: "110", ephemeral-storage: 100Gi}
EOF
}
NODES=()
{
  case "$ENV_NAME" in
    kind|k3d) NODES=("$ENV_NAME-worker"); node_yaml "$ENV_NAME-worker" 4 8Gi 10.89.0.1 ;;
    prod) NODES=(prod-zone-a prod-zone-b prod-zone-c)
          i=0
          for z in a b c; do i=$((i + 1)); node_yaml "prod-zone-$z" 8 32Gi "10.89.0.$i" "zone-$z"; done ;;
  esac
} >"$STATE/nodes.yaml"

STARTED_AT[kwok]="$EPOCHREALTIME"
k apply --server-side --field-manager=stackport-cluster -f "$STATE/storage-classes.yaml" >/dev/null
k apply --server-side --field-manager=stackport-cluster -f "$STATE/nodes.yaml" >/dev/null

start kwok "$BIN/kwok" \
  --kubeconfig "$STATE/admin.kubeconfig" \
  --config "$STATE/kwok-stages.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --cidr "$POD_CIDR" \
  --node-ip 10.89.0.1 \
  --node-lease-duration-seconds 40 \
  --server-address "127.0.0.1:$KWOK_PORT"
STARTED_AT[kwok]="$EPOCHREALTIME"

# Ready, and the node lifecycle controller has lifted the not-ready taint.
nodes_ready() {
  local n
  for n in "${NODES[@]}"; do
    [[ "$(k get node "$n" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.spec.taints}')" == True/ ]] || return 1
  done
}
wait_until kwok "${#NODES[@]} node(s) Ready and untainted" nodes_ready
# The ServiceAccount controller creates "default" in every namespace; pods need it (admission).
wait_until kube-controller-manager "ServiceAccount default/default" k -n default get serviceaccount default

# ------------------------------------------------------------------ done
start_watchdog stackport-cluster-watchdog

TOTAL="$(elapsed)"
json_nodes="$(printf '"%s",' "${NODES[@]}")"
json_classes='"kwok-volume"'
for c in "${EXTRA_CLASSES[@]}"; do json_classes+=", \"$c\""; done
cat >"$STATE/cluster.json.tmp" <<EOF
{
  "env": "$ENV_NAME",
  "stateDir": "$STATE",
  "kubeconfig": "$STATE/admin.kubeconfig",
  "server": "$API_URL",
  "bin": "$BIN",
  "etcdDataDir": "$ETCD_DATA",
  "ports": {"etcd": $ETCD_PORT, "etcdPeer": $ETCD_PEER_PORT, "apiserver": $API_PORT, "controllerManager": $KCM_PORT, "scheduler": $SCHED_PORT, "kwok": $KWOK_PORT},
  "nodes": [${json_nodes%,}],
  "storageClasses": [$json_classes],
  "ownerPid": $OWNER_PID,
  "watchdogPid": $WATCHDOG_PID,
  "timings": {"etcd": ${READY_AFTER[etcd]}, "kubeApiserver": ${READY_AFTER[kube-apiserver]}, "kubeControllerManager": ${READY_AFTER[kube-controller-manager]}, "kubeScheduler": ${READY_AFTER[kube-scheduler]}, "kwokNodesReady": ${READY_AFTER[kwok]}, "total": $TOTAL}
}
EOF
mv "$STATE/cluster.json.tmp" "$STATE/cluster.json"
ok=1
log "control plane ($ENV_NAME, ${#NODES[@]} node(s)) ready in ${TOTAL}s at $API_URL"
echo "export STACKPORT_CLUSTER_STATE=$STATE"
echo "export KUBECONFIG=$STATE/admin.kubeconfig"
echo "export KUBECACHEDIR=$STATE/kube-cache"
