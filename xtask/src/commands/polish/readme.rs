//! Do the docs show commands that exist? Every `cargo xtask …` command line in README.md and the
//! Markdown under docs/, infra/, ci/ and services/ — in a code block, or in an inline code span —
//! is parsed with this CLI's own definition, so a renamed flag or subcommand shows up here rather
//! than in a new user's terminal.

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use clap::Parser;

use crate::cli::Cli;

const INVOCATION: &str = "cargo xtask";

pub struct Report {
    /// How many command lines were checked.
    pub commands: usize,
    /// The files read, relative to the root.
    pub files: Vec<String>,
    /// `FILE:LINE: `command`: what clap says`, one per command that does not parse.
    pub problems: Vec<String>,
}

pub fn check(root: &Utf8Path) -> Result<Report> {
    let mut report = Report { commands: 0, files: Vec::new(), problems: Vec::new() };
    for file in markdown_files(root)? {
        let text =
            std::fs::read_to_string(root.join(&file)).with_context(|| format!("cannot read {file}"))?;
        report.files.push(file.to_string());
        for (line, command) in commands_in(&text) {
            report.commands += 1;
            if let Some(problem) = problem(&command) {
                report.problems.push(format!("{file}:{line}: `{command}`: {problem}"));
            }
        }
    }
    Ok(report)
}

fn markdown_files(root: &Utf8Path) -> Result<Vec<Utf8PathBuf>> {
    let mut files = vec![Utf8PathBuf::from("README.md")];
    for dir in ["docs", "infra", "ci", "services"] {
        collect(root, Utf8Path::new(dir), &mut files)?;
    }
    Ok(files)
}

fn collect(root: &Utf8Path, dir: &Utf8Path, files: &mut Vec<Utf8PathBuf>) -> Result<()> {
    let Ok(entries) = root.join(dir).read_dir_utf8() else { return Ok(()) };
    let mut entries: Vec<_> = entries.collect::<std::io::Result<_>>()?;
    entries.sort_by(|a, b| a.file_name().cmp(b.file_name()));
    for entry in entries {
        let path = dir.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if !matches!(entry.file_name(), "target" | "node_modules") {
                collect(root, &path, files)?;
            }
        } else if entry.file_name().ends_with(".md") {
            files.push(path);
        }
    }
    Ok(())
}

/// The `cargo xtask` command lines of a Markdown text, with their 1-based line numbers: in code
/// blocks the rest of the line up to a `#` comment, a shell operator or a parenthesis; elsewhere
/// only inside inline code spans. Commands with a placeholder (`…`, `<PHASE>`, `[--env ENV]`) are
/// left out.
pub fn commands_in(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_block = false;
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let spans: Vec<&str> = if in_block {
            vec![line]
        } else {
            // The odd pieces between backticks are code spans.
            line.split('`').skip(1).step_by(2).collect()
        };
        for span in spans {
            let mut rest = span;
            while let Some(at) = rest.find(INVOCATION) {
                let tail = &rest[at..];
                let end =
                    [" #", "&&", "||", "|", ";", "(", ")", "`"].iter().filter_map(|op| tail.find(op)).min();
                let command = tail[..end.unwrap_or(tail.len())].trim().to_owned();
                rest = &tail[INVOCATION.len()..];
                if !["…", "...", "<", "["].iter().any(|placeholder| command.contains(placeholder)) {
                    found.push((index + 1, command));
                }
            }
        }
    }
    found
}

/// What is wrong with `command` as a command line of this CLI; `None` when it parses.
pub fn problem(command: &str) -> Option<String> {
    let words: Vec<String> = command
        .trim_start_matches(INVOCATION)
        .split_whitespace()
        .map(|word| word.trim_matches(|c| c == '"' || c == '\'').to_owned())
        .collect();
    if words.is_empty() {
        // `cargo xtask` alone prints the list of commands.
        return None;
    }
    let argv = std::iter::once("cargo-xtask".to_owned()).chain(words);
    match Cli::try_parse_from(argv) {
        Ok(_) => None,
        Err(err)
            if matches!(
                err.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            None
        }
        Err(err) => {
            let text = err.to_string();
            Some(text.lines().next().unwrap_or("does not parse").trim_start_matches("error: ").to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_come_from_code_blocks_and_code_spans_only() {
        let text = "Run `cargo xtask up --port 0` first; cargo xtask in prose is not a command.\n\
                    ```sh\n\
                    cargo xtask deploy --env cluster   # the current context\n\
                    cargo xtask doctor && cargo xtask test -- -p xtask doctor\n\
                    cargo xtask deploy --from <PHASE>\n\
                    ```\n\
                    Then `cargo xtask status`.\n";
        assert_eq!(
            commands_in(text),
            [
                (1, "cargo xtask up --port 0".to_owned()),
                (3, "cargo xtask deploy --env cluster".to_owned()),
                (4, "cargo xtask doctor".to_owned()),
                (4, "cargo xtask test -- -p xtask doctor".to_owned()),
                (7, "cargo xtask status".to_owned()),
            ]
        );
    }

    #[test]
    fn a_command_that_does_not_exist_is_caught_and_one_that_does_passes() {
        assert_eq!(problem("cargo xtask deploy --env cluster --registry 127.0.0.1:5000"), None);
        assert_eq!(problem("cargo xtask test -- -p xtask doctor"), None);
        assert_eq!(problem("cargo xtask deploy --help"), None);
        assert!(problem("cargo xtask deplyo").unwrap().contains("unrecognized subcommand 'deplyo'"));
        assert!(problem("cargo xtask deploy --fast").unwrap().contains("unexpected argument '--fast'"));
        assert!(problem("cargo xtask doctor --target moon").unwrap().contains("invalid value 'moon'"));
    }

    #[test]
    fn every_command_the_repository_documents_exists() {
        let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let report = check(root).unwrap();
        assert!(report.commands > 30, "the README alone shows more: {}", report.commands);
        assert!(report.problems.is_empty(), "{}", report.problems.join("\n"));
    }
}
