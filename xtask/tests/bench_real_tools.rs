//! The `bench` suite: `cargo xtask bench --quick` on this machine, with the real engine, test
//! cluster, PostgreSQL, wrk and pgbench, writes a report that is well-formed and has every figure
//! of the catalogue: measured, or skipped with its reason, never blank. docs/benchmarks.md is the
//! full run's record and a quick run leaves it alone.
//!
//! Run by `cargo xtask test` (after the containers and kube suites, whose images and cluster it
//! reuses); by hand: `cargo test -p xtask --test bench_real_tools -- --ignored --nocapture`.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_tools_bench_quick_reports_every_figure_measured_or_skipped_with_its_reason() {
    let require_tools = std::env::var("TODO_REQUIRE_TOOLS").as_deref() == Ok("1");
    let docs_before = std::fs::read_to_string(root().join("docs/benchmarks.md")).unwrap();
    let state = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["bench", "--quick"])
        .current_dir(root())
        .env("XTASK_STATE_DIR", state.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo xtask bench --quick failed (its output is above)");
    assert_eq!(
        std::fs::read_to_string(root().join("docs/benchmarks.md")).unwrap(),
        docs_before,
        "a quick run rewrote docs/benchmarks.md"
    );

    let report: Value =
        serde_json::from_slice(&std::fs::read(state.path().join("bench.json")).unwrap()).unwrap();
    assert_eq!(report["quick"], true);
    for key in ["cores", "memory_gib", "os", "rustc", "commit", "date"] {
        assert!(!report["machine"][key].is_null(), "machine.{key} is missing: {}", report["machine"]);
    }
    let figures: Vec<&Value> = report["areas"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|area| area["figures"].as_array().unwrap())
        .collect();
    let by_id: HashMap<&str, &Value> =
        figures.iter().map(|figure| (figure["id"].as_str().unwrap(), *figure)).collect();
    assert_eq!(by_id.len(), figures.len(), "a figure is reported twice");
    let ids = xtask::bench_figure_ids();
    assert_eq!(
        figures.len(),
        ids.len(),
        "the report has {} figures, the catalogue {}",
        figures.len(),
        ids.len()
    );

    let mut measured = 0;
    for id in &ids {
        let figure = by_id.get(id.as_str()).unwrap_or_else(|| panic!("{id} is missing from bench.json"));
        let verdict = figure["verdict"].as_str().unwrap();
        let command = figure["command"].as_str().unwrap_or("");
        if verdict == "skipped" {
            let reason = figure["skipped"].as_str().unwrap_or("");
            assert!(!reason.trim().is_empty(), "{id} is skipped without a reason: {figure}");
            if require_tools {
                // With every tool installed, only the figures that take minutes may be left out.
                assert!(reason.contains("`--quick` leaves out"), "{id} skipped in CI: {reason}");
            }
            continue;
        }
        measured += 1;
        assert!(["met", "missed", "no goal"].contains(&verdict), "{id}: verdict {verdict}");
        assert!(!command.trim().is_empty(), "{id} has no command to reproduce it");
        let samples: Vec<f64> =
            figure["samples"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
        let runs = figure["runs"].as_u64().unwrap() as usize;
        assert!(runs >= 1 && samples.len() == runs, "{id}: {runs} runs, {} samples", samples.len());
        let (median, min, max) = (
            figure["median"].as_f64().unwrap(),
            figure["min"].as_f64().unwrap(),
            figure["max"].as_f64().unwrap(),
        );
        assert!(min <= median && median <= max, "{id}: min {min}, median {median}, max {max}");
        assert!(samples.iter().all(|s| s.is_finite() && *s >= 0.0), "{id}: samples {samples:?}");
        assert_eq!(
            verdict == "no goal",
            figure["goal"].is_null(),
            "{id}: verdict {verdict}, goal {}",
            figure["goal"]
        );
    }
    assert!(measured * 2 >= ids.len(), "only {measured} of {} figures were measured", ids.len());

    // The Markdown: one table per area between its markers, a row per figure, no blank cell.
    let markdown = std::fs::read_to_string(state.path().join("bench.md")).unwrap();
    for area in report["areas"].as_array().unwrap() {
        let key = area["area"].as_str().unwrap();
        let (begin, end) = (format!("<!-- bench:{key} begin -->"), format!("<!-- bench:{key} end -->"));
        assert_eq!(markdown.matches(&begin).count(), 1, "{begin} in:\n{markdown}");
        let block = &markdown[markdown.find(&begin).unwrap()..markdown.find(&end).expect(&end)];
        let rows: Vec<&str> =
            block.lines().filter(|line| line.starts_with("| ") && !line.starts_with("| figure")).collect();
        assert_eq!(rows.len(), area["figures"].as_array().unwrap().len(), "{key}'s table:\n{block}");
        for row in rows {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 7, "a row of {key} with {} cells: {row}", cells.len());
            assert!(cells.iter().all(|cell| !cell.trim().is_empty()), "a blank cell in {key}: {row}");
        }
    }
}
