//! `.env`: the developer's settings and secrets, read with dotenvy's parser (quotes, `export`,
//! multi-line values, `${VAR}` substitution), each entry remembered with its line number, and every
//! value held as a [`Secret`] until a caller decides it is not one.
//!
//! Errors give line numbers and never the line itself: a malformed line is often a secret with a
//! stray quote.

use std::fs;
use std::io::Write as _;

use anyhow::{Context as _, Result, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::secret::Secret;

pub const ENV_FILE: &str = ".env";

/// The settings file the cluster phases read: `.env`, or the one `XTASK_ENV_FILE` names (relative
/// to the project root), so a test deploying to a real cluster never reads or writes a
/// developer's `.env`.
pub fn cluster_env_file() -> String {
    match std::env::var("XTASK_ENV_FILE") {
        Ok(path) if !path.is_empty() => path,
        _ => ENV_FILE.to_owned(),
    }
}
pub const EXAMPLE_FILE: &str = "deploy/.env.example";

pub struct Entry {
    pub key: String,
    pub value: Secret,
    /// 1-based line where the entry starts.
    pub line: usize,
}

pub struct EnvFile {
    pub path: Utf8PathBuf,
    pub exists: bool,
    /// In file order; a key set twice appears twice (the last one wins, as in dotenvy).
    pub entries: Vec<Entry>,
    text: String,
}

impl EnvFile {
    /// Reads `root/rel`; a missing file reads as empty. Errors name `rel`.
    pub fn read(root: &Utf8Path, rel: &str) -> Result<EnvFile> {
        let path = &root.join(rel);
        let (text, exists) = match fs::read_to_string(path) {
            Ok(text) => (text, true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
            Err(err) => return Err(err).with_context(|| format!("cannot read {path}")),
        };
        let entries = parse(&text).map_err(|err| anyhow::anyhow!("{rel}:{err}"))?;
        Ok(EnvFile { path: path.to_owned(), exists, entries, text })
    }

    /// The value in effect for `key`, with its line; an empty value counts as unset.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|entry| entry.key == key && !entry.value.expose().is_empty())
    }

    /// Sets keys that have no value yet (absent, or `KEY=` with nothing after it) and writes the
    /// file, private to its owner. A value the user set is never touched; every other line stays as
    /// it was.
    pub fn fill_in(&mut self, values: &[(String, Secret)], comment: &str) -> Result<()> {
        let mut lines: Vec<String> = self.text.lines().map(str::to_owned).collect();
        let mut appended = Vec::new();
        for (key, value) in values {
            if self.get(key).is_some() {
                continue;
            }
            let assignment = format!("{key}={}", value.expose());
            // `KEY=` placeholders copied from .env.example are filled where they stand.
            let empty = self.entries.iter().rev().find(|entry| entry.key == *key);
            match empty {
                Some(entry) if is_bare_assignment(&lines[entry.line - 1], key) => {
                    lines[entry.line - 1] = assignment;
                }
                _ => appended.push(assignment),
            }
        }
        if !appended.is_empty() {
            if lines.last().is_some_and(|line| !line.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push(format!("# {comment}"));
            lines.extend(appended);
        }
        let text = lines.join("\n") + "\n";
        write_private(&self.path, &text)?;
        self.entries = parse(&text).map_err(|err| anyhow::anyhow!("{ENV_FILE}:{err}"))?;
        self.text = text;
        self.exists = true;
        Ok(())
    }
}

/// `KEY=`, `KEY=""`, `KEY=''` or `export KEY=`: a placeholder with nothing in it.
fn is_bare_assignment(line: &str, key: &str) -> bool {
    let line = line.trim();
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let Some(rest) = line.strip_prefix(key) else { return false };
    let Some(value) = rest.trim_start().strip_prefix('=') else { return false };
    let value = value.split(" #").next().unwrap_or("").trim();
    matches!(value, "" | "\"\"" | "''")
}

/// Entries with their line numbers, or `LINE: what is wrong`.
fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let starts = line_starts(text);
    let line_of = |offset: usize| starts.partition_point(|&start| start <= offset);
    let mut entries = Vec::new();
    // Byte offset from which to look for the next entry's line: entries come in file order.
    let mut cursor = 0;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                let offset = find_assignment(text, cursor, &key).unwrap_or(cursor);
                cursor = text[offset..].find('\n').map_or(text.len(), |at| offset + at + 1);
                entries.push(Entry { key, value: Secret::new(value), line: line_of(offset) });
            }
            Err(dotenvy::Error::LineParse(chunk, index)) => {
                // `chunk` is the offending line (or lines, for an unclosed quote): locate it, never
                // print it.
                let start = text[cursor..].find(chunk.trim_end()).map_or(cursor, |at| cursor + at);
                let line = line_of(start);
                let end_line = line_of((start + index).min(text.len().saturating_sub(1)));
                let detail = if end_line > line {
                    format!(
                        "a quoted value starting on this line is not closed (the parser reached line {end_line})"
                    )
                } else {
                    "cannot parse this line; write KEY=value, quoting a value that has spaces or #".to_owned()
                };
                return Err(format!("{line}: {detail}"));
            }
            Err(err) => return Err(format!("0: cannot read the file: {}", describe(&err))),
        }
    }
    Ok(entries)
}

