# The todo-api image, built by `cargo xtask containerize` in one of two ways:
#   --build docker  `--target runtime`: compiles in the `build` stage below (any OS; what CI/CD
#                   without a Rust toolchain uses). Context: the repository root.
#   --build host    `--target runtime-host`: copies a rootfs staged from the host's cargo build
#                   (Linux; incremental and fast). Context: that staged directory.
# Either way the image holds only the binary and the shared libraries it links: numeric non-root
# user, exec-form entrypoint, no shell, no package manager. Probes come from the cluster.

# The builder's base. Behind a mirror: --build-arg RUST_IMAGE=<mirror>/library/rust:<tag>.
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm

FROM scratch AS runtime-base
LABEL org.opencontainers.image.title="todo-api" \
      org.opencontainers.image.description="Todo API: accounts, tasks and the chat agent" \
      org.opencontainers.image.licenses="MIT"
ENV PORT=8080 \
    TODO_DATA_DIR=/data
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/todo-api"]

FROM runtime-base AS runtime-host
COPY rootfs/ /
COPY --chown=10001:10001 data/ /data/

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds, so a one-line change recompiles
# one crate, not the dependency tree (BuildKit and podman/buildah both honour them). They are
# shared by both images' builds, which `cargo xtask containerize` runs one after the other: cargo
# locks the target dir itself, but its registry lock lives in CARGO_HOME, outside the mount (and
# buildah can leave a `sharing=locked` lock held after a failed build).
RUN --mount=type=cache,id=todo-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=todo-cargo-target,target=/src/target \
    cargo build --release --locked --package todo-api \
 && sh infra/docker/stage-rootfs.sh target/release/todo-api /out

FROM runtime-base AS runtime
COPY --from=build /out/rootfs/ /
COPY --from=build --chown=10001:10001 /out/data/ /data/
