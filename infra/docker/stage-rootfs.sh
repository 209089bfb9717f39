#!/bin/sh
# Usage: stage-rootfs.sh BINARY OUT_DIR
#
# Stages everything a `FROM scratch` image needs to run BINARY: OUT_DIR/rootfs/ holds the binary
# at /usr/local/bin/<name> and each shared library it links (as `ldd` resolves them, symlinks
# followed); OUT_DIR/data/ is an empty directory for images that keep state.
#
# One script for both build modes: the Dockerfiles' build stage runs it inside the builder image,
# and `cargo xtask containerize --build host` runs it on the host.
set -eu

bin=$1
out=$2
name=$(basename "$bin")

rm -rf "$out"
mkdir -p "$out/rootfs/usr/local/bin" "$out/data"
cp "$bin" "$out/rootfs/usr/local/bin/$name"

# A static binary has nothing to add (ldd then says "not a dynamic executable").
libs=$(ldd "$bin" 2>/dev/null) || exit 0
printf '%s\n' "$libs" | while read -r line; do
  case $line in
    *"=> /"*) lib=${line#*=> } ;;
    /*) lib=$line ;;
    *) continue ;; # linux-vdso.so.1: provided by the kernel
  esac
  lib=${lib%% (*}
  mkdir -p "$out/rootfs$(dirname "$lib")"
  cp -L "$lib" "$out/rootfs$lib"
done