/// dotenvy's error text without the line content it may carry.
fn describe(err: &dotenvy::Error) -> String {
    match err {
        dotenvy::Error::LineParse(_, index) => format!("parse error at index {index}"),
        dotenvy::Error::Io(err) => err.to_string(),
        dotenvy::Error::EnvVar(err) => err.to_string(),
        _ => "unreadable".to_owned(),
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect()
}

/// Offset of the first line from the line start `from` on that assigns `key` (`KEY=`,
/// `export KEY =`).
fn find_assignment(text: &str, from: usize, key: &str) -> Option<usize> {
    let mut offset = from;
    for line in text[offset..].split_inclusive('\n') {
        let trimmed = line.trim_start();
        let body = trimmed.strip_prefix("export ").map_or(trimmed, str::trim_start);
        if body.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=')) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// Writes `text` to `path` through a temporary file, readable by its owner only.
fn write_private(path: &Utf8Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("xtask-tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).with_context(|| format!("cannot write {tmp}"))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {tmp}"))?;
    file.sync_all()?;
    drop(file);
    if let Err(err) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        bail!("cannot replace {path}: {err}");
    }
    Ok(())
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut bytes = vec![0; n];
    let mut urandom = fs::File::open("/dev/urandom").context("cannot open /dev/urandom")?;
    std::io::Read::read_exact(&mut urandom, &mut bytes).context("cannot read /dev/urandom")?;
    Ok(bytes)
}

/// A random token of `bytes` bytes as lowercase hex: safe in a URL, a shell and a YAML file.
pub fn random_hex(bytes: usize) -> Result<String> {
    Ok(random_bytes(bytes)?.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<EnvFile> {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        fs::write(root.join(ENV_FILE), text).unwrap();
        EnvFile::read(&root, ENV_FILE)
    }

    #[test]
    fn entries_know_their_lines_and_quotes_work() {
        let env = read("# comment\n\nexport A=1\nB = \"two words\" # note\nC='multi\nline'\nD=\nB=again\n")
            .unwrap();
        let summary: Vec<(&str, &str, usize)> =
            env.entries.iter().map(|e| (e.key.as_str(), e.value.expose(), e.line)).collect();
        assert_eq!(
            summary,
            [("A", "1", 3), ("B", "two words", 4), ("C", "multi\nline", 5), ("D", "", 7), ("B", "again", 8)]
        );
        assert_eq!(env.get("B").unwrap().line, 8, "the last assignment wins");
        assert!(env.get("D").is_none(), "empty counts as unset");
    }

    #[test]
    fn a_malformed_line_is_reported_by_number_without_its_content() {
        let err = read("A=1\nB=2\nJWT_SECRET=canary value with spaces\nC=3\n").err().unwrap().to_string();
        assert!(
            err.ends_with(
                ".env:3: cannot parse this line; write KEY=value, quoting a value that has spaces or #"
            ),
            "{err}"
        );
        assert!(!err.contains("canary"), "{err}");

        let err = read("A=1\nPASSWORD=\"canary-unclosed\nB=2\n").err().unwrap().to_string();
        assert!(err.contains(".env:2: a quoted value starting on this line is not closed"), "{err}");
        assert!(!err.contains("canary"), "{err}");
    }

    #[test]
    fn filling_in_keeps_user_values_and_fills_placeholders_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let path = root.join(ENV_FILE);
        fs::write(&path, "# mine\nJWT_SECRET=\nLLM_API_KEY=sk-mine\n").unwrap();
        let mut env = EnvFile::read(&root, ENV_FILE).unwrap();
        let values = [
            ("JWT_SECRET".to_owned(), Secret::new("generated-jwt")),
            ("LLM_API_KEY".to_owned(), Secret::new("never-used")),
            ("POSTGRES_PASSWORD".to_owned(), Secret::new("generated-pw")),
        ];
        env.fill_in(&values, "generated").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "# mine\nJWT_SECRET=generated-jwt\nLLM_API_KEY=sk-mine\n\n# generated\nPOSTGRES_PASSWORD=generated-pw\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(env.get("POSTGRES_PASSWORD").unwrap().line, 6);
        // A second fill changes nothing.
        env.fill_in(&values, "generated").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap().matches("generated-pw").count(), 1);
    }

    #[test]
    fn random_tokens_are_hex_and_differ() {
        let (a, b) = (random_hex(32).unwrap(), random_hex(32).unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
