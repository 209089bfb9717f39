//! `cargo xtask helm-gen` writes the chart from the deploy description; `--dry-run` touches nothing.

mod support;

use std::path::Path;

use support::World;

fn world() -> World {
    let mut world = World::new();
    world.repo_files(&[
        "deploy/todo.toml",
        "deploy/environments/minikube.toml",
        "deploy/environments/cluster.toml",
    ]);
    world
}

/// Every file under `dir`, and every directory, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            found.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn fakes_helm_gen_writes_the_chart_and_dry_run_changes_nothing() {
    let mut world = world();
    let chart = world.root.join("infra/helm/todo");

    let run = world.xtask(&["--dry-run", "helm-gen"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("would write infra/helm/todo/Chart.yaml"), "{}", run.stderr);
    assert!(run.stderr.contains("files would change"), "{}", run.stderr);
    assert!(!chart.exists(), "--dry-run wrote {:?}", tree(&chart));

    let run = world.xtask(&["helm-gen"]);
    assert!(run.success(), "{}", run.all());
    assert!(chart.join("Chart.yaml").is_file() && chart.join("values.yaml").is_file());

    // A stray file in a folder of its own: a dry run reports it and leaves the folder alone.
    world.file("infra/helm/todo/templates/old/stray.yaml", "kind: ConfigMap\n");
    std::fs::create_dir(chart.join("templates/empty")).unwrap();
    let before = tree(&chart);
    let run = world.xtask(&["--dry-run", "helm-gen"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("would remove infra/helm/todo/templates/old/stray.yaml"), "{}", run.stderr);
    assert_eq!(tree(&chart), before);

    let run = world.xtask(&["helm-gen"]);
    assert!(run.success(), "{}", run.all());
    assert!(!chart.join("templates/old").exists(), "the emptied folder goes too");
    assert!(!chart.join("templates/empty").exists());
}
