#!/usr/bin/env bash
# Measure `cargo xtask containerize` the way docs/benchmarks.md reports it:
#   bash docs/bench/containerize.sh host|docker
# Run it in a scratch clone: it removes the todo-api and todo-web images from the engine (and, in
# host mode, target/release) to start cold, and appends a line to services/api/src/lib.rs for
# the one-line change (restored afterwards). Needs hyperfine and an engine containerize can use.
# For a cold docker-mode build, also empty the engine's build cache and cache mounts first
# (podman: `podman image prune -f` and `rm -rf /var/tmp/buildah-cache/todo-cargo-*`; docker:
# `docker builder prune -af`).
set -euo pipefail

mode=${1:?usage: containerize.sh host|docker}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
log=$(mktemp)
trap 'git checkout -q services/api/src/lib.rs; rm -f "$log"' EXIT

engine=$(command -v docker || command -v podman) || { echo "containerize.sh: no docker or podman" >&2; exit 1; }
# Prints how long the command took; on failure, its last lines, and fails (the caller exits: this
# runs in a command substitution, where `exit` would end only the subshell).
timed() {
    local start=$SECONDS
    "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; return 1; }
    echo "$((SECONDS - start)) s"
}
remove_images() {
    "$engine" images --format '{{.Repository}}:{{.Tag}}' | { grep -E '(^|/)todo-(api|web):' || true; } |
        xargs -r "$engine" rmi -f >/dev/null
}

cargo build -q -p xtask
xtask=target/debug/xtask
remove_images
if [ "$mode" = host ]; then rm -rf target/release; fi
cold=$(timed $xtask containerize --build "$mode") || exit 1
echo "$mode, cold (both images): $cold"
echo "$mode, nothing changed: $(hyperfine -N -r 10 --warmup 1 "$xtask containerize --build $mode" 2>/dev/null |
    sed -n 's/ *Time (mean ± σ): *//p')"
echo "// benchmark: a one-line change" >>services/api/src/lib.rs
one_line=$(timed $xtask containerize --build "$mode") || exit 1
echo "$mode, one-line change in the api: $one_line"
jq -r '.images[] | "\(.reference): \(.size_bytes / 1000000 * 10 | round / 10) MB"' target/xtask/images.json
