//! `cargo xtask containerize` against scripted fakes of docker, podman, cargo, rustc and sh.

mod support;

use support::{Call, Reply, World};

const NO_SUCH_IMAGE: &str = "Error response from daemon: No such image: todo-api:0\n";

/// A project with the real Dockerfiles and two service crates; docker answers, no image exists
/// yet, and every build succeeds.
fn world() -> World {
    let mut world = World::healthy();
    world.with_buildable_services().on(
        "docker",
        &["image", "inspect", "--format", "{{.Id}}"],
        Reply::fail(1, NO_SUCH_IMAGE),
    );
    world
}

fn images(world: &World) -> serde_json::Value {
    serde_json::from_str(&world.read("target/xtask/images.json")).unwrap()
}

fn tag_of(world: &World, image: &str) -> String {
    let images = images(world);
    let found = images["images"].as_array().unwrap().iter().find(|i| i["name"] == image).unwrap();
    found["tag"].as_str().unwrap().to_owned()
}

fn lines(calls: &[Call], tool: &str, first_arg: &str) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.tool == tool && c.argv.first().map(String::as_str) == Some(first_arg))
        .map(Call::line)
        .collect()
}

#[test]
fn fakes_host_build_compiles_once_stages_and_builds_each_image() {
    let world = world();
    let run = world.xtask(&["containerize", "--build", "host"]);
    assert!(run.success(), "{}", run.all());
    let (api, web) = (tag_of(&world, "todo-api"), tag_of(&world, "todo-web"));
    assert_eq!(api.len(), 12);
    assert_ne!(api, web);

    let calls = world.calls();
    assert_eq!(
        lines(&calls, "cargo", "build"),
        ["cargo build --release --locked --package todo-api --package todo-web"]
    );
    let root = world.root.display().to_string();
    let mut builds = lines(&calls, "docker", "build");
    builds.sort();
    assert_eq!(
        builds,
        [
            format!(
                "docker build --target runtime-host --file {root}/infra/docker/api.Dockerfile --tag todo-api:{api} \
                 --label org.opencontainers.image.version={api} {root}/target/xtask/context/todo-api"
            ),
            format!(
                "docker build --target runtime-host --file {root}/infra/docker/web.Dockerfile --tag todo-web:{web} \
                 --label org.opencontainers.image.version={web} {root}/target/xtask/context/todo-web"
            ),
        ]
    );
    let mut staged: Vec<String> = calls.iter().filter(|c| c.tool == "sh").map(Call::line).collect();
    staged.sort();
    assert_eq!(
        staged,
        [
            format!(
                "sh {root}/infra/docker/stage-rootfs.sh {root}/target/release/todo-api {root}/target/xtask/context/todo-api"
            ),
            format!(
                "sh {root}/infra/docker/stage-rootfs.sh {root}/target/release/todo-web {root}/target/xtask/context/todo-web"
            ),
        ]
    );
    // Staging precedes each image's build; the cargo build precedes both.
    let position = |pred: &dyn Fn(&Call) -> bool| calls.iter().position(pred).unwrap();
    let cargo = position(&|c| c.tool == "cargo");
    let api_stage = position(&|c| c.tool == "sh" && c.line().contains("todo-api"));
    let api_build =
        position(&|c| c.tool == "docker" && c.argv[0] == "build" && c.line().contains("todo-api"));
    assert!(
        cargo < api_stage && api_stage < api_build,
        "{:#?}",
        calls.iter().map(Call::line).collect::<Vec<_>>()
    );

    let record = images(&world);
    assert_eq!(record["engine"], "docker");
    assert_eq!(record["mode"], "host");
    assert_eq!(record["images"][0]["reference"], format!("todo-api:{api}"));
    assert_eq!(record["images"][0]["size_bytes"], 9876543);
    assert!(
        run.stderr.contains("todo-api  ") && run.stderr.contains("9.9 MB") && run.stderr.contains("200 MB")
    );
    assert!(!run.all().contains(":latest"), "never `latest`");
}

