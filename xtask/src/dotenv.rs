//! Reading the project's `.env` (never committed): `KEY=value` lines, `export ` allowed, quotes
//! around a value removed, comments and blank lines skipped. Values that are secrets go straight
//! into a [`Secret`](crate::secret::Secret) at the call site.

use std::collections::BTreeMap;

use camino::Utf8Path;

/// The variables of `path`; empty when the file does not exist.
pub fn read(path: &Utf8Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path).map(|text| parse(&text)).unwrap_or_default()
}

pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim();
        let value = value.trim();
        let value = match (value.chars().next(), value.chars().last()) {
            (Some(q @ ('"' | '\'')), Some(end)) if q == end && value.len() >= 2 => &value[1..value.len() - 1],
            // An unquoted value ends at a comment.
            _ => value.split(" #").next().unwrap_or_default().trim_end(),
        };
        if !key.is_empty() {
            vars.insert(key.to_owned(), value.to_owned());
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_quotes_exports_and_comments() {
        let vars = parse(
            "# a comment\nLLM_MODEL=gpt-4o-mini # the model\nexport OPENAI_API_KEY=\"sk-a b\"\nEMPTY=\n\nQUOTED='x # y'\nnot a pair\n",
        );
        assert_eq!(vars["LLM_MODEL"], "gpt-4o-mini");
        assert_eq!(vars["OPENAI_API_KEY"], "sk-a b");
        assert_eq!(vars["EMPTY"], "");
        assert_eq!(vars["QUOTED"], "x # y");
        assert_eq!(vars.len(), 4);
    }
}
