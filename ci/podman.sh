# shellcheck shell=bash
# Sourced by .ci/run: a container engine for the container suite and `cargo xtask containerize`.
# podman (with runc: the default crun fails on these machines' cgroups) serves Docker's API on a
# socket, and the real docker CLI talks to it through DOCKER_HOST. Idempotent.

ci_podman_sock=/run/podman/podman.sock
ci_podman_log="${CI_LOG_DIR:-$PWD/target/ci}/podman-service.log"

if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  echo "ci/podman.sh: installing podman and runc" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >&2
fi

# runc, and ulimits low enough for this sandbox's setrlimit policy.
if ! grep -qs 'runtime = "runc"' /etc/containers/containers.conf; then
  mkdir -p /etc/containers
  cat >/etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF
fi

if ! curl -fsS --max-time 2 --unix-socket "$ci_podman_sock" http://podman/_ping >/dev/null 2>&1; then
  echo "ci/podman.sh: starting podman's Docker API service on $ci_podman_sock" >&2
  mkdir -p "$(dirname "$ci_podman_sock")" "$(dirname "$ci_podman_log")"
  # Output to a file, never CI's stdout: an inherited pipe would keep the job from ending.
  podman system service --time=0 "unix://$ci_podman_sock" >"$ci_podman_log" 2>&1 </dev/null &
  echo "kill $! 2>/dev/null || true" >>"${CI_CLEANUP_FILE:-/dev/null}"
  for _ in $(seq 1 50); do
    curl -fsS --max-time 2 --unix-socket "$ci_podman_sock" http://podman/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS --max-time 2 --unix-socket "$ci_podman_sock" http://podman/_ping >/dev/null \
    || { echo "ci/podman.sh: the service did not answer; see $ci_podman_log" >&2; return 1; }
fi

export DOCKER_HOST="unix://$ci_podman_sock"
echo "ci/podman.sh: docker → podman $(podman --version | awk '{print $3}') via $DOCKER_HOST" >&2
