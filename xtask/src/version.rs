//! Version numbers as tools print them: `v1.31.0`, `Docker version 28.2.2, build e6534b4`,
//! `podman version 4.3.1`, `v3.17.3+ge4da497`, `cargo 1.95.0 (f2d3ce0bd 2026-03-21)`.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    pub const fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version { major, minor, patch }
    }

    /// The first `MAJOR.MINOR[.PATCH]` in `text` that stands on its own (optionally after a `v`),
    /// so `x86_64` or a commit hash is never mistaken for a version.
    pub fn find_in(text: &str) -> Option<Version> {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            // Not inside a word (`abc1.2`) nor a longer number (`1.2.3.4` read from its middle).
            let standalone = |b: u8| !b.is_ascii_alphanumeric() && b != b'.';
            let starts_word = i == 0 || {
                let prev = bytes[i - 1];
                standalone(prev) || (prev == b'v' && (i < 2 || standalone(bytes[i - 2])))
            };
            if bytes[i].is_ascii_digit()
                && starts_word
                && let Some(version) = parse_at(&text[i..])
            {
                return Some(version);
            }
            i += 1;
        }
        None
    }

    #[cfg(test)]
    pub fn parse(text: &str) -> Option<Version> {
        parse_at(text.trim().trim_start_matches('v'))
    }
}

fn parse_at(text: &str) -> Option<Version> {
    let mut parts = [0u64; 3];
    let mut count = 0;
    let mut rest = text;
    while count < 3 {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        parts[count] = rest[..digits].parse().ok()?;
        count += 1;
        rest = &rest[digits..];
        match rest.strip_prefix('.') {
            Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) && count < 3 => rest = after,
            _ => break,
        }
    }
    (count >= 2).then(|| Version::new(parts[0], parts[1], parts[2]))
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versions_the_way_each_tool_prints_them() {
        let cases = [
            ("Docker version 28.2.2, build e6534b4", "28.2.2"),
            ("podman version 4.3.1", "4.3.1"),
            ("minikube version: v1.34.0\ncommit: 210b148", "1.34.0"),
            ("v3.17.3+ge4da497", "3.17.3"),
            ("v4.1.4+g05fa379", "4.1.4"),
            ("Client Version: v1.32.4-dispatcher\nKustomize Version: v5.5.0", "1.32.4"),
            ("cargo 1.95.0 (f2d3ce0bd 2026-03-21)", "1.95.0"),
            ("version: 0.0.26\ncommit: abc", "0.0.26"),
            (r#"{"kagent_version":"0.7.4","git_commit":"1a2b"}"#, "0.7.4"),
            ("x86_64 build 1.2", "1.2.0"),
        ];
        for (text, want) in cases {
            assert_eq!(Version::find_in(text).map(|v| v.to_string()).as_deref(), Some(want), "{text}");
        }
        assert_eq!(Version::find_in("no version here, build e6534b4"), None);
        assert_eq!(Version::find_in("abc1.2.3"), None);
    }

    #[test]
    fn versions_order_numerically() {
        assert!(Version::parse("v1.10.0").unwrap() > Version::parse("1.9.9").unwrap());
        assert!(Version::parse("4.0").unwrap() >= Version::new(3, 12, 0));
    }
}
