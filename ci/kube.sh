#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, for the `kube` test suite and for developers:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a kubelet node (containerd, runc,
# a CNI bridge) and kube-proxy, plus CoreDNS, Traefik (the ingress controller) and a registry, all
# as host processes on 127.0.0.1. The Kubernetes binaries and the add-ons come from
# ci/kube/build.sh (built from the official Go modules, cached outside the clone); the rest are
# Debian packages. Nothing can be pulled from the internet here, and nothing leaves the machine:
# pods sit on a bridge with no masquerading.
#
#   ci/kube.sh up       start whatever is not running, wait until it answers, print timings
#   ci/kube.sh env      print the `export` lines the tests (and you) need
#   ci/kube.sh status   what runs, with pids and memory
#   ci/kube.sh down     drain the node, stop everything, undo every change to the machine
#   ci/kube.sh down --purge   also forget the PKI, registry storage and containerd's images
#
# Settings (environment): TODO_KUBE_DIR (state, default /var/lib/todo-kube),
# TODO_KUBE_INGRESS_PORT (default 18080), KUBE_CACHE (see ci/kube/build.sh).
# Needs root (a kubelet, iptables and network namespaces). `up` appends `bash ci/kube.sh down`
# to $CI_CLEANUP_FILE when that is set (see .ci/run).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${TODO_KUBE_DIR:-/var/lib/todo-kube}"
run=/run/todo-kube          # pid files and sockets: gone after a reboot, like the processes
logs="$state/log"
pki="$state/pki"

# One node, one /24 of pod addresses on one bridge. The bridge's own address (the gateway) is
# where pods find the host: CoreDNS, the apiserver relay and PostgreSQL answer there.
bridge=todokube0
pod_cidr=10.244.0.0/24
gateway=10.244.0.1
service_cidr=10.96.0.0/16
api_service_ip=10.96.0.1   # first address of service_cidr: the `kubernetes` Service
dns_service_ip=10.96.0.10
cluster_domain=cluster.local

etcd_port=12379             # not etcd's 2379: a developer may run one already
etcd_peer_port=12380
api_port=6443
registry=127.0.0.1:5000
ingress_port="${TODO_KUBE_INGRESS_PORT:-18080}"
traefik_admin_port=18082    # Traefik's ping (readiness)
coredns_health_port=18081
coredns_ready_port=18181
context=todo-ci
storage_class=standard      # the name minikube uses for its default class
ingress_class=traefik

containerd_sock="$run/containerd/containerd.sock"
kubeconfig="$state/admin.kubeconfig"
pause_image=localhost/todo-kube/pause:3.10
pg_version=15
pg_cluster=main

# Kernel settings the kubelet (setupKernelTunables), kube-proxy and the CNI bridge may change:
# saved before the first start, written back by `down`.
saved_sysctls=(
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes
  net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv4.conf.all.route_localnet
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait net.netfilter.nf_conntrack_tcp_be_liberal
)
# Directories the node creates outside $state when they are missing: removed by `down` only
# if they did not exist before `up`.
created_paths=(/run/netns /var/log/containers /var/log/pods /tmp/hostpath_pv /var/lib/cni /etc/cni)

say() { echo "kube: $*" >&2; }
die() { echo "kube: error: $*" >&2; exit 1; }
t0=$SECONDS
elapsed() { echo "$((SECONDS - t0))s"; }

# ---------------------------------------------------------------------------------------------
# Processes. Each daemon runs detached (setsid: a Ctrl-C in the caller's terminal must not take
# the cluster down), with all output in $logs/NAME.log, never the caller's stdout (an inherited
# pipe would keep CI's job from ending), and its pid in $run/NAME.pid.

pid_of() { # NAME -> pid if that process still runs the binary it was started with
  local f="$run/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid=$(<"$f")
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  # Guard against a recycled pid: the command line must still name the binary.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(<"$run/$1.bin")" || return 1
  echo "$pid"
}

start() { # NAME BINARY ARGS... (BINARY's path is what pid_of checks)
  local name=$1
  shift
  if pid_of "$name" >/dev/null; then return 0; fi
  mkdir -p "$run" "$logs"
  echo "$1" >"$run/$name.bin"
  echo "--- $(date -Is) $*" >>"$logs/$name.log"
  setsid "$@" >>"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
}

running() { # PID: alive and not a zombie (the daemons' parent, the `up` that started them, is
  # gone, and whoever reaps orphans here may take a while to do it)
  local st
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$st" && "$st" != Z ]]
}

