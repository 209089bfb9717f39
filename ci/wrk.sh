# shellcheck shell=bash
# Sourced as a CI step (or run by hand: `bash ci/wrk.sh`): installs Debian's wrk, the HTTP load
# generator `cargo xtask bench --only app` drives. Safe to run twice: apt-get runs only when wrk
# is missing. Progress goes to stderr.

ci_wrk_install() {
  if command -v wrk >/dev/null 2>&1; then
    echo "ci/wrk.sh: wrk already installed ($(command -v wrk))" >&2
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "ci/wrk.sh: error: wrk is missing and installing it needs root (apt-get install wrk)" >&2
    return 1
  fi
  echo "ci/wrk.sh: installing wrk with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk </dev/null >&2 || return 1
  echo "ci/wrk.sh: wrk installed ($(command -v wrk))" >&2
}

ci_wrk_install
unset -f ci_wrk_install
