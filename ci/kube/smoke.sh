#!/usr/bin/env bash
# Proves the test cluster of ci/kube.sh does what the `kube` suite needs, each check printing
# what it saw: Pod Security admission refuses a privileged pod in a restricted namespace; an
# image built here and pushed to the local registry runs there (Deployment, Service, Ingress
# through Traefik); another pod resolves the Service by DNS name and reaches it, and reaches the
# host's PostgreSQL; kubectl logs and port-forward work; a claim on the default StorageClass
# binds; helm 3 (--atomic --wait) and helm 4 (--rollback-on-failure --wait=watcher) install.
#
#   bash ci/kube.sh up && bash ci/kube/smoke.sh     (leaves namespace $SMOKE_NS, default `t`)
#   SMOKE_CLEAN=1 bash ci/kube/smoke.sh             (deletes it at the end)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
ns="${SMOKE_NS:-t}"
eval "$(bash "$repo/ci/kube.sh" env)"
bin="$repo/target/ci/bin"
[[ -x "$bin/kubectl" && -x "$bin/helm3" && -x "$bin/helm4" ]] || bash "$repo/ci/helm.sh" >&2
k() { "$bin/kubectl" --context "$TODO_KUBE_CONTEXT" "$@"; }
# Traefik applies a new Ingress a moment after the API stores it (helm's --wait does not wait
# for the ingress controller): retry for up to 10 s, then fail.
through_ingress() { # HOST
  local _i
  for _i in $(seq 1 50); do
    curl -fsS -H "Host: $1" "$TODO_KUBE_INGRESS_URL/" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "FAIL: $TODO_KUBE_INGRESS_URL with Host $1 did not answer 200 within 10 s" >&2
  curl -sS -i -H "Host: $1" "$TODO_KUBE_INGRESS_URL/" >&2 || true
  return 1
}
step() { printf '\n== %s\n' "$*"; }
t0=$SECONDS

step "restricted namespace $ns"
k create namespace "$ns" --dry-run=client -o yaml | k apply -f -
k label namespace "$ns" --overwrite pod-security.kubernetes.io/enforce=restricted

step "a privileged pod is refused by admission"
if out=$(k -n "$ns" run privileged --image="$TODO_KUBE_REGISTRY/none:1" --restart=Never \
  --overrides='{"spec":{"containers":[{"name":"privileged","image":"'"$TODO_KUBE_REGISTRY"'/none:1","securityContext":{"privileged":true}}]}}' 2>&1); then
  echo "FAIL: a privileged pod was admitted: $out"
  exit 1
fi
echo "$out" | grep -i forbidden

step "image: static Go binary, FROM scratch, USER 10001, pushed to $TODO_KUBE_REGISTRY"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$repo/ci/kube/demo" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/demo" .)
cat >"$work/Containerfile" <<'EOF'
FROM scratch
COPY demo /demo
USER 10001:10001
ENTRYPOINT ["/demo"]
CMD ["serve"]
EOF
tag=$(sha256sum "$work/demo" | cut -c1-12)
image="$TODO_KUBE_REGISTRY/kube-demo:$tag"
podman build -q -t "$image" -f "$work/Containerfile" "$work" >/dev/null
podman push -q "$image"
echo "pushed $image ($(du -h "$work/demo" | cut -f1) binary)"
curl -fsS "http://$TODO_KUBE_REGISTRY/v2/kube-demo/tags/list"; echo

step "Deployment + Service + Ingress (class $TODO_KUBE_INGRESS_CLASS, host demo.local)"
"$bin/helm3" template demo "$repo/ci/kube/demo/chart" --set image.tag="$tag" | k -n "$ns" apply -f -
k -n "$ns" rollout status deployment/demo --timeout=120s
s=$SECONDS
answer=$(through_ingress demo.local)
echo "curl -H 'Host: demo.local' $TODO_KUBE_INGRESS_URL/ -> $answer (routed within $((SECONDS - s))s of the rollout)"

step "another pod resolves the Service by name, and reaches the host's PostgreSQL at $TODO_KUBE_DB_HOST:5432"
# kube-proxy writes a new Service's rules a moment after its first pod is ready (after
# `rollout status` returns): wait until its address answers from this host, as it will in pods.
cluster_ip=$(k -n "$ns" get service demo -o jsonpath='{.spec.clusterIP}')
for _ in $(seq 1 50); do curl -fsS --max-time 1 "http://$cluster_ip:8080/" >/dev/null 2>&1 && break; sleep 0.1; done
k -n "$ns" delete pod dns-check --ignore-not-found --wait=true >/dev/null
k -n "$ns" apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata: {name: dns-check}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
  initContainers:
  - name: full-name
    image: $image
    args: [get, "http://demo.$ns.svc.cluster.local:8080/"]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
  - name: short-name
    image: $image
    args: [get, "http://demo:8080/"]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
  containers:
  - name: postgres
    image: $image
    args: [dial, "$TODO_KUBE_DB_HOST:5432"]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
EOF
k -n "$ns" wait pod/dns-check --for=jsonpath='{.status.phase}'=Succeeded --timeout=120s
for c in full-name short-name postgres; do
  echo "kubectl logs dns-check -c $c:"
  k -n "$ns" logs dns-check -c "$c" | sed 's/^/  /'
done

step "kubectl logs and port-forward"
k -n "$ns" logs deployment/demo --tail=3
pf_log="$work/port-forward.log"
k -n "$ns" port-forward service/demo 18999:8080 >"$pf_log" 2>&1 &
pf=$!
for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:18999/ >/dev/null 2>&1 && break; sleep 0.2; done
echo "port-forward 18999 -> $(curl -fsS http://127.0.0.1:18999/)"
kill "$pf"
wait "$pf" 2>/dev/null || true

step "a PersistentVolumeClaim on the default StorageClass binds"
k -n "$ns" apply -f - <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 100Mi}}
EOF
k -n "$ns" wait pvc/data --for=jsonpath='{.status.phase}'=Bound --timeout=60s
k -n "$ns" get pvc data

step "helm 3: upgrade --install --atomic --wait"
s=$SECONDS
"$bin/helm3" upgrade --install demo-h3 "$repo/ci/kube/demo/chart" -n "$ns" --kube-context "$TODO_KUBE_CONTEXT" \
  --set image.tag="$tag" --set ingress.host=h3.demo.local --atomic --wait --timeout 2m
took=$((SECONDS - s))
answer=$(through_ingress h3.demo.local)
echo "helm3: ${took}s; through the ingress: $answer"

step "helm 4: upgrade --install --rollback-on-failure --wait=watcher"
s=$SECONDS
"$bin/helm4" upgrade --install demo-h4 "$repo/ci/kube/demo/chart" -n "$ns" --kube-context "$TODO_KUBE_CONTEXT" \
  --set image.tag="$tag" --set ingress.host=h4.demo.local --rollback-on-failure --wait=watcher --timeout 2m
took=$((SECONDS - s))
answer=$(through_ingress h4.demo.local)
echo "helm4: ${took}s; through the ingress: $answer"
"$bin/helm4" list -n "$ns" --kube-context "$TODO_KUBE_CONTEXT"

if [[ -n "${SMOKE_CLEAN:-}" ]]; then
  step "cleaning up namespace $ns"
  k delete namespace "$ns" --wait=true --timeout=120s
fi
echo
echo "smoke: all checks passed in $((SECONDS - t0))s"