stop() { # NAME [SECONDS]: TERM, then KILL after SECONDS (default 10)
  local name=$1 grace=${2:-10} pid since=$SECONDS
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 10))); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then
      say "$name did not stop within ${grace}s of SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $name ($((SECONDS - since))s)"
  fi
  rm -f "$run/$name.pid" "$run/$name.bin"
}

wait_for() { # WHAT SECONDS COMMAND...: retry COMMAND until it succeeds
  local what=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit)) daemon=${what%% *}
  until "$@" >/dev/null 2>&1; do
    # A daemon that exited will not become ready: say why now, not after the timeout.
    if [[ -f "$run/$daemon.bin" ]] && ! pid_of "$daemon" >/dev/null; then
      tail -n 15 "$logs/$daemon.log" >&2 || true
      die "$daemon exited (log: $logs/$daemon.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 15 "$logs/$daemon.log" >&2 2>/dev/null || true
      die "$what not ready after ${limit}s (logs: $logs)"
    fi
    sleep 0.2
  done
}

ready() { # NAME STARTED_AT
  printf 'kube: %-26s ready after %3ss (at %ss)\n' "$1" "$((SECONDS - $2))" "$((SECONDS - t0))" >&2
}

# ---------------------------------------------------------------------------------------------
# Binaries

