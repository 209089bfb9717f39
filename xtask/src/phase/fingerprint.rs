//! A stable hash of a phase's inputs: files, directory trees, settings, tool versions.
//!
//! FNV-1a with 128 bits: stable across Rust releases and machines (unlike `DefaultHasher`), no
//! dependency, and collisions are not a concern for change detection.

use std::fs;

use anyhow::{Context as _, Result};
use camino::Utf8Path;

/// What is never an input, as the `**/` lines of `.dockerignore` (a test keeps them equal): the
/// docker build context leaves these out at any depth, so hashing them would change an image's tag
/// for a file that never reaches the image. `*` matches any characters; the trailing `/` is only a
/// reminder, since Docker cleans it off (a file named `target` is left out too).
pub const CONTEXT_EXCLUDES: [&str; 9] = [
    "**/target/",
    "**/data/",
    "**/.git/",
    "**/node_modules/",
    "**/*.db",
    "**/*.db-*",
    "**/*.sqlite*",
    "**/.env",
    "**/.env.*",
];

/// Whether a directory entry called `name` is left out (by a `**/` pattern of CONTEXT_EXCLUDES).
fn excluded(name: &str) -> bool {
    CONTEXT_EXCLUDES.iter().any(|pattern| {
        let pattern = pattern.strip_prefix("**/").unwrap_or(pattern);
        glob(pattern.strip_suffix('/').unwrap_or(pattern), name)
    })
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else { return false };
            (0..=rest.len()).filter(|&i| rest.is_char_boundary(i)).any(|i| glob(tail, &rest[i..]))
        }
    }
}

#[derive(Clone)]
pub struct Fingerprint {
    state: u128,
}

impl Default for Fingerprint {
    fn default() -> Fingerprint {
        Fingerprint::new()
    }
}

impl Fingerprint {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;

    pub fn new() -> Fingerprint {
        Fingerprint { state: Fingerprint::OFFSET }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        // Length first, so ("ab", "c") and ("a", "bc") hash differently.
        for byte in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.state ^= u128::from(*byte);
            self.state = self.state.wrapping_mul(Fingerprint::PRIME);
        }
    }

    /// A named setting: a config value, a tool version, a flag.
    pub fn value(&mut self, label: &str, value: &str) -> &mut Fingerprint {
        self.bytes(label.as_bytes());
        self.bytes(value.as_bytes());
        self
    }

    /// One file's content (a missing file counts, as missing).
    pub fn file(&mut self, root: &Utf8Path, rel: &str) -> Result<&mut Fingerprint> {
        self.bytes(rel.as_bytes());
        match fs::read(root.join(rel)) {
            Ok(content) => self.bytes(&content),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => self.bytes(b"\0missing"),
            Err(err) => return Err(err).with_context(|| format!("cannot read {rel}")),
        }
        Ok(self)
    }

    /// Every file below `rel`, by relative path and content, in a stable order.
    pub fn tree(&mut self, root: &Utf8Path, rel: &str) -> Result<&mut Fingerprint> {
        let mut files = Vec::new();
        collect_files(root, rel, &mut files)?;
        files.sort();
        for file in files {
            self.file(root, &file)?;
        }
        Ok(self)
    }

    pub fn hex(&self) -> String {
        format!("{:032x}", self.state)
    }
}

fn collect_files(root: &Utf8Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
    let dir = root.join(rel);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("cannot list {rel}")),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        let kind = entry.file_type()?;
        if excluded(&name) {
            continue;
        }
        if kind.is_dir() {
            collect_files(root, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_hash_any_change_differs() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        fs::create_dir_all(root.join("src/nested")).unwrap();
        fs::create_dir_all(root.join("src/target")).unwrap();
        fs::write(root.join("src/a.rs"), "fn a() {}").unwrap();
        fs::write(root.join("src/nested/b.rs"), "fn b() {}").unwrap();
        fs::write(root.join("src/target/out.o"), "build output").unwrap();

        let hash = || Fingerprint::new().tree(root, "src").unwrap().value("tag", "x").hex();
        let first = hash();
        assert_eq!(first, hash());
        assert_eq!(first.len(), 32);

        fs::write(root.join("src/target/out.o"), "rebuilt").unwrap();
        assert_eq!(first, hash(), "ignored directories are not inputs");

        fs::write(root.join("src/nested/b.rs"), "fn b() { }").unwrap();
        let edited = hash();
        assert_ne!(first, edited);

        fs::rename(root.join("src/nested/b.rs"), root.join("src/nested/c.rs")).unwrap();
        assert_ne!(edited, hash(), "a rename changes the hash");
    }

    #[test]
    fn what_the_build_context_leaves_out_is_no_input() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        fs::create_dir_all(root.join("src/data")).unwrap();
        fs::write(root.join("src/main.rs"), "fn main() {}").unwrap();
        let hash = || Fingerprint::new().tree(root, "src").unwrap().hex();
        let first = hash();
        for local in [
            ".env",
            ".env.local",
            ".env.production",
            "todo.db",
            "todo.db-wal",
            "todo.db-shm",
            "todo.sqlite",
            "todo.sqlite3",
            "todo.sqlite-journal",
            "data/todo.db",
            "target",
        ] {
            fs::write(root.join("src").join(local), "local state").unwrap();
            assert_eq!(first, hash(), "{local} is not in the build context, so not an input");
        }
        for input in ["env.rs", "db.rs", "sqlite.rs", "dotenv", "x.env"] {
            let before = hash();
            fs::write(root.join("src").join(input), "fn f() {}").unwrap();
            assert_ne!(before, hash(), "{input} is in the build context, so an input");
        }
    }

    /// The fingerprint leaves out exactly what `.dockerignore` does at any depth, so an image tag
    /// changes when, and only when, its build context changes.
    #[test]
    fn the_excludes_are_the_dockerignore_any_depth_rules() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../.dockerignore");
        let text = fs::read_to_string(path).unwrap();
        let any_depth: Vec<&str> =
            text.lines().map(str::trim).filter(|line| line.starts_with("**/")).collect();
        assert_eq!(any_depth, CONTEXT_EXCLUDES, ".dockerignore and fingerprint.rs disagree");
        // The rest is the allow-list: everything out, then the workspace's inputs back in.
        let rest: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("**/"))
            .collect();
        assert_eq!(rest[0], "*", "the context starts empty");
        assert!(rest[1..].iter().all(|line| line.starts_with('!')), "{rest:?}");
    }

    #[test]
    fn globs_match_whole_names() {
        assert!(glob("*.db", "todo.db"));
        assert!(!glob("*.db", "todo.db.rs"));
        assert!(glob("*.db-*", "todo.db-wal"));
        assert!(glob(".env.*", ".env.local"));
        assert!(!glob(".env.*", ".env"));
        assert!(glob("*.sqlite*", "a.sqlite"));
        assert!(glob("*.sqlite*", "a.sqlite3"));
        assert!(!glob("*.sqlite*", "sqlite.rs"));
    }

    #[test]
    fn values_are_length_delimited() {
        let a = Fingerprint::new().value("ab", "c").hex();
        let b = Fingerprint::new().value("a", "bc").hex();
        assert_ne!(a, b);
    }

    #[test]
    fn the_hash_is_stable_across_releases() {
        // Image tags and phase records written by an older xtask must stay valid: pinned values
        // (computed independently with the FNV-1a 128 reference constants).
        assert_eq!(Fingerprint::new().hex(), "6c62272e07bb014262b821756295c58d");
        assert_eq!(Fingerprint::new().value("k", "v").hex(), "6b7cb50ec7e42bacdb3c90b3a4664c0e");
    }
}
