//! xtask's own figures: what a developer waits for before any phase runs.

use anyhow::{Result, bail};
use camino::Utf8PathBuf;
use xshell::cmd;

use super::{Bench, seconds};
use crate::commands::bench::deploy::TestCluster;
use crate::commands::up::PREBUILT_ENV;

pub fn measure(bench: &mut Bench) -> Result<()> {
    cold_compile(bench)?;
    // doctor exits 1 on a machine missing a tool, after the same work: its status is not the figure.
    warm(bench, "xtask.doctor", &["doctor".to_owned()], &[], false)?;
    match TestCluster::from_env(bench.cx) {
        Ok(cluster) => {
            let args = cluster.deploy_args(&["deploy", "--dry-run"]);
            // A settings file and phase state of the bench's own: the plan is a first deploy's,
            // whatever the developer's records say.
            let dir = bench.cx.state_dir().join("bench/dry-run");
            std::fs::create_dir_all(&dir)?;
            let secret = crate::env_file::random_hex(32)?;
            let settings =
                format!("JWT_SECRET={secret}\nDATABASE_URL=postgres://todo:unused@db.example:5432/todo\n");
            std::fs::write(dir.join("env"), settings)?;
            let env = [
                ("XTASK_ENV_FILE".to_owned(), dir.join("env").to_string()),
                ("XTASK_STATE_DIR".to_owned(), dir.join("state").to_string()),
            ];
            warm(bench, "xtask.deploy_dry_run", &args, &env, true)?;
        }
        Err(reason) => {
            bench.skip("xtask.deploy_dry_run", reason, "cargo xtask deploy --dry-run --env cluster")
        }
    }
    Ok(())
}

/// xtask and every dependency compiled into an empty target directory, the crates already
/// downloaded: what the first `cargo xtask` of a fresh clone waits for.
fn cold_compile(bench: &mut Bench) -> Result<()> {
    let id = "xtask.cold_compile";
    let shown = "CARGO_TARGET_DIR=$(mktemp -d) cargo build -p xtask";
    if !bench.wants(id, shown) {
        return Ok(());
    }
    let cx = bench.cx;
    let target = cx.state_dir().join("bench/cold-xtask-target");
    let runs = bench.runs(3, 1);
    bench.repeat(id, runs, shown, |_| {
        let _ = std::fs::remove_dir_all(&target);
        let took = seconds(|| {
            let output = cmd!(cx.sh, "cargo build -q --offline -p xtask")
                .env("CARGO_TARGET_DIR", &target)
                .quiet()
                .ignore_stdout()
                .output()?;
            if !output.status.success() {
                bail!("cargo build -p xtask failed: {}", String::from_utf8_lossy(&output.stderr));
            }
            Ok(())
        });
        let _ = std::fs::remove_dir_all(&target);
        took
    })?;
    Ok(())
}

/// `cargo xtask ARGS` as a user types it, xtask already built: cargo's freshness check, then the
/// command. One run first warms the caches; it is not counted.
fn warm(
    bench: &mut Bench,
    id: &str,
    args: &[String],
    env: &[(String, String)],
    must_succeed: bool,
) -> Result<()> {
    let cx = bench.cx;
    let runs = bench.runs(20, 3);
    // Under `cargo xtask test` (a quick check of the report) the binary the compile phase built
    // runs directly: `cargo xtask` would first rebuild xtask with its own feature set.
    let prebuilt = bench.quick && std::env::var(PREBUILT_ENV).as_deref() == Ok("1");
    let exe = std::env::current_exe().ok().and_then(|exe| Utf8PathBuf::from_path_buf(exe).ok());
    let (program, leading, shown) = match exe {
        Some(exe) if prebuilt => (exe.to_string(), vec![], format!("target/debug/xtask {}", args.join(" "))),
        _ => ("cargo".to_owned(), vec!["xtask".to_owned()], format!("cargo xtask {}", args.join(" "))),
    };
    let (program, leading) = (program.as_str(), leading.as_slice());
    let run_once = || -> Result<()> {
        let mut command =
            cmd!(cx.sh, "{program} {leading...} {args...}").env("NO_COLOR", "1").quiet().ignore_status();
        for (key, value) in env {
            command = command.env(key, value);
        }
        let output = command.output()?;
        if must_succeed && !output.status.success() {
            bail!("`{shown}` failed:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    };
    run_once()?;
    bench.repeat(id, runs, &shown, |_| seconds(run_once))?;
    Ok(())
}
