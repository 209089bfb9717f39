#!/usr/bin/env bash
# Gets a machine ready for todo-cloud: checks for Rust, a container engine, minikube, helm and
# kubectl; installs what is missing when you agree (or with --yes); creates .env from
# deploy/.env.example if there is none; ends with `cargo xtask doctor`. Linux and macOS.
# Safe to run again: what is installed is only reported, and an existing .env is never touched.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: infra/scripts/onboard.sh [--check] [--yes]

Checks what todo-cloud needs and installs what is missing, each with your consent:
  rust      rustup (https://rustup.rs)
  engine    Docker (macOS: Docker Desktop) or podman (Linux: apt or dnf)
  minikube  Homebrew on macOS; the official release binary on Linux, checksum verified
  helm      Homebrew on macOS; the official release archive on Linux, checksum verified
  kubectl   Homebrew on macOS; the official release binary on Linux, checksum verified
Then creates .env from deploy/.env.example when there is none (never overwrites it), asking for
the optional settings (a Neon DATABASE_URL, an LLM key; empty is fine: the app then uses SQLite
or the bundled Postgres, and its offline agent), and runs `cargo xtask doctor`.

  --check   install nothing and change nothing; exit 1 naming what is missing
  --yes     install without asking (unattended); optional settings are left empty
  -h        this help

Environment: ONBOARD_BIN_DIR is where release binaries go on Linux (default /usr/local/bin;
sudo is used when it is not writable).
EOF
}

# On Linux the release binaries are pinned, so every machine gets what CI tested (Homebrew on
# macOS installs its current versions); doctor's minimums are lower.
MINIKUBE_VERSION=v1.34.0
HELM_VERSION=v3.17.3
KUBECTL_VERSION=v1.31.9
BIN_DIR=${ONBOARD_BIN_DIR:-/usr/local/bin}
# A download that cannot connect fails in seconds, never hangs.
CURL=(curl --fail --silent --show-error --location --proto "=https" --tlsv1.2 --connect-timeout 10 --max-time 600)

check_only=false
assume_yes=false
for arg in "$@"; do
  case $arg in
    --check) check_only=true ;;
    --yes | -y) assume_yes=true ;;
    -h | --help) usage; exit 0 ;;
    *) echo "onboard: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

# Downloads go here; removed however the script ends.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

os=$(uname -s)
case $(uname -m) in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
  ok="\033[32m✓\033[0m" missing="\033[31m✗\033[0m"
else
  ok="✓" missing="✗"
fi

