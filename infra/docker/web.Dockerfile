# The todo-web image (the browser UI and its server), built by `cargo xtask containerize` in one
# of two ways:
#   --build docker  `--target runtime`: compiles in the `build` stage below (any OS). Context: the
#                   repository root.
#   --build host    `--target runtime-host`: copies a rootfs staged from the host's cargo build
#                   (Linux; incremental and fast). Context: that staged directory.
# Either way the image holds only the binary (assets embedded) and the shared libraries it links:
# numeric non-root user, exec-form entrypoint, no shell, no package manager.

# The builder's base. Behind a mirror: --build-arg RUST_IMAGE=<mirror>/library/rust:<tag>.
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm

FROM scratch AS runtime-base
LABEL org.opencontainers.image.title="todo-web" \
      org.opencontainers.image.description="Todo web UI: tasks and the chat panel" \
      org.opencontainers.image.licenses="MIT"
ENV PORT=8081
USER 10001:10001
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/todo-web"]

FROM runtime-base AS runtime-host
COPY rootfs/ /

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds (BuildKit and podman/buildah); both
# images' builds share them, one after the other (see api.Dockerfile).
RUN --mount=type=cache,id=todo-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=todo-cargo-target,target=/src/target \
    cargo build --release --locked --package todo-web \
 && sh infra/docker/stage-rootfs.sh target/release/todo-web /out

FROM runtime-base AS runtime
COPY --from=build /out/rootfs/ /
