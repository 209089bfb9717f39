//! The OpenAPI 3.1 description of the API, written by hand in `openapi.json` next to
//! Cargo.toml and served as it is. Tests hold it to the route table and to real responses, and
//! [`enforced`] builds every bound and text format it states from the constants and character
//! rules the validation itself uses: a unit test fails, showing the value to write, when the file
//! says anything else. The `api-contract` suite (`cargo xtask test`) then has schemathesis check
//! the served document against the running server.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::agent::MESSAGE_MAX_CHARS;
use crate::auth::{EMAIL_LOCAL_MAX_CHARS, EMAIL_MAX_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::page::DEFAULT_LIMIT;
use crate::tasks::{DESCRIPTION_MAX_CHARS, SEARCH_MAX_CHARS, TITLE_MAX_CHARS};

pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}

/// What `str::trim` removes: Unicode White_Space, as [`char::is_whitespace`] has it.
const WHITESPACE: &[(char, char)] = &[
    ('\t', '\r'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];
/// [`char::is_control`]: the C0 and C1 controls and DEL.
const CONTROL: &[(char, char)] = &[('\0', '\u{1f}'), ('\u{7f}', '\u{9f}')];
/// The controls a multi-line text refuses: all but tab, line feed and carriage return.
const CONTROL_BUT_LINE_BREAKS: &[(char, char)] =
    &[('\0', '\u{8}'), ('\u{b}', '\u{c}'), ('\u{e}', '\u{1f}'), ('\u{7f}', '\u{9f}')];
/// What an email domain cannot contain besides whitespace and controls, and what cannot end it.
const AT_AND_DOT: &[(char, char)] = &[('@', '@'), ('.', '.')];
const HYPHEN: &[(char, char)] = &[('-', '-')];

/// A regex character class of the ranges (`[...]`, or `[^...]` when `negated`), every
/// character written `\uXXXX`, which ECMA-262 and Python's `re` (schemathesis) read alike.
fn class(negated: bool, sets: &[&[(char, char)]]) -> String {
    let escape = |c: char| format!("\\u{:04x}", u32::from(c));
    let mut out = String::from(if negated { "[^" } else { "[" });
    for &(from, to) in sets.iter().flat_map(|set| set.iter()) {
        out += &escape(from);
        if to != from {
            out += "-";
            out += &escape(to);
        }
    }
    out + "]"
}

/// The text formats, one per validation rule. A string matches exactly when the server's rule
/// accepts it, lengths aside (`maxLength` states those: they count the string as sent).
pub mod pattern {
    use super::*;

    fn whitespace() -> String {
        class(false, &[WHITESPACE])
    }

    /// Not whitespace and not a control: what a trimmed text starts with.
    fn visible() -> String {
        class(true, &[CONTROL, WHITESPACE])
    }

    /// [`crate::tasks::Title`]: trimmed, something is left, no controls in it.
    pub fn title() -> String {
        format!("^{ws}*{v}{text}*{ws}*$", ws = whitespace(), v = visible(), text = class(true, &[CONTROL]))
    }

    /// [`crate::tasks::Description`]: trimmed, may be blank, controls other than line breaks
    /// and tabs refused in what is left.
    pub fn description() -> String {
        let text = class(true, &[CONTROL_BUT_LINE_BREAKS]);
        format!("^{ws}*(?:{v}{text}*{ws}*)?$", ws = whitespace(), v = visible())
    }

    /// A chat message: as a description, but something must be left.
    pub fn message() -> String {
        let text = class(true, &[CONTROL_BUT_LINE_BREAKS]);
        format!("^{ws}*{v}{text}*{ws}*$", ws = whitespace(), v = visible())
    }

    /// The task search `q`: as a title, but may be blank.
    pub fn search() -> String {
        let text = class(true, &[CONTROL]);
        format!("^{ws}*(?:{v}{text}*{ws}*)?$", ws = whitespace(), v = visible())
    }

    /// [`crate::auth::Email`]: trimmed; before the last `@` 1 to 64 characters, after it a
    /// domain with a dot, no `..`, not starting or ending with `.` or `-`; no whitespace or
    /// controls anywhere.
    pub fn email() -> String {
        let label = class(true, &[CONTROL, WHITESPACE, AT_AND_DOT]);
        let edge = class(true, &[CONTROL, WHITESPACE, AT_AND_DOT, HYPHEN]);
        format!(
            "^{ws}*{v}{{1,{EMAIL_LOCAL_MAX_CHARS}}}@{edge}{label}*(?:\\.{label}+)*\\.{label}*{edge}{ws}*$",
            ws = whitespace(),
            v = visible(),
        )
    }
}

/// The MCP endpoint's required `Accept` value: rmcp refuses a POST that does not accept both.
pub const MCP_ACCEPT: &str = "application/json, text/event-stream";

/// Every bound and format the document states that the code enforces: (JSON pointer into the
/// document, the value the validation implies).
pub fn enforced() -> Vec<(String, Value)> {
    let max = json!(i64::MAX);
    let title = |at: &'static str| {
        [
            (at, "minLength", json!(1)),
            (at, "maxLength", json!(TITLE_MAX_CHARS)),
            (at, "pattern", json!(pattern::title())),
        ]
    };
    let description = |at: &'static str| {
        [(at, "maxLength", json!(DESCRIPTION_MAX_CHARS)), (at, "pattern", json!(pattern::description()))]
    };
    let mut found: Vec<(&'static str, &'static str, Value)> = Vec::new();
    found.extend(title("/components/schemas/TaskCreate/properties/title"));
    found.extend(title("/components/schemas/TaskUpdate/properties/title"));
    found.extend(description("/components/schemas/TaskCreate/properties/description"));
    found.extend(description("/components/schemas/TaskUpdate/properties/description"));
    // Stored values: trimmed, so never longer than what was accepted.
    found.extend([
        ("/components/schemas/Task/properties/title", "minLength", json!(1)),
        ("/components/schemas/Task/properties/title", "maxLength", json!(TITLE_MAX_CHARS)),
        ("/components/schemas/Task/properties/description", "maxLength", json!(DESCRIPTION_MAX_CHARS)),
    ]);
    let email = "/components/schemas/SignupCredentials/properties/email";
    let password = "/components/schemas/SignupCredentials/properties/password";
    let message = "/components/schemas/ChatRequest/properties/message";
    let search = "/paths/~1api~1tasks/get/parameters/1/schema";
    found.extend([
        (email, "maxLength", json!(EMAIL_MAX_CHARS)),
        (email, "pattern", json!(pattern::email())),
        (password, "minLength", json!(PASSWORD_MIN_CHARS)),
        (password, "maxLength", json!(PASSWORD_MAX_CHARS)),
        (message, "minLength", json!(1)),
        (message, "maxLength", json!(MESSAGE_MAX_CHARS)),
        (message, "pattern", json!(pattern::message())),
        (search, "maxLength", json!(SEARCH_MAX_CHARS)),
        (search, "pattern", json!(pattern::search())),
        ("/components/schemas/ChatRequest/properties/conversation_id", "minimum", json!(1)),
        ("/components/schemas/ChatRequest/properties/conversation_id", "maximum", max.clone()),
        // Page parameters are parsed as i64: anything larger is refused, and a limit above
        // MAX_LIMIT is clamped, not refused.
        ("/components/parameters/Limit/schema", "minimum", json!(1)),
        ("/components/parameters/Limit/schema", "maximum", max.clone()),
        ("/components/parameters/Limit/schema", "default", json!(DEFAULT_LIMIT)),
        ("/components/parameters/Offset/schema", "minimum", json!(0)),
        ("/components/parameters/Offset/schema", "maximum", max.clone()),
        ("/components/parameters/TaskId/schema", "minimum", json!(1)),
        ("/components/parameters/TaskId/schema", "maximum", max.clone()),
        ("/components/parameters/ConversationId/schema", "minimum", json!(1)),
        ("/components/parameters/ConversationId/schema", "maximum", max),
        ("/components/parameters/McpAccept/schema", "const", json!(MCP_ACCEPT)),
    ]);
    found.into_iter().map(|(at, key, value)| (format!("{at}/{key}"), value)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::MAX_LIMIT;

    fn in_ranges(sets: &[&[(char, char)]], c: char) -> bool {
        sets.iter().flat_map(|set| set.iter()).any(|&(from, to)| (from..=to).contains(&c))
    }

    #[test]
    fn the_character_classes_are_the_rust_predicates_the_validation_uses() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            assert_eq!(in_ranges(&[WHITESPACE], c), c.is_whitespace(), "{c:?} whitespace");
            assert_eq!(in_ranges(&[CONTROL], c), c.is_control(), "{c:?} control");
            let refused_in_text = c.is_control() && !matches!(c, '\n' | '\r' | '\t');
            assert_eq!(in_ranges(&[CONTROL_BUT_LINE_BREAKS], c), refused_in_text, "{c:?} in text");
        }
    }

    #[test]
    fn classes_are_written_as_escapes() {
        assert_eq!(class(true, &[CONTROL, HYPHEN]), "[^\\u0000-\\u001f\\u007f-\\u009f\\u002d]");
    }

    #[test]
    fn the_document_states_the_bounds_and_formats_the_server_enforces() {
        let doc: Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        let wrong: Vec<String> = enforced()
            .into_iter()
            .filter(|(at, value)| doc.pointer(at) != Some(value))
            .map(|(at, value)| format!("{at}: the document has {:?}; write {value}", doc.pointer(&at)))
            .collect();
        assert!(wrong.is_empty(), "openapi.json disagrees with the validation:\n{}", wrong.join("\n"));
        let limit = doc["components"]["parameters"]["Limit"]["description"].as_str().unwrap();
        assert!(limit.contains(&format!("clamped to {MAX_LIMIT}")), "{limit}");
        let search = doc.pointer("/paths/~1api~1tasks/get/parameters/1/name");
        assert_eq!(search, Some(&json!("q")));
    }

    /// Every length bound in a request schema is one the validation states: none is left for
    /// a hand to change.
    #[test]
    fn every_length_in_the_document_is_checked() {
        fn walk(node: &Value, at: String, out: &mut Vec<String>) {
            match node {
                Value::Object(map) => {
                    for (key, value) in map {
                        let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                        if matches!(key.as_str(), "minLength" | "maxLength" | "pattern") {
                            out.push(here.clone());
                        }
                        walk(value, here, out);
                    }
                }
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        walk(item, format!("{at}/{i}"), out);
                    }
                }
                _ => {}
            }
        }
        let doc: Value = serde_json::from_str(DOCUMENT).unwrap();
        let mut stated = Vec::new();
        walk(&doc, String::new(), &mut stated);
        let checked: Vec<String> = enforced().into_iter().map(|(at, _)| at).collect();
        let unchecked: Vec<&String> = stated
            .iter()
            // The notification pattern is the protocol's, not a validation of ours.
            .filter(|at| !checked.contains(at) && !at.contains("JsonRpcRequest"))
            .collect();
        assert!(unchecked.is_empty(), "bounds no validation constant backs: {unchecked:?}");
    }
}
