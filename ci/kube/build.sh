#!/usr/bin/env bash
# Builds the Kubernetes binaries of ci/kube/k8s (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy) and the cluster add-ons of ci/kube/addons, into a cache
# directory keyed by the content of their go.mod/go.sum, outside the clone: a second run on the
# same machine builds nothing. Prints the directory holding the binaries on its last line.
#
#   ci/kube/build.sh            build what is missing, print the bin directory
#   KUBE_CACHE=/path ci/kube/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${KUBE_CACHE:-/var/cache/todo-cloud/kube}"

# The requirement sits inside go.mod's `require ( ... )` block, so match the module path itself.
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$here/k8s/go.mod")"
[[ -n "$k8s_version" ]] || { echo "kube-build: no k8s.io/kubernetes version in $here/k8s/go.mod" >&2; exit 1; }
# Two keys: a change to an add-on must not rebuild Kubernetes (15 minutes on 2 cores).
k8s_key="$(cat "$here"/k8s/go.mod "$here"/k8s/go.sum | sha256sum | cut -c1-12)"
addons_key="$(cat "$here"/{pause,coredns,traefik}/go.* "$here"/{pause,coredns}/*.go | sha256sum | cut -c1-12)"
k8s_bin="$cache_root/k8s-$k8s_version-$k8s_key"
addons_bin="$cache_root/addons-$addons_key"
bin="$cache_root/bin"
mkdir -p "$k8s_bin" "$addons_bin" "$bin"

# The binaries report the release they were built from (kubectl version, helm's kubeVersion
# checks); without these the apiserver calls itself v0.0.0-master.
minor="${k8s_version#v1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build() { # MODULE_DIR OUT_DIR NAME PACKAGE
  local dir=$1 out=$2 name=$3 pkg=$4
  if [[ -x "$out/$name" ]]; then
    echo "kube-build: $name cached" >&2
    return
  fi
  local t0=$SECONDS
  echo "kube-build: building $name ($pkg)" >&2
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$name.partial" "$pkg")
  mv "$out/$name.partial" "$out/$name"
  echo "kube-build: $name built in $((SECONDS - t0))s" >&2
}

# Smallest first: a broken toolchain or module proxy shows up in seconds, not after ten minutes.
for name in kube-scheduler kube-proxy kubelet kube-controller-manager kube-apiserver; do
  build "$here/k8s" "$k8s_bin" "$name" "k8s.io/kubernetes/cmd/$name"
done
if [[ "${1:-}" != "--k8s-only" ]]; then
  build "$here/pause" "$addons_bin" pause .
  build "$here/coredns" "$addons_bin" coredns .
  build "$here/traefik" "$addons_bin" traefik github.com/traefik/traefik/v3/cmd/traefik
fi
# One directory on PATH for kube.sh, pointing at this key's builds.
for f in "$k8s_bin"/* "$addons_bin"/*; do
  [[ -x "$f" && "$f" != *.partial ]] && ln -sfn "$f" "$bin/$(basename "$f")"
done
echo "$bin"