#[test]
fn fakes_unchanged_inputs_issue_no_build_and_a_change_rebuilds_only_its_image() {
    let mut world = world();
    world.on_seq(
        "docker",
        &["image", "inspect", "--format", "{{.Id}}"],
        vec![Reply::fail(1, NO_SUCH_IMAGE), Reply::fail(1, NO_SUCH_IMAGE), Reply::ok("sha256:1a2b\n")],
    );
    assert!(world.xtask(&["containerize", "--build", "host"]).success());
    let (api, web) = (tag_of(&world, "todo-api"), tag_of(&world, "todo-web"));

    world.clear_calls();
    let run = world.xtask(&["containerize", "--build", "host"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("– containerize skipped: unchanged since"), "{}", run.stderr);
    let calls = world.calls();
    assert!(
        lines(&calls, "docker", "build").is_empty() && lines(&calls, "cargo", "build").is_empty(),
        "{calls:#?}"
    );
    assert_eq!(
        (tag_of(&world, "todo-api"), tag_of(&world, "todo-web")),
        (api.clone(), web.clone()),
        "tags are stable"
    );

    // --force rebuilds both images, without the engine's layer cache, though their tags exist.
    world.clear_calls();
    let run = world.xtask(&["containerize", "--build", "host", "--force"]);
    assert!(run.success(), "{}", run.all());
    let calls = world.calls();
    let builds = lines(&calls, "docker", "build");
    assert_eq!(builds.len(), 2, "{builds:?}");
    assert!(builds.iter().all(|b| b.contains(" --no-cache ")), "{builds:?}");
    assert_eq!(
        lines(&calls, "cargo", "build"),
        ["cargo build --release --locked --package todo-api --package todo-web"]
    );
    assert_eq!((tag_of(&world, "todo-api"), tag_of(&world, "todo-web")), (api.clone(), web.clone()));

    // One line of the api changes: a new api tag, which the engine lacks; the web image stays.
    world.file("services/api/src/main.rs", "fn main() { println!(\"hi\"); }\n");
    world
        .on("docker", &["image", "inspect", "--format", "{{.Id}}", "todo-web:*"], Reply::ok("sha256:3c4d\n"))
        .on(
            "docker",
            &["image", "inspect", "--format", "{{.Id}}", "todo-api:*"],
            Reply::fail(1, NO_SUCH_IMAGE),
        );
    world.clear_calls();
    let run = world.xtask(&["containerize", "--build", "host"]);
    assert!(run.success(), "{}", run.all());
    let new_api = tag_of(&world, "todo-api");
    assert_ne!(new_api, api);
    assert_eq!(tag_of(&world, "todo-web"), web);
    let calls = world.calls();
    assert_eq!(lines(&calls, "cargo", "build"), ["cargo build --release --locked --package todo-api"]);
    let builds = lines(&calls, "docker", "build");
    assert_eq!(builds.len(), 1);
    assert!(builds[0].contains(&format!("--tag todo-api:{new_api}")), "{builds:?}");
}

#[test]
fn fakes_host_build_stages_binaries_from_cargo_target_dir() {
    let mut world = world();
    world.env("CARGO_TARGET_DIR", "build-out");
    let run = world.xtask(&["containerize", "--build", "host"]);
    assert!(run.success(), "{}", run.all());
    let root = world.root.display().to_string();
    let staged: Vec<String> = world.calls().iter().filter(|c| c.tool == "sh").map(Call::line).collect();
    assert!(
        staged.iter().any(|line| line.contains(&format!(" {root}/build-out/release/todo-api "))),
        "the binary cargo just built, not a stale one under target/: {staged:?}"
    );
    assert!(!staged.iter().any(|line| line.contains("/target/release/")), "{staged:?}");
}

#[test]
fn fakes_podman_engine_uses_podman_commands() {
    let mut world = world();
    world.on("podman", &["image", "exists"], Reply::fail(1, "")).on("podman", &["build"], Reply::ok("")).on(
        "podman",
        &["image", "inspect", "--format", "{{.Size}}"],
        Reply::ok("1234567\n"),
    );
    let run = world.xtask(&["containerize", "--engine", "podman", "--build", "docker"]);
    assert!(run.success(), "{}", run.all());
    let calls = world.calls();
    assert!(calls.iter().all(|c| !(c.tool == "docker" && c.argv[0] == "build")), "no docker builds");
    let root = world.root.display().to_string();
    let api = tag_of(&world, "todo-api");
    assert!(lines(&calls, "podman", "image").contains(&format!("podman image exists todo-api:{api}")));
    assert!(lines(&calls, "podman", "build").contains(&format!(
        "podman build --target runtime --file {root}/infra/docker/api.Dockerfile --tag todo-api:{api} \
         --label org.opencontainers.image.version={api} {root}"
    )));
    assert!(lines(&calls, "cargo", "build").is_empty(), "docker mode compiles inside the engine");
    assert_eq!(images(&world)["engine"], "podman");
}

#[test]
fn fakes_docker_without_a_daemon_falls_back_to_podman_and_no_engine_is_an_error() {
    let mut world = world();
    world
        .on("docker", &["version", "--format"], Reply::fail(1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"))
        .on("podman", &["image", "exists"], Reply::ok(""))
        .on("podman", &["image", "inspect", "--format", "{{.Size}}"], Reply::ok("1234567\n"));
    let run = world.xtask(&["containerize"]);
    assert!(run.success(), "{}", run.all());
    assert_eq!(images(&world)["engine"], "podman");

    world.uninstall("podman");
    let run = world.xtask(&["containerize"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no container engine to build with"), "{}", run.stderr);
    assert!(
        run.stderr.contains("docker: does not answer: Cannot connect to the Docker daemon"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("podman: not installed (install: "), "{}", run.stderr);
}

#[test]
fn fakes_push_tags_for_the_registry_and_pushes() {
    let mut world = world();
    // What docker push prints last: the tag, the digest the registry stored, the manifest's size.
    let digest = format!("sha256:{}", "9f86d081884c7d65".repeat(4));
    world.on("docker", &["tag"], Reply::ok("")).on(
        "docker",
        &["push"],
        Reply::ok(&format!(
            "The push refers to repository [x]\n5f70bf18a086: Pushed\n0a1b2c: digest: {digest} size: 528\n"
        )),
    );
    let run = world.xtask(&["containerize", "--build", "host", "--push", "registry.example.com/team/"]);
    assert!(run.success(), "{}", run.all());
    let api = tag_of(&world, "todo-api");
    let calls = world.calls();
    assert!(
        lines(&calls, "docker", "tag")
            .contains(&format!("docker tag todo-api:{api} registry.example.com/team/todo-api:{api}"))
    );
    assert!(
        lines(&calls, "docker", "push")
            .contains(&format!("docker push registry.example.com/team/todo-api:{api}"))
    );
    assert_eq!(images(&world)["images"][0]["pushed"], format!("registry.example.com/team/todo-api:{api}"));
    assert_eq!(images(&world)["images"][0]["digest"], digest, "deploy pins what was pushed");
}

#[test]
fn fakes_a_push_that_names_no_digest_fails_rather_than_deploy_an_unpinned_image() {
    let mut world = world();
    world.on("docker", &["tag"], Reply::ok("")).on("docker", &["push"], Reply::ok("Pushed\n"));
    let run = world.xtask(&["containerize", "--build", "host", "--push", "127.0.0.1:5000"]);
    assert!(!run.success());
    assert!(run.stderr.contains("succeeded but named no digest"), "{}", run.stderr);
}

#[test]
fn fakes_failing_build_names_its_stage_step_and_tail() {
    let mut world = world();
    let output = "[1/4] STEP 1/5: FROM scratch AS runtime-base\n\
                  [3/4] STEP 1/4: FROM docker.io/library/rust:1.95-slim-bookworm AS build\n\
                  [3/4] STEP 4/4: RUN --mount=type=cache,id=todo-cargo-target cargo build --release --locked --package todo-api\n\
                  error[E0425]: cannot find value `pool` in this scope\n";
    world.on(
        "docker",
        &["build", "--target", "runtime", "--file"],
        Reply::ok(output).stderr("Error: building at STEP \"RUN --mount=type=cache,id=todo-cargo-target cargo build\": exit status 101\n").exit(1),
    );
    let run = world.xtask(&["containerize", "--build", "docker"]);
    assert_eq!(run.code, 1);
    let err = &run.stderr;
    assert!(err.contains("building todo-api failed in stage `build`, at `RUN --mount=type=cache,id=todo-cargo-target cargo build --release --locked --package todo-api`"), "{err}");
    assert!(err.contains("failed with exit code 1"), "{err}");
    assert!(err.contains("│ Error: building at STEP"), "{err}");
    assert!(
        err.contains("[todo-api] error[E0425]: cannot find value `pool` in this scope"),
        "build output streams, labelled: {err}"
    );
    assert!(err.contains("after fixing it, rerun `cargo xtask containerize --build docker`"), "{err}");
}

#[test]
fn fakes_dry_run_prints_the_builds_and_runs_only_queries() {
    let world = world();
    let run = world.xtask(&["--dry-run", "containerize", "--build", "host"]);
    assert!(run.success(), "{}", run.all());
    assert!(
        run.stderr
            .contains("[dry-run] $ cargo build --release --locked --package todo-api --package todo-web"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("[dry-run] $ docker build --target runtime-host"), "{}", run.stderr);
    for call in world.calls() {
        let line = call.line();
        assert!(
            line.starts_with("rustc -V")
                || line.starts_with("docker image inspect")
                || line.starts_with("docker version"),
            "a dry run ran {line}"
        );
    }
    assert!(!world.root.join("target/xtask/images.json").exists(), "a dry run records nothing");
}
