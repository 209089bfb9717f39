//! `cargo xtask containerize`: a cold build, a rerun with nothing changed, a one-line api change
//! in both build modes, and the images' sizes.

use anyhow::{Context as _, Result};
use xshell::cmd;

use super::checkout::{CHANGED_FILE, Checkout};
use super::{Area, Bench, seconds};
use crate::container_engine;
use crate::context::Context;
use crate::images::{BuiltImages, RECORD_FILE};

pub fn measure(bench: &mut Bench) -> Result<()> {
    let cx = bench.cx;
    match container_engine::resolve(cx, None) {
        Ok(_) => {}
        Err(err) => {
            let reason = format!("no container engine answers: {}", super::one_line(&format!("{err:#}")));
            bench.skip_rest(Area::Images, &reason);
            return Ok(());
        }
    }
    unchanged_and_sizes(bench)?;
    let [cold_wanted, host_wanted, docker_wanted] =
        ["images.cold", "images.one_line_host", "images.one_line_docker"]
            .map(|id| bench.wants(id, &slow_command(id)));
    if !(cold_wanted || host_wanted || docker_wanted) {
        return Ok(());
    }
    let checkout = Checkout::prepare(cx)?;
    if cold_wanted {
        cold(bench, &checkout)?;
    }
    if host_wanted {
        one_line(bench, &checkout, "host")?;
    }
    if docker_wanted {
        one_line(bench, &checkout, "docker")?;
    }
    Ok(())
}

fn slow_command(id: &str) -> String {
    match id {
        "images.cold" => format!(
            "remove the todo images, then CARGO_TARGET_DIR=$(mktemp -d) cargo xtask containerize --build host (in a clone: {})",
            "target/xtask/bench/checkout"
        ),
        "images.one_line_host" => {
            format!("echo '// change' >> {CHANGED_FILE} && cargo xtask containerize --build host")
        }
        _ => format!("echo '// change' >> {CHANGED_FILE} && cargo xtask containerize --build docker"),
    }
}

/// In this checkout: containerize once (nothing happens when the images exist), then the rerun
/// that only hashes inputs and asks the engine, and the sizes it recorded.
fn unchanged_and_sizes(bench: &mut Bench) -> Result<()> {
    let cx = bench.cx;
    cx.ui.info("  building the images once, untimed (nothing to do when they exist)");
    let containerize = || -> Result<()> {
        let output =
            cmd!(cx.sh, "cargo xtask containerize").env("NO_COLOR", "1").quiet().ignore_status().output()?;
        if !output.status.success() {
            return Err(super::failure(
                "`cargo xtask containerize`",
                &String::from_utf8_lossy(&output.stderr),
            ));
        }
        Ok(())
    };
    containerize()?;
    let runs = bench.runs(10, 3);
    bench.repeat("images.unchanged", runs, "cargo xtask containerize", |_| seconds(containerize))?;
    sizes(bench, cx, "cargo xtask containerize (the sizes in target/xtask/images.json)")
}

fn sizes(bench: &mut Bench, cx: &Context, command: &str) -> Result<()> {
    let images = BuiltImages::load(cx)?;
    for (id, name) in [("images.api_size", "todo-api"), ("images.web_size", "todo-web")] {
        let image = images
            .images
            .iter()
            .find(|image| image.name == name)
            .with_context(|| format!("{RECORD_FILE} has no {name}"))?;
        match image.size_bytes {
            // One sample: an image's size does not vary between runs of the same inputs.
            Some(bytes) => bench.record(id, vec![bytes as f64 / 1e6], command),
            None => bench.skip(id, format!("the engine reported no size for {}", image.reference), command),
        }
    }
    Ok(())
}

/// Both images from an empty cargo target directory, with no todo image in the engine: what a
/// developer's first `containerize` costs (the crates downloaded, the base images present).
fn cold(bench: &mut Bench, checkout: &Checkout) -> Result<()> {
    let id = "images.cold";
    let cx = bench.cx;
    let target = cx.state_dir().join("bench/cold-images-target");
    let runs = bench.runs(1, 1);
    bench.repeat(id, runs, &slow_command(id), |_| {
        remove_todo_images(cx)?;
        let _ = std::fs::remove_dir_all(&target);
        let args = vec!["containerize".to_owned(), "--build".to_owned(), "host".to_owned()];
        let env = [("CARGO_TARGET_DIR".to_owned(), target.to_string())];
        let took = seconds(|| checkout.run_xtask(cx, &args, &env));
        let _ = std::fs::remove_dir_all(&target);
        took
    })?;
    Ok(())
}

/// A comment appended to the api's crate root, then `containerize` in `mode`: the api's release
/// build (all of it in release, where incremental compilation is off) and its image.
fn one_line(bench: &mut Bench, checkout: &Checkout, mode: &str) -> Result<()> {
    let id = if mode == "host" { "images.one_line_host" } else { "images.one_line_docker" };
    let cx = bench.cx;
    let args = vec!["containerize".to_owned(), "--build".to_owned(), mode.to_owned()];
    cx.ui.info(&format!(
        "  containerize --build {mode} in the clone, untimed, so only the change is measured"
    ));
    checkout.restore(cx)?;
    checkout.run_xtask(cx, &args, &[])?;
    let runs = bench.runs(2, 1);
    let result = bench.repeat(id, runs, &slow_command(id), |run| {
        checkout.change_api(run)?;
        seconds(|| checkout.run_xtask(cx, &args, &[]))
    });
    checkout.restore(cx)?;
    result.map(drop)
}

/// Every todo-api and todo-web image in the engine, registry-tagged ones included, so the next
/// containerize builds them.
pub fn remove_todo_images(cx: &Context) -> Result<()> {
    let engine = container_engine::resolve(cx, None)?;
    let program = engine.program();
    let format = "{{.Repository}}:{{.Tag}}";
    let listed = cmd!(cx.sh, "{program} images --format {format}").quiet().read()?;
    let ours: Vec<&str> = listed
        .lines()
        .filter(|reference| {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            name.starts_with("todo-api:") || name.starts_with("todo-web:")
        })
        .collect();
    if !ours.is_empty() {
        cmd!(cx.sh, "{program} rmi --force {ours...}").quiet().ignore_stdout().run()?;
    }
    Ok(())
}