find_bins() {
  local bin="${KUBE_CACHE:-/var/cache/todo-cloud/kube}/bin" name missing=()
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy pause coredns traefik; do
    case $name in etcd) continue ;; esac
    [[ -x "$bin/$name" ]] || missing+=("$name")
  done
  if ((${#missing[@]})); then
    say "building ${missing[*]} with ci/kube/build.sh (the first build takes about 20 minutes on 2 cores)"
    bin=$(bash "$repo/ci/kube/build.sh" | tail -n1)
  fi
  kbin=$bin
  local tool
  for tool in containerd containerd-shim-runc-v2 runc ctr etcd docker-registry iptables conntrack socat openssl; do
    command -v "$tool" >/dev/null || need_apt=1
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || need_apt=1
  if [[ -n "${need_apt:-}" ]]; then
    say "installing the node's Debian packages"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      containerd runc containernetworking-plugins iptables conntrack etcd-server docker-registry socat openssl; } \
      >>"$logs/apt.log" 2>&1 || die "apt-get failed; see $logs/apt.log"
  fi
  kubectl=$(find_kubectl)
}

find_kubectl() {
  # The kubectl CI installs (ci/helm.sh), never Debian's 1.20 one in /usr/bin.
  local k="$repo/target/ci/bin/kubectl"
  if [[ ! -x "$k" ]]; then
    say "installing kubectl with ci/helm.sh"
    bash "$repo/ci/helm.sh" >&2 || die "ci/helm.sh failed"
  fi
  echo "$k"
}

kc() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

# ---------------------------------------------------------------------------------------------
# PKI: one CA signs every serving and client certificate. Kept across `down`/`up` (only
# `down --purge` forgets it), so a kubeconfig copied elsewhere keeps working.

cert() { # NAME SUBJECT [SANS]: a key and a CA-signed certificate, client and server usage
  local name=$1 subj=$2 sans=${3:-}
  [[ -s "$pki/$name.crt" ]] && return 0
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints = CA:FALSE"
    echo "keyUsage = critical, digitalSignature, keyEncipherment"
    echo "extendedKeyUsage = serverAuth, clientAuth"
    [[ -n "$sans" ]] && echo "subjectAltName = $sans"
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}

make_pki() {
  mkdir -p "$pki"
  chmod 700 "$pki"
  if [[ ! -s "$pki/ca.crt" ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" \
      -days 3650 -sha256 -subj "/CN=todo-kube-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  fi
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$api_service_ip,IP:$gateway,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$cluster_domain"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert admin "/O=system:masters/CN=todo-ci-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kubelet "/O=system:nodes/CN=system:node:localhost"
  cert kubelet-serving "/CN=localhost" "DNS:localhost,IP:127.0.0.1,IP:::1,IP:$gateway"
  cert kube-proxy "/CN=system:kube-proxy"
  cert coredns "/CN=todo-kube:coredns"
  cert traefik "/CN=todo-kube:traefik"
  if [[ ! -s "$pki/sa.key" ]]; then
    openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  fi
  local who
  for who in admin controller-manager scheduler kubelet kube-proxy coredns traefik; do
    write_kubeconfig "$who" "$state/$who.kubeconfig"
  done
}

write_kubeconfig() { # CERT FILE: one cluster, one user, one context named $context
  local who=$1 file=$2
  [[ -s "$file" ]] && return 0
  (
    umask 077
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $context
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: $context-$who
  user:
    client-certificate-data: $(base64 -w0 <"$pki/$who.crt")
    client-key-data: $(base64 -w0 <"$pki/$who.key")
contexts:
- name: $context
  context:
    cluster: $context
    user: $context-$who
current-context: $context
EOF
  )
}

# ---------------------------------------------------------------------------------------------
# The machine: what `down` must put back is recorded before anything changes it.

save_machine_state() {
  [[ -f "$state/machine/sysctl" ]] && return 0 # recorded by the first `up`; kept until `down`
  mkdir -p "$state/machine"
  local key p
  for key in "${saved_sysctls[@]}"; do
    [[ -e "/proc/sys/${key//.//}" ]] && echo "$key=$(sysctl -n "$key")"
  done >"$state/machine/sysctl.partial"
  for p in "${created_paths[@]}"; do
    [[ -e "$p" ]] && echo "$p"
  done >"$state/machine/existing-paths"
  nft list tables 2>/dev/null >"$state/machine/nft-tables" || true
  mv "$state/machine/sysctl.partial" "$state/machine/sysctl"
}

setup_bridge() {
  # Created before the CNI plugin first runs (it adopts an existing bridge), so that CoreDNS,
  # the apiserver relay and PostgreSQL can listen on the gateway before any pod exists.
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
  fi
  ip addr show dev "$bridge" | grep -q "inet $gateway/" || ip addr add "$gateway/24" dev "$bridge"
  ip link set "$bridge" up
  # Pods reach services through the host's iptables: bridged traffic must traverse them (the
  # kernel here has br_netfilter built in), and the host must forward between pods.
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1
}

# ---------------------------------------------------------------------------------------------
# Components

start_etcd() {
  mkdir -p "$state/etcd"
  chmod 700 "$state/etcd"
  # Plain HTTP, on loopback only: the apiserver is its only client.
  start etcd "$(command -v etcd)" --name todo-kube --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "todo-kube=http://127.0.0.1:$etcd_peer_port" \
    --listen-metrics-urls "http://127.0.0.1:12381" \
    --quota-backend-bytes 2147483648 --snapshot-count 10000 --log-level warn
}

start_registry() {
  mkdir -p "$state/registry"
  cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: $registry
EOF
  start registry "$(command -v docker-registry)" serve "$state/registry.yml"
  # podman (and the docker CLI through podman's socket) push to it over plain HTTP.
  mkdir -p /etc/containers/registries.conf.d
  cat >/etc/containers/registries.conf.d/50-todo-kube.conf <<EOF
# Written by ci/kube.sh up, removed by ci/kube.sh down: the test cluster's registry is plain HTTP.
[[registry]]
location = "$registry"
insecure = true
EOF
}

start_apiserver() {
  start kube-apiserver "$kbin/kube-apiserver" \
    --bind-address=127.0.0.1 --secure-port="$api_port" \
    --advertise-address="$gateway" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --service-cluster-ip-range="$service_cidr" \
    --client-ca-file="$pki/ca.crt" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$pki/ca.crt" \
    --kubelet-preferred-address-types=Hostname \
    --service-account-issuer="https://kubernetes.default.svc.$cluster_domain" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --profiling=false \
    --event-ttl=1h
  # The default admission plugins stay on (PodSecurity among them): namespaces labelled
  # pod-security.kubernetes.io/enforce=restricted refuse what a real cluster refuses.
}

api_ready() {
  curl -fsS --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$api_port/readyz" >/dev/null
}

start_api_relay() {
  # The apiserver listens on loopback only; pods reach it through the `kubernetes` Service,
  # whose endpoint is the advertised gateway address: relay that one port to loopback.
  start api-relay "$(command -v socat)" \
    "TCP-LISTEN:$api_port,bind=$gateway,reuseaddr,fork" "TCP:127.0.0.1:$api_port"
}

start_controllers() {
  start kube-controller-manager "$kbin/kube-controller-manager" \
    --kubeconfig="$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$state/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --service-cluster-ip-range="$service_cidr" --cluster-cidr="$pod_cidr" --allocate-node-cidrs=false \
    --enable-hostpath-provisioner=true \
    --profiling=false
  # --enable-hostpath-provisioner: the default StorageClass's claims get a directory under
  # /tmp/hostpath_pv, so PersistentVolumeClaims bind on this one node.
  start kube-scheduler "$kbin/kube-scheduler" \
    --kubeconfig="$state/scheduler.kubeconfig" \
    --authentication-kubeconfig="$state/scheduler.kubeconfig" \
    --authorization-kubeconfig="$state/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

write_containerd_config() {
  mkdir -p "$state/containerd/certs.d/$registry" "$state/cni/net.d" "$state/cni/ipam"
  cat >"$state/containerd/config.toml" <<EOF
# containerd for the test cluster's kubelet only: its own root, state and socket, so it neither
# sees nor disturbs another containerd (or podman) on the machine.
version = 2
root = "$state/containerd/root"
state = "$run/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "$containerd_sock"

[plugins."io.containerd.grpc.v1.cri"]
  # Built from ci/kube/pause and imported by kube.sh: registry.k8s.io cannot be reached.
  sandbox_image = "$pause_image"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails ("runc create failed:
  # ... can't get final child's PID from pipe: EOF", from "failed to update oom_score_adj").
  restrict_oom_score_adj = true
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$state/containerd/certs.d"
EOF
  # Images named $registry/... are pulled over plain HTTP from the local registry.
  cat >"$state/containerd/certs.d/$registry/hosts.toml" <<EOF
server = "http://$registry"

[host."http://$registry"]
  capabilities = ["pull", "resolve"]
EOF
  # The pod network: one bridge, addresses from one /24, no masquerading (ipMasq false), so a
  # pod can reach this machine and other pods but nothing beyond.
  cat >"$state/cni/net.d/10-todo-kube.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "todo-kube",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$state/cni/ipam",
        "ranges": [[{ "subnet": "$pod_cidr", "gateway": "$gateway" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
EOF
}

start_containerd() {
  write_containerd_config
  mkdir -p "$run/containerd"
  start containerd "$(command -v containerd)" --config "$state/containerd/config.toml"
}

ctr_() { ctr --address "$containerd_sock" --namespace k8s.io "$@"; }

import_pause() {
  ctr_ images ls -q 2>/dev/null | grep -qx "$pause_image" && return 0
  # A docker-archive tarball made by hand: one layer holding the static pause binary, run as
  # nobody (65535) like the upstream image.
  local work layer_sha config_sha
  work=$(mktemp -d)
  mkdir -p "$work/rootfs"
  cp "$kbin/pause" "$work/rootfs/pause"
  chmod 0755 "$work/rootfs/pause"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" pause
  layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  mkdir -p "$work/img/$layer_sha"
  mv "$work/layer.tar" "$work/img/$layer_sha/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer_sha" >"$work/config.json"
  config_sha=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  mv "$work/config.json" "$work/img/$config_sha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
    "$config_sha" "$pause_image" "$layer_sha" >"$work/img/manifest.json"
  tar -C "$work/img" -cf "$work/pause.tar" .
  ctr_ images import --no-unpack=false "$work/pause.tar" >>"$logs/containerd.log" 2>&1 \
    || { rm -rf "$work"; die "ctr images import of the pause image failed; see $logs/containerd.log"; }
  rm -rf "$work"
}

start_kubelet() {
  mkdir -p "$state/kubelet" "$state/pod-logs"
  cat >"$state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 here; 1.35 refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$containerd_sock
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization:
  mode: Webhook
clusterDomain: $cluster_domain
clusterDNS: [$dns_service_ip]
podLogsDir: $state/pod-logs
serializeImagePulls: false
# A test machine's disk is what it is: evict only when it is really full, and never collect the
# imported pause image (it cannot be pulled back).
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
containerLogMaxSize: 10Mi
EOF
  # Named `localhost`: the kubelet refuses a loopback node IP, and with this name the apiserver
  # reaches it (logs, exec, port-forward) on 127.0.0.1, where it listens. The node's address is
  # the bridge gateway, the same on every machine.
  start kubelet "$kbin/kubelet" --config="$state/kubelet.yaml" \
    --kubeconfig="$state/kubelet.kubeconfig" --root-dir="$state/kubelet" \
    --hostname-override=localhost --node-ip="$gateway"
}

start_kube_proxy() {
  cat >"$state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $state/kube-proxy.kubeconfig
hostnameOverride: localhost
clusterCIDR: $pod_cidr
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [primary]
iptables:
  # NodePorts on 127.0.0.1 would need net.ipv4.conf.all.route_localnet=1: not worth it here.
  localhostNodePorts: false
  # A Service answers 0.1 s after its pod is ready instead of up to 1 s (the default): tests
  # call it right after a rollout, and the rules of one small node are cheap to rewrite.
  minSyncPeriod: 100ms
# Zeros: leave the machine's conntrack settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
  start kube-proxy "$kbin/kube-proxy" --config="$state/kube-proxy.yaml"
}

start_coredns() {
  cat >"$state/Corefile" <<EOF
# Cluster DNS, run on the host: pods ask the kube-dns Service ($dns_service_ip), whose endpoint is
# this server on the bridge gateway.
.:53 {
    bind $gateway
    errors
    health 127.0.0.1:$coredns_health_port
    ready 127.0.0.1:$coredns_ready_port
    kubernetes $cluster_domain in-addr.arpa ip6.arpa {
        kubeconfig $state/coredns.kubeconfig $context
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf
    cache 30
    reload
}
EOF
  start coredns "$kbin/coredns" -conf "$state/Corefile"
}

start_traefik() {
  cat >"$state/traefik.yml" <<EOF
global:
  checkNewVersion: false
  sendAnonymousUsage: false
entryPoints:
  web:
    address: 127.0.0.1:$ingress_port
  traefik:
    address: 127.0.0.1:$traefik_admin_port
ping:
  entryPoint: traefik
log:
  level: WARN
providers:
  # Apply configuration changes within half a second (default 2 s): tests create an Ingress
  # and call it right away.
  providersThrottleDuration: 500ms
  kubernetesIngress:
    ingressClass: $ingress_class
    # What \`kubectl get ingress\` shows as ADDRESS: where the ingress answers.
    ingressEndpoint:
      ip: 127.0.0.1
EOF
  # Traefik reads KUBECONFIG when it runs outside the cluster.
  KUBECONFIG="$state/traefik.kubeconfig" start traefik "$kbin/traefik" --configFile="$state/traefik.yml"
}

# Cluster objects the add-ons and the chart expect: RBAC for the host-process add-ons, the
# kube-dns Service pointing at CoreDNS, the IngressClass and the default StorageClass.
bootstrap_objects() {
  kc apply -f - >>"$logs/bootstrap.log" <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "todo-kube:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "todo-kube:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "todo-kube:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "todo-kube:coredns"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "todo-kube:traefik"}
rules:
- apiGroups: [""]
  resources: [services, endpoints, secrets, nodes]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
- apiGroups: [networking.k8s.io, extensions]
  resources: [ingresses, ingressclasses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io, extensions]
  resources: [ingresses/status]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "todo-kube:traefik"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "todo-kube:traefik"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "todo-kube:traefik"}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: $ingress_class
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec:
  controller: traefik.io/ingress-controller
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $storage_class
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
# No selector: CoreDNS is not a pod. Its one endpoint is the host, on the bridge gateway.
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $dns_service_ip
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels:
    kubernetes.io/service-name: kube-dns
    endpointslice.kubernetes.io/managed-by: todo-kube
addressType: IPv4
endpoints:
- addresses: [$gateway]
  conditions: {ready: true}
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
EOF
}

# PostgreSQL (ci/postgres.sh's cluster) for pods: it also listens on the bridge gateway, and
# pg_hba lets the pod network in with a password. Skipped when that cluster does not exist.
pg_conf_file="/etc/postgresql/$pg_version/$pg_cluster/conf.d/50-todo-kube.conf"
pg_hba_file="/etc/postgresql/$pg_version/$pg_cluster/pg_hba.conf"
pg_hba_line="host all all $pod_cidr scram-sha-256 # todo-kube: pods (ci/kube.sh)"

postgres_for_pods() {
  command -v pg_lsclusters >/dev/null || { say "PostgreSQL is not installed: skipping (ci/postgres.sh installs it)"; return 0; }
  local status
  status=$(pg_lsclusters -h | awk -v v="$pg_version" -v c="$pg_cluster" '$1 == v && $2 == c { print $4 }')
  [[ -n "$status" ]] || { say "no PostgreSQL cluster $pg_version/$pg_cluster: skipping"; return 0; }
  local changed=
  if [[ ! -f "$pg_conf_file" ]]; then
    mkdir -p "$(dirname "$pg_conf_file")"
    echo "# ci/kube.sh: pods reach PostgreSQL on the pod bridge's gateway (removed by ci/kube.sh down)" >"$pg_conf_file"
    echo "listen_addresses = 'localhost,$gateway'" >>"$pg_conf_file"
    chown postgres:postgres "$pg_conf_file"
    changed=1
  fi
  if ! grep -qF "$pg_hba_line" "$pg_hba_file"; then
    echo "$pg_hba_line" >>"$pg_hba_file"
    changed=1
  fi
  if [[ "$status" != online ]]; then
    return 0 # takes effect when ci/postgres.sh starts it
  fi
  # listen_addresses needs a restart, pg_hba a reload. The socket stays bound to the gateway
  # address across `down`/`up`, so this restart happens once per server start.
  local port
  port=$(pg_lsclusters -h | awk -v v="$pg_version" -v c="$pg_cluster" '$1 == v && $2 == c { print $3 }')
  if ! ss -Hltn "src $gateway:$port" | grep -q .; then
    say "restarting PostgreSQL $pg_version/$pg_cluster to listen on $gateway:$port"
    pg_ctlcluster "$pg_version" "$pg_cluster" restart >>"$logs/postgres.log" 2>&1 </dev/null \
      || die "pg_ctlcluster restart failed; see $logs/postgres.log"
  elif [[ -n "$changed" ]]; then
    pg_ctlcluster "$pg_version" "$pg_cluster" reload >>"$logs/postgres.log" 2>&1 </dev/null || true
  fi
}

postgres_forget_pods() {
  [[ -f "$pg_conf_file" ]] && rm -f "$pg_conf_file"
  if [[ -f "$pg_hba_file" ]] && grep -qF "$pg_hba_line" "$pg_hba_file"; then
    grep -vF "$pg_hba_line" "$pg_hba_file" >"$pg_hba_file.todo-kube" || true
    cat "$pg_hba_file.todo-kube" >"$pg_hba_file" # keep owner and mode
    rm -f "$pg_hba_file.todo-kube"
    # A reload shuts the pod network out; the listening socket goes with the next restart.
    if pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" -v c="$pg_cluster" '$1 == v && $2 == c { print $4 }' | grep -qx online; then
      pg_ctlcluster "$pg_version" "$pg_cluster" reload >/dev/null 2>&1 </dev/null || true
    fi
  fi
  return 0
}

# ---------------------------------------------------------------------------------------------
# up

node_ready() {
  [[ "$(kc get node localhost -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
dns_answers() {
  # Through the kube-dns Service address, as a pod asks (kube-proxy's rules apply to the host too).
  getent_dns kubernetes.default.svc.$cluster_domain | grep -qx "$api_service_ip"
}
getent_dns() { # NAME -> A records from $dns_service_ip (dig when present, else CoreDNS directly)
  if command -v dig >/dev/null; then
    dig +short +time=1 +tries=1 @"$dns_service_ip" "$1" A
  else
    python3 - "$dns_service_ip" "$1" <<'PY'
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(q, (server, 53)); r = s.recv(512)
if struct.unpack(">H", r[6:8])[0]: print(socket.inet_ntoa(r[-4:]))  # one A record: the last 4 bytes
PY
  fi
}

cmd_up() {
  [[ $(id -u) -eq 0 ]] || die "needs root (kubelet, iptables, network namespaces)"
  mkdir -p "$state" "$run" "$logs"
  if all_running && node_ready_quick; then
    say "already running ($(elapsed)); \`ci/kube.sh env\` prints its settings"
    register_cleanup
    return 0
  fi
  find_bins
  make_pki
  save_machine_state
  setup_bridge
  postgres_for_pods

  local t
  t=$SECONDS; start_etcd; start_registry; start_containerd
  wait_for etcd 30 curl -fsS --max-time 1 "http://127.0.0.1:$etcd_port/health"; ready etcd "$t"
  start_apiserver
  wait_for registry 30 curl -fsS --max-time 1 "http://$registry/v2/"; ready "registry ($registry)" "$t"
  wait_for containerd 30 ctr_ version; ready containerd "$t"
  import_pause
  t=$SECONDS
  wait_for kube-apiserver 90 api_ready; ready kube-apiserver "$t"
  bootstrap_objects
  start_controllers; start_api_relay; start_kubelet; start_kube_proxy; start_coredns; start_traefik
  t=$SECONDS
  wait_for kube-controller-manager 60 curl -fsSk --max-time 1 https://127.0.0.1:10257/healthz; ready kube-controller-manager "$t"
  wait_for kube-scheduler 60 curl -fsSk --max-time 1 https://127.0.0.1:10259/healthz; ready kube-scheduler "$t"
  wait_for kube-proxy 60 curl -fsS --max-time 1 http://127.0.0.1:10256/healthz; ready kube-proxy "$t"
  wait_for "node localhost" 120 node_ready; ready "kubelet (node Ready)" "$t"
  wait_for coredns 60 curl -fsS --max-time 1 "http://127.0.0.1:$coredns_ready_port/ready"
  wait_for "cluster DNS" 60 dns_answers; ready "coredns (answers)" "$t"
  wait_for traefik 60 curl -fsS --max-time 1 "http://127.0.0.1:$traefik_admin_port/ping"; ready "traefik ($ingress_port)" "$t"
  # Pods are created in namespaces whose `default` ServiceAccount the controller-manager makes.
  wait_for "default ServiceAccount" 60 kc get serviceaccount default -n default; ready "default ServiceAccount" "$t"
  register_cleanup
  say "up in $(elapsed): kubectl --kubeconfig $kubeconfig (context $context); logs in $logs"
}

components=(etcd registry containerd kube-apiserver kube-controller-manager kube-scheduler api-relay kubelet kube-proxy coredns traefik)
all_running() {
  local c
  for c in "${components[@]}"; do pid_of "$c" >/dev/null || return 1; done
}
node_ready_quick() {
  kubectl=$(find_kubectl)
  node_ready && curl -fsS --max-time 1 "http://127.0.0.1:$traefik_admin_port/ping" >/dev/null 2>&1 \
    && curl -fsS --max-time 1 "http://127.0.0.1:$coredns_ready_port/ready" >/dev/null 2>&1
}

register_cleanup() {
  [[ -n "${CI_CLEANUP_FILE:-}" ]] || return 0
  local line="bash '$repo/ci/kube.sh' down || true"
  grep -qxF "$line" "$CI_CLEANUP_FILE" 2>/dev/null || echo "$line" >>"$CI_CLEANUP_FILE"
}

# ---------------------------------------------------------------------------------------------
# down

drain() {
  # The controllers go first, so nothing recreates or reschedules what is deleted; then every
  # pod is deleted while the kubelet runs, so it stops each sandbox itself (CNI teardown: veth,
  # netns, IP) instead of leaving them behind.
  stop kube-scheduler; stop kube-controller-manager
  pid_of kube-apiserver >/dev/null && pid_of kubelet >/dev/null || return 0
  kubectl=$(find_kubectl)
  local n
  n=$(kc get pods -A --no-headers 2>/dev/null | wc -l)
  ((n > 0)) || return 0
  say "draining: deleting $n pods"
  kc delete pods --all -A --grace-period=5 --timeout=60s >/dev/null 2>&1 \
    || say "some pods did not go within 60s; cleaning up after them"
  say "pods deleted ($(elapsed))"
  # The kubelet stops sandboxes shortly after the pods are gone.
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)) && ls /run/netns/cni-* >/dev/null 2>&1; do sleep 0.5; done
}

remove_containers() {
  # Whatever the kubelet left (it was dead, or a pod would not die): kill and remove through
  # containerd, then stop the shims containerd leaves running by design.
  if pid_of containerd >/dev/null; then
    local id
    for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s KILL "$id" >/dev/null 2>&1 || true; done
    sleep 0.5
    for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks rm -f "$id" >/dev/null 2>&1 || true; done
    for id in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$id" >/dev/null 2>&1 || true; done
  fi
  stop containerd
  local pid
  for pid in $(pgrep -f -- "-address $containerd_sock" || true); do
    # Only shims of this containerd: their command line names its socket.
    kill -KILL "$pid" 2>/dev/null || true
  done
}

remove_iptables() {
  local ipt table chain rule
  local -a rule_args
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for table in filter nat mangle raw; do
      "$ipt" -t "$table" -S >/dev/null 2>&1 || continue
      # Jumps from the built-in chains into KUBE-* chains, then the chains themselves. CNI-*
      # chains are left alone: ours creates none (no ipMasq, no portmap), podman's are its own.
      while read -r rule; do
        eval "rule_args=($rule)"
        "$ipt" -t "$table" -D "${rule_args[@]:1}" 2>/dev/null || true
      done < <("$ipt" -t "$table" -S | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-')
      for chain in $("$ipt" -t "$table" -S | awk '$1 == "-N" && $2 ~ /^KUBE-/ { print $2 }'); do
        "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$ipt" -t "$table" -S | awk '$1 == "-N" && $2 ~ /^KUBE-/ { print $2 }'); do
        "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
  # nftables tables the run created (iptables-nft makes ip/ip6 filter, nat, mangle on first
  # use; kube-proxy may make its own): dropped again when they hold no rules.
  command -v nft >/dev/null || return 0
  local family name
  while read -r _ family name; do
    grep -qx "table $family $name" "$state/machine/nft-tables" 2>/dev/null && continue
    if [[ "$name" == kube-proxy ]] || ! nft -a list table "$family" "$name" | grep -E '# handle [0-9]+$' | grep -qvE '^\s*(table|chain) '; then
      nft delete table "$family" "$name" 2>/dev/null || true
    fi
  done < <(nft list tables 2>/dev/null)
}

remove_network() {
  local ns link
  for ns in /run/netns/cni-*; do
    [[ -e "$ns" ]] || continue
    ip netns delete "$(basename "$ns")" 2>/dev/null || { umount "$ns" 2>/dev/null; rm -f "$ns"; }
  done
  if ip link show "$bridge" >/dev/null 2>&1; then
    for link in $(ip -o link show master "$bridge" | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
      ip link delete "$link" 2>/dev/null || true
    done
    ip link delete "$bridge"
  fi
  if command -v conntrack >/dev/null; then
    conntrack -D -s "$pod_cidr" >/dev/null 2>&1 || true
    conntrack -D -d "$pod_cidr" >/dev/null 2>&1 || true
    conntrack -D -d "$service_cidr" >/dev/null 2>&1 || true
  fi
}

remove_mounts() {
  # Volume, secret and shm mounts under the kubelet's and containerd's directories, deepest first.
  local m
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(awk -v a="$state/" -v b="$run/" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/self/mounts | sort -r)
}

remove_cgroups() {
  # The kubelet's QoS hierarchy (kubepods/…), in every cgroup v1 controller, leaves first.
  local dir
  for dir in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d "$dir" ]] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

restore_machine() {
  local line key
  if [[ -f "$state/machine/sysctl" ]]; then
    while IFS= read -r line; do
      key=${line%%=*}
      [[ "$(sysctl -n "$key" 2>/dev/null)" == "${line#*=}" ]] || sysctl -qw "$line" 2>/dev/null || say "could not restore $line"
    done <"$state/machine/sysctl"
  fi
  local p
  for p in "${created_paths[@]}"; do
    grep -qxF "$p" "$state/machine/existing-paths" 2>/dev/null && continue
    # `ip netns` makes /run/netns a mount point: unmount it before removing it.
    if mountpoint -q "$p" 2>/dev/null; then umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; fi
    if [[ -e "$p" ]]; then rm -rf "$p" || say "could not remove $p"; fi
  done
  rm -f /etc/containers/registries.conf.d/50-todo-kube.conf
  rm -rf "$state/machine"
}

cmd_down() {
  local purge=${1:-}
  [[ $(id -u) -eq 0 ]] || die "needs root"
  if [[ ! -d "$state/machine" && ! -d "$run" ]] && ! ip link show "$bridge" >/dev/null 2>&1; then
    say "not running"
    [[ "$purge" == --purge ]] && rm -rf "$state"
    return 0
  fi
  drain
  stop traefik; stop coredns; stop api-relay
  stop kubelet 20
  stop kube-proxy
  if [[ -x "${KUBE_CACHE:-/var/cache/todo-cloud/kube}/bin/kube-proxy" ]]; then
    # kube-proxy's own cleanup of its iptables (and nftables) rules.
    "${KUBE_CACHE:-/var/cache/todo-cloud/kube}/bin/kube-proxy" --cleanup >>"$logs/kube-proxy.log" 2>&1 || true
  fi
  remove_containers
  # The apiserver (1.35 on etcd 3.4) lingers in its shutdown for well over 10 s, retrying
  # reads its watch cache cannot serve; its state is discarded below, so 3 s is enough.
  stop kube-apiserver 3; stop etcd; stop registry
  remove_mounts
  remove_network
  remove_iptables
  remove_cgroups
  postgres_forget_pods
  restore_machine
  # A fresh cluster each `up`: etcd's data, the node's pods and addresses go. The PKI, the
  # registry's storage and containerd's images stay (a cache), unless --purge.
  rm -rf "$state/etcd" "$state/kubelet" "$state/pod-logs" "$state/cni/ipam" "$run"
  if [[ "$purge" == --purge ]]; then
    rm -rf "$state"
  fi
  say "down in $(elapsed)"
}

# ---------------------------------------------------------------------------------------------

cmd_env() {
  cat <<EOF
export KUBECONFIG=$kubeconfig
export TODO_KUBE_CONTEXT=$context
export TODO_KUBE_REGISTRY=$registry
export TODO_KUBE_INGRESS_URL=http://127.0.0.1:$ingress_port
export TODO_KUBE_INGRESS_CLASS=$ingress_class
export TODO_KUBE_DB_HOST=$gateway
export TODO_KUBE_STORAGE_CLASS=$storage_class
EOF
}

cmd_status() {
  local c pid rss any=
  printf '%-24s %-8s %s\n' COMPONENT PID RSS
  for c in "${components[@]}"; do
    if pid=$(pid_of "$c"); then
      rss=$(awk '/^VmRSS/ { printf "%d MB", $2 / 1024 }' "/proc/$pid/status")
      any=1
    else
      pid=- rss="not running"
    fi
    printf '%-24s %-8s %s\n' "$c" "$pid" "$rss"
  done
  [[ -n "$any" ]] || return 0
  kubectl=$(find_kubectl)
  kc get nodes -o wide 2>/dev/null || true
}

# Sourcing defines the functions only (for trying one step by hand).
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0
case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down "${2:-}" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