say() { printf '%s\n' "$*"; }
fail() { printf 'onboard: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# The package manager on Linux, if one we know is there.
linux_packages() {
  if have apt-get; then echo apt; elif have dnf; then echo dnf; else echo none; fi
}

# Runs a command as root: directly when we are, through sudo otherwise.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Asks before an install; --yes says yes; with no terminal to ask on, the answer is no.
consent() {
  local question=$1 answer
  if $assume_yes; then return 0; fi
  if [[ ! -t 0 ]]; then
    say "  (not asking without a terminal: rerun with --yes to install unattended)"
    return 1
  fi
  read -r -p "  $question [y/N] " answer
  [[ $answer == [yY]* ]]
}

# Downloads $1 to $2, or stops with the URL and what to do.
download() {
  local url=$1 out=$2 status=0
  "${CURL[@]}" --output "$out" "$url" || status=$?
  if [[ $status -ne 0 ]]; then
    fail "could not download $url (curl exit $status). If this machine has no internet access, \
download it elsewhere and put the program in $BIN_DIR, or set HTTPS_PROXY; then rerun this script."
  fi
}

sha256_of() {
  if have sha256sum; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# Downloads $url and its published checksum ($url_sum, whose first word is the hash), verifies it,
# and leaves the file at $3.
download_verified() {
  local url=$1 url_sum=$2 out=$3 want got
  download "$url" "$out"
  download "$url_sum" "$out.sha256"
  want=$(cut -d' ' -f1 <"$out.sha256")
  got=$(sha256_of "$out")
  if [[ -z $want || $want != "$got" ]]; then
    fail "the checksum of $url does not match the published one ($url_sum): not installing it"
  fi
}

# Puts the program $1 (a file) into $BIN_DIR as $2.
install_binary() {
  local file=$1 name=$2
  if [[ -w $BIN_DIR ]]; then
    install -m 0755 "$file" "$BIN_DIR/$name"
  else
    as_root install -m 0755 "$file" "$BIN_DIR/$name"
  fi
  say "  installed $BIN_DIR/$name"
}

# How each tool is installed here, as one line to show (and, for the simple cases, to run).
install_plan() {
  local tool=$1 packages
  packages=$(linux_packages)
  case $os/$tool in
    */rust) echo "curl --proto =https --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y" ;;
    Darwin/engine) echo "brew install --cask docker" ;;
    Darwin/*) echo "brew install $tool" ;;
    Linux/engine)
      case $packages in
        apt) echo "apt-get update && apt-get install -y podman" ;;
        dnf) echo "dnf install -y podman" ;;
        *) echo "install Docker or podman with your distribution's packages" ;;
      esac ;;
    Linux/minikube) echo "the minikube $MINIKUBE_VERSION release binary (linux-$arch), checksum verified, into $BIN_DIR" ;;
    Linux/helm) echo "the helm $HELM_VERSION release archive (linux-$arch), checksum verified, into $BIN_DIR" ;;
    Linux/kubectl) echo "the kubectl $KUBECTL_VERSION release binary (linux-$arch), checksum verified, into $BIN_DIR" ;;
    *) echo "no automatic install on $os: see the tool's documentation" ;;
  esac
}

install_tool() {
  local tool=$1
  case $os/$tool in
    */rust)
      download https://sh.rustup.rs "$work/rustup-init.sh"
      sh "$work/rustup-init.sh" -y
      local cargo_env="${CARGO_HOME:-$HOME/.cargo}/env"
      if [[ -f $cargo_env ]]; then
        # shellcheck disable=SC1090 # written by rustup just now
        source "$cargo_env"
      fi
      ;;
    Darwin/*)
      have brew || fail "Homebrew is needed to install $tool on macOS: see https://brew.sh"
      if [[ $tool == engine ]]; then brew install --cask docker; else brew install "$tool"; fi
      ;;
    Linux/engine)
      case $(linux_packages) in
        apt) as_root apt-get update && as_root apt-get install -y podman ;;
        dnf) as_root dnf install -y podman ;;
        *) fail "no apt-get or dnf here: install Docker or podman with your distribution's packages" ;;
      esac
      ;;
    Linux/minikube)
      local url="https://storage.googleapis.com/minikube/releases/$MINIKUBE_VERSION/minikube-linux-$arch"
      download_verified "$url" "$url.sha256" "$work/minikube"
      install_binary "$work/minikube" minikube
      ;;
    Linux/kubectl)
      local url="https://dl.k8s.io/release/$KUBECTL_VERSION/bin/linux/$arch/kubectl"
      download_verified "$url" "$url.sha256" "$work/kubectl"
      install_binary "$work/kubectl" kubectl
      ;;
    Linux/helm)
      local url="https://get.helm.sh/helm-$HELM_VERSION-linux-$arch.tar.gz"
      download_verified "$url" "$url.sha256sum" "$work/helm.tar.gz"
      tar -xzf "$work/helm.tar.gz" -C "$work"
      install_binary "$work/linux-$arch/helm" helm
      ;;
    *) fail "cannot install $tool on $os automatically: $(install_plan "$tool")" ;;
  esac
}

# The version line of a tool, or nothing when it is not installed.
found() {
  case $1 in
    rust) have cargo && cargo --version 2>/dev/null | head -n1 ;;
    engine)
      if have docker; then docker --version 2>/dev/null | head -n1
      elif have podman; then podman --version 2>/dev/null | head -n1
      fi ;;
    minikube) have minikube && minikube version --short 2>/dev/null | head -n1 ;;
    helm) have helm && helm version --short 2>/dev/null | head -n1 ;;
    kubectl) have kubectl && kubectl version --client 2>/dev/null | head -n1 ;;
  esac
}

platform=$os
[[ $os == Linux ]] && platform="Linux ($(linux_packages))"
say "onboard: what todo-cloud needs on this machine, $platform $arch"
tools=(rust engine minikube helm kubectl)
missing_tools=()
for tool in "${tools[@]}"; do
  version=$(found "$tool" || true)
  if [[ -n $version ]]; then
    printf '  %b %-9s %s\n' "$ok" "$tool" "$version"
  else
    printf '  %b %-9s missing: %s\n' "$missing" "$tool" "$(install_plan "$tool")"
    missing_tools+=("$tool")
  fi
done

if $check_only; then
  if [[ -f .env ]]; then
    say "  .env exists"
  else
    say "  .env missing: this script creates it from deploy/.env.example"
  fi
  if [[ ${#missing_tools[@]} -gt 0 ]]; then
    say "missing: ${missing_tools[*]} (run infra/scripts/onboard.sh to install them)"
    exit 1
  fi
  say "nothing missing"
  exit 0
fi

declined=()
# ${a[@]+"${a[@]}"}: an empty array is an unbound variable to `set -u` in bash < 4.4 (macOS's 3.2).
for tool in ${missing_tools[@]+"${missing_tools[@]}"}; do
  say ""
  say "$tool: $(install_plan "$tool")"
  if consent "install $tool now?"; then
    install_tool "$tool"
    [[ -n $(found "$tool" || true) ]] || fail "$tool was installed but is not on PATH: open a new shell, then rerun"
  else
    declined+=("$tool")
  fi
done

# Asks for an optional setting and writes it into .env; empty leaves the key empty.
ask_setting() {
  local key=$1 prompt=$2 secret=$3 value
  if $assume_yes || [[ ! -t 0 ]]; then return; fi
  if [[ $secret == yes ]]; then
    read -r -s -p "  $prompt (empty to skip; not shown): " value
    echo
  else
    read -r -p "  $prompt (empty to skip): " value
  fi
  [[ -n $value ]] || return 0
  if [[ $value == *"'"* ]]; then
    say "  not stored: the value holds a quote; edit .env yourself"
    return
  fi
  local line out=()
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == "$key="* ]]; then out+=("$key='$value'"); else out+=("$line"); fi
  done <.env
  printf '%s\n' "${out[@]}" >.env
  say "  $key stored in .env"
}

say ""
if [[ -f .env ]]; then
  say ".env exists: kept as it is"
else
  cp deploy/.env.example .env
  chmod 600 .env
  say ".env created from deploy/.env.example (readable only by you; never committed)"
  ask_setting DATABASE_URL "Postgres URL, e.g. Neon's postgres://…?sslmode=require (it holds a password)" yes
  ask_setting LLM_API_KEY "an OpenAI-compatible API key for the chat agent" yes
fi

if [[ ${#declined[@]} -gt 0 ]]; then
  say ""
  say "not installed: ${declined[*]}; \`cargo xtask demo\` runs the app on this machine meanwhile"
fi
have cargo || fail "cargo is not on PATH: open a new shell (rustup adds ~/.cargo/bin), then run cargo xtask doctor"
say ""
say "\$ cargo xtask doctor"
cargo xtask doctor
