# Sourced by .ci/run: the real single-node Kubernetes of ci/kube.sh for the `kube` suite. Builds
# the binaries on the first run on a machine (ci/kube/build.sh; cached outside the clone), starts
# the cluster, registers `ci/kube.sh down` in $CI_CLEANUP_FILE, and exports what the suite reads:
# KUBECONFIG, TODO_KUBE_CONTEXT, TODO_KUBE_REGISTRY, TODO_KUBE_INGRESS_URL,
# TODO_KUBE_INGRESS_CLASS, TODO_KUBE_DB_HOST, TODO_KUBE_STORAGE_CLASS.
# After podman.sh (pushes go through podman), postgres.sh (pods reach it) and helm.sh (kubectl).
# shellcheck shell=bash

if bash ci/kube.sh up; then
  # The cluster's daemon logs live in its state directory; CI keeps what is under target/ci.
  ln -sfn "${TODO_KUBE_DIR:-/var/lib/todo-kube}/log" target/ci/kube-logs
  eval "$(bash ci/kube.sh env)"
  # podman's Docker API service reads registries.conf once, when it starts. Started by podman.sh
  # before `up` listed the registry as plain HTTP, it would push over HTTPS and fail: restart it.
  if [ -n "${DOCKER_HOST:-}" ] && pkill -f "podman system service" 2>/dev/null; then
    for _ in $(seq 1 50); do pgrep -f "podman system service" >/dev/null || break; sleep 0.1; done
    # shellcheck source=ci/podman.sh
    source ci/podman.sh
  fi
  echo "ci/kube-up.sh: cluster up; $TODO_KUBE_INGRESS_URL (ingress), $TODO_KUBE_REGISTRY (registry)" >&2
else
  echo "ci/kube-up.sh: ci/kube.sh up failed; its logs are in ${TODO_KUBE_DIR:-/var/lib/todo-kube}/log" >&2
  bash ci/kube.sh down || true
  return 1
fi
