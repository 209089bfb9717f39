//! The `api-contract` real-tool suite: schemathesis (PyPI, pinned in ci/python-tools.txt)
//! generates requests from the served OpenAPI document, valid and invalid ones, runs every check
//! it has against the real binary (SQLite, a temp dir, port 0) with a valid token, and must find
//! nothing: the document says exactly what the server accepts and answers.
//!
//! `#[ignore]`d so plain `cargo test` passes anywhere; `cargo xtask test` runs it once
//! `bash ci/python-tools.sh` has installed schemathesis into target/ci/venv (looked for there,
//! then on PATH). Without it the test is skipped with the reason, or fails when
//! TODO_REQUIRE_TOOLS=1 (CI). By hand: `cargo test -p todo-api --test api -- --ignored contract
//! --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestDb};
use crate::shutdown::Server;

/// Fixed, so a failure found here is found again by the next run (and by `st replay`).
const SEED: &str = "17";
/// Cases per operation and phase: about 2,000 requests, a minute or two on 2 busy cores.
const MAX_EXAMPLES: &str = "100";

fn schemathesis() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let found = [root.join("target/ci/venv/bin/schemathesis")]
        .into_iter()
        .find(|path| path.is_file())
        .or_else(|| which("schemathesis"));
    if found.is_none() {
        let reason = "the api-contract suite needs `schemathesis` (looked in target/ci/venv and on \
                      PATH); run `bash ci/python-tools.sh`";
        if std::env::var("TODO_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{reason}; TODO_REQUIRE_TOOLS=1 forbids skipping");
        }
        eprintln!("skipped: {reason}");
    }
    found
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "real-tool suite: run by cargo xtask test"]
async fn schemathesis_finds_no_failures_against_the_served_document() {
    let Some(schemathesis) = schemathesis() else { return };
    let db = TestDb::new(Backend::Sqlite).await;
    // Generous limits: the run measures the contract, not the limiter (its 429 is documented,
    // and the limits tests exercise it).
    let server = Server::start(
        &db,
        &[("RATE_LIMIT_AUTH_PER_MINUTE", "1000000"), ("RATE_LIMIT_WRITES_PER_MINUTE", "1000000")],
    );
    let base = format!("http://{}", server.addr);
    let signup = reqwest::Client::new()
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": "contract@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), reqwest::StatusCode::CREATED);
    let token = signup.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();

    let reports = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = Command::new(&schemathesis)
        .args(["run", &format!("{base}/api/openapi.json"), "--checks", "all"])
        // One worker: with two, the tool itself crashed once in CI with CPython 3.11's "AST
        // constructor recursion depth mismatch" (Debian 12's Python is 3.11.2), reported as an
        // error of the operation it hit; most likely Hypothesis raising the process-wide recursion
        // limit in one thread while the other was in `ast.parse`. One worker takes 36 s here.
        .args(["--seed", SEED, "--max-examples", MAX_EXAMPLES, "--workers", "1", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(reports.path())
        // The token goes in argv: it is a throwaway one, for a user of this test's own database.
        .args(["-H", &format!("Authorization: Bearer {token}")])
        // Its cache and replay files stay out of the tree.
        .current_dir(reports.path())
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("schemathesis ran for {:.0?}", started.elapsed());
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("generated,") || l.contains("passed") || l.contains("failures in"))
        .collect();
    eprintln!("{}", summary.join("\n"));
    assert!(
        output.status.success() && !stdout.contains("unique failures") && !stdout.contains("errors in"),
        "schemathesis found failures (exit {:?}); reproduce with the curl lines below or \
         `st replay <id>`:\n{stdout}\n{stderr}",
        output.status.code()
    );
    drop(server);
    db.cleanup().await;
}
