//! The transcripts in `docs/ai-devops/<tool>.md`: each run appends a dated section with every
//! prompt, its command line (keys are never on it), its output and how long it took. Everything
//! written passes the redactor first.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context as _, Result};
use camino::Utf8Path;

use crate::clock;
use crate::secret::Redactor;
use crate::ui::fmt_duration;

/// One prompt's record.
pub struct Entry {
    pub title: String,
    pub effect: &'static str,
    pub prompt: String,
    pub command: String,
    pub duration: Duration,
    /// "exit 0", "timed out after 2.0s and was stopped", ...
    pub result: String,
    pub output: String,
}

/// Appends a dated run of `tool` to `dir/<file>`, creating the file with a heading.
pub fn append(
    dir: &Utf8Path,
    file: &str,
    heading: &str,
    entries: &[Entry],
    redactor: &Redactor,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    let path = dir.join(file);
    let mut text = String::new();
    if !path.exists() {
        text.push_str(&format!(
            "# {heading}\n\nTranscripts of `cargo xtask ai-showcase`: each run appends a dated section \
             (prompt, command line, output, duration). Secret values are shown as `<redacted>`.\n"
        ));
    }
    text.push_str(&format!("\n## Run of {}\n", clock::utc_now()));
    for entry in entries {
        text.push_str(&format!("\n### {} ({})\n\n", entry.title, entry.effect));
        if !entry.prompt.is_empty() {
            text.push_str(&format!("Prompt: {}\n\n", entry.prompt));
        }
        if !entry.command.is_empty() {
            text.push_str(&format!("Command: `{}`\n\n", entry.command));
        }
        text.push_str(&format!("Duration: {}; {}\n\n", fmt_duration(entry.duration), entry.result));
        let output = entry.output.trim_end();
        let fence = if output.contains("```") { "~~~~" } else { "```" };
        text.push_str(&format!(
            "{fence}text\n{}\n{fence}\n",
            if output.is_empty() { "(no output)" } else { output }
        ));
    }
    let text = redactor.redact(&text);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot write {path}"))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn runs_are_appended_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let redactor = Redactor::default();
        redactor.register(&Secret::new("canary-transcript-1234"));
        let entry = Entry {
            title: "pods".into(),
            effect: "read-only",
            prompt: "list pods".into(),
            command: "kubectl-ai --quiet 'list pods'".into(),
            duration: Duration::from_millis(1500),
            result: "exit 0".into(),
            output: "token canary-transcript-1234 seen".into(),
        };
        append(dir, "kubectl-ai.md", "kubectl-ai", &[entry], &redactor).unwrap();
        append(dir, "kubectl-ai.md", "kubectl-ai", &[], &redactor).unwrap();
        let text = std::fs::read_to_string(dir.join("kubectl-ai.md")).unwrap();
        assert!(text.starts_with("# kubectl-ai\n"), "{text}");
        assert!(text.contains("token <redacted> seen") && !text.contains("canary-transcript"), "{text}");
        assert!(text.contains("Duration: 1.5s; exit 0"), "{text}");
        assert_eq!(text.matches("## Run of").count(), 1);
    }
}
