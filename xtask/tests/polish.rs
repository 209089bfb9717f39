//! `cargo xtask polish` from the command line, on a scratch project: the README/CLI check and the
//! review report it writes, and a linter that is not installed. The linters themselves run for
//! real in the `chart` and `scripts` suites.

mod support;

use support::World;

const README: &str = "# todo\n\n```sh\ncargo xtask deplyo          # a typo the docs shipped\ncargo xtask deploy --env cluster\n```\n\nThen `cargo xtask status --watch`.\n";

#[test]
fn fakes_the_readme_check_names_each_command_that_does_not_exist_and_the_report_says_fail() {
    let mut world = World::new();
    world.file("README.md", README);
    let run = world.xtask(&["polish", "--only", "readme", "--report", "review.md"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("README.md:4: `cargo xtask deplyo`: unrecognized subcommand 'deplyo'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("README.md:8: `cargo xtask status --watch`: unexpected argument '--watch'"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("README.md:5"), "a command that exists is not reported: {}", run.stderr);
    assert!(run.stderr.contains("1 check failed: readme"), "{}", run.stderr);
    let report = world.read("review.md");
    assert!(report.contains("| The docs show only commands that exist | **fail** |"), "{report}");
    assert!(report.contains("| readme | **fail** |"), "{report}");

    world.file("README.md", "```sh\ncargo xtask deploy --env cluster\n```\n");
    let run = world.xtask(&["polish", "--only", "readme", "--report", "review.md"]);
    assert!(run.success(), "{}", run.all());
    assert!(world.read("review.md").contains("| The docs show only commands that exist | pass |"));
}

#[test]
fn fakes_a_missing_linter_is_skipped_with_its_fix_and_its_criterion_is_not_measured() {
    let mut world = World::new();
    world.file("README.md", "# todo\n");
    let run = world.xtask(&["polish", "--only", "hadolint", "--only", "shellcheck", "--report", "review.md"]);
    assert!(run.success(), "a missing tool is not a failure: {}", run.all());
    assert!(
        run.stderr
            .contains("– hadolint skipped: hadolint is not installed; bash ci/python-tools.sh installs it"),
        "{}",
        run.stderr
    );
    let report = world.read("review.md");
    assert!(report.contains("| Dockerfiles and shell scripts lint-clean | not measured |"), "{report}");
    assert!(
        report.contains(
            "| From source to a verified deployment with one command | not measured | no deploy has run here: `cargo xtask demo` |"
        ),
        "nothing is assumed to pass: {report}"
    );
}
