//! A documented tree of chart values. One tree gives three files: `values.yaml` (every value with
//! its comment, `helm create` style), `values.schema.json` (types, allowed values, descriptions; Helm
//! checks `-f` and `--set` against it) and an environment's `values-<env>.yaml` (only what differs
//! from the defaults).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Str(String, Rule),
    Int(i64, Rule),
    Bool(bool),
    Map(Vec<Field>),
    /// A list whose items all look like `item` (which also describes an empty list).
    List(Vec<Node>, Box<Node>),
    /// A free-form object of strings (annotations, labels, node selectors).
    Strings(BTreeMap<String, String>),
    /// Anything Kubernetes accepts at that place (affinity, tolerations): not checked here.
    Opaque(Json),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    Any,
    OneOf(&'static [&'static str]),
    Pattern(&'static str),
    Range(i64, i64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub key: String,
    pub doc: String,
    pub node: Node,
}

pub fn field(key: &str, doc: &str, node: Node) -> Field {
    Field { key: key.to_owned(), doc: doc.to_owned(), node }
}

pub fn map(fields: Vec<Field>) -> Node {
    Node::Map(fields)
}

pub fn string(value: impl Into<String>) -> Node {
    Node::Str(value.into(), Rule::Any)
}

pub fn one_of(value: &str, allowed: &'static [&'static str]) -> Node {
    debug_assert!(allowed.contains(&value), "{value} is not one of {allowed:?}");
    Node::Str(value.to_owned(), Rule::OneOf(allowed))
}

pub fn pattern(value: impl Into<String>, pattern: &'static str) -> Node {
    Node::Str(value.into(), Rule::Pattern(pattern))
}

pub fn int(value: impl Into<i64>, min: i64, max: i64) -> Node {
    Node::Int(value.into(), Rule::Range(min, max))
}

pub fn boolean(value: bool) -> Node {
    Node::Bool(value)
}

pub fn list(items: Vec<Node>, item: Node) -> Node {
    Node::List(items, Box::new(item))
}

pub fn strings(entries: BTreeMap<String, String>) -> Node {
    Node::Strings(entries)
}

pub fn opaque(value: Json) -> Node {
    Node::Opaque(value)
}

/// Comment lines wrap here, so values.yaml reads well in a terminal and in review.
const WIDTH: usize = 100;

/// `values.yaml`: a header, then every value with its documentation above it.
pub fn to_yaml(header: &str, root: &Node) -> String {
    let mut out = String::new();
    for line in header.lines() {
        push_comment(&mut out, "", line, "#");
    }
    if let Node::Map(fields) = root {
        for (i, field) in fields.iter().enumerate() {
            // A blank line between top-level sections, as in `helm create`'s values.yaml.
            if i > 0 || !header.is_empty() {
                out.push('\n');
            }
            write_field(&mut out, 0, field);
        }
    }
    out
}

fn write_field(out: &mut String, indent: usize, field: &Field) {
    let pad = " ".repeat(indent);
    let mut first = true;
    for line in field.doc.lines() {
        let marker = if first { "# --" } else { "#" };
        push_comment(out, &pad, line, marker);
        first = false;
    }
    let key = yaml_key(&field.key);
    match &field.node {
        Node::Map(fields) if !fields.is_empty() => {
            out.push_str(&format!("{pad}{key}:\n"));
            for field in fields {
                write_field(out, indent + 2, field);
            }
        }
        Node::Strings(entries) if !entries.is_empty() => {
            out.push_str(&format!("{pad}{key}:\n"));
            for (k, v) in entries {
                out.push_str(&format!("{pad}  {}: {}\n", yaml_key(k), quote(v)));
            }
        }
        Node::List(items, _) if !items.is_empty() => {
            out.push_str(&format!("{pad}{key}:\n"));
            for item in items {
                write_list_item(out, indent + 2, item);
            }
        }
        node => out.push_str(&format!("{pad}{key}: {}\n", inline(node))),
    }
}

fn write_list_item(out: &mut String, indent: usize, item: &Node) {
    let pad = " ".repeat(indent);
    match item {
        Node::Map(fields) if !fields.is_empty() => {
            for (i, field) in fields.iter().enumerate() {
                let lead = if i == 0 { format!("{pad}- ") } else { format!("{pad}  ") };
                out.push_str(&format!("{lead}{}: {}\n", yaml_key(&field.key), inline(&field.node)));
            }
        }
        node => out.push_str(&format!("{pad}- {}\n", inline(node))),
    }
}

/// A value on one line: scalars, and empty collections.
fn inline(node: &Node) -> String {
    match node {
        Node::Str(value, _) => quote(value),
        Node::Int(value, _) => value.to_string(),
        Node::Bool(value) => value.to_string(),
        Node::Map(_) | Node::Strings(_) => "{}".to_owned(),
        Node::List(_, _) => "[]".to_owned(),
        Node::Opaque(value) => value.to_string(),
    }
}

fn push_comment(out: &mut String, pad: &str, text: &str, marker: &str) {
    if text.is_empty() {
        out.push_str(&format!("{pad}{}\n", marker.trim_end_matches(" --")));
        return;
    }
    let mut line = format!("{pad}{marker}");
    for word in text.split(' ') {
        if line.len() + 1 + word.len() > WIDTH && line.len() > pad.len() + marker.len() {
            out.push_str(&line);
            out.push('\n');
            line = format!("{pad}#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// Double-quoted, JSON-escaped: valid YAML for any string, and never read as a number or a bool.
fn quote(value: &str) -> String {
    Json::String(value.to_owned()).to_string()
}

fn yaml_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !key.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if plain { key.to_owned() } else { quote(key) }
}

/// `values.schema.json`: every object closed (`additionalProperties: false`), so a misspelt
/// `--set api.replicaCont=3` fails instead of being ignored.
pub fn to_schema(title: &str, root: &Node) -> String {
    let mut schema = schema_of(root, None);
    let object = schema.as_object_mut().unwrap();
    let mut out = Map::new();
    out.insert("$schema".into(), json!("http://json-schema.org/draft-07/schema#"));
    out.insert("title".into(), json!(title));
    out.append(object);
    serde_json::to_string_pretty(&Json::Object(out)).unwrap() + "\n"
}

fn schema_of(node: &Node, doc: Option<&str>) -> Json {
    let mut schema = match node {
        Node::Str(_, rule) => {
            let mut s = json!({ "type": "string" });
            match rule {
                Rule::OneOf(allowed) => s["enum"] = json!(allowed),
                Rule::Pattern(pattern) => s["pattern"] = json!(pattern),
                Rule::Any | Rule::Range(..) => {}
            }
            s
        }
        Node::Int(_, rule) => {
            let mut s = json!({ "type": "integer" });
            if let Rule::Range(min, max) = rule {
                s["minimum"] = json!(min);
                s["maximum"] = json!(max);
            }
            s
        }
        Node::Bool(_) => json!({ "type": "boolean" }),
        Node::Map(fields) => {
            let properties: Map<String, Json> =
                fields.iter().map(|f| (f.key.clone(), schema_of(&f.node, Some(&f.doc)))).collect();
            let required: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": required,
                "properties": properties,
            })
        }
        Node::List(_, item) => json!({ "type": "array", "items": schema_of(item, None) }),
        Node::Strings(_) => json!({ "type": "object", "additionalProperties": { "type": "string" } }),
        Node::Opaque(value) => match value {
            Json::Array(_) => json!({ "type": "array" }),
            _ => json!({ "type": "object" }),
        },
    };
    if let Some(doc) = doc.filter(|doc| !doc.is_empty()) {
        schema["description"] = json!(doc.replace('\n', " "));
    }
    schema
}

/// What `ours` changes relative to `base` (same shape): the changed leaves with the maps that lead
/// to them; lists and free-form objects count as one value. `None` when nothing differs.
pub fn diff(base: &Node, ours: &Node) -> Option<Node> {
    match (base, ours) {
        (Node::Map(base_fields), Node::Map(our_fields)) => {
            let changed: Vec<Field> = our_fields
                .iter()
                .filter_map(|field| {
                    let node = match base_fields.iter().find(|b| b.key == field.key) {
                        Some(base_field) => diff(&base_field.node, &field.node)?,
                        None => field.node.clone(),
                    };
                    Some(Field { node, ..field.clone() })
                })
                .collect();
            (!changed.is_empty()).then_some(Node::Map(changed))
        }
        (base, ours) if base == ours => None,
        (_, ours) => Some(ours.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(replicas: i64, policy: &str) -> Node {
        map(vec![
            field("nameOverride", "Replaces the chart name in object names.", string("")),
            field(
                "api",
                "The api component.",
                map(vec![
                    field("replicaCount", "Pods to run when autoscaling is off.", int(replicas, 1, 100)),
                    field("pullPolicy", "", one_of(policy, &["Always", "IfNotPresent"])),
                    field("podAnnotations", "Extra pod annotations.", strings(BTreeMap::new())),
                    field(
                        "paths",
                        "Routes.",
                        list(
                            vec![map(vec![
                                field("path", "", string("/api")),
                                field("port", "", int(8080, 1, 65535)),
                            ])],
                            map(vec![field("path", "", string("")), field("port", "", int(0, 1, 65535))]),
                        ),
                    ),
                ]),
            ),
        ])
    }

    #[test]
    fn yaml_carries_every_comment_and_quotes_every_string() {
        expect_test::expect![[r#"
            # Header line.

            # -- Replaces the chart name in object names.
            nameOverride: ""

            # -- The api component.
            api:
              # -- Pods to run when autoscaling is off.
              replicaCount: 2
              pullPolicy: "IfNotPresent"
              # -- Extra pod annotations.
              podAnnotations: {}
              # -- Routes.
              paths:
                - path: "/api"
                  port: 8080
        "#]]
        .assert_eq(&to_yaml("Header line.", &sample(2, "IfNotPresent")));
    }

    #[test]
    fn the_schema_is_closed_and_typed() {
        let schema: Json = serde_json::from_str(&to_schema("t", &sample(2, "IfNotPresent"))).unwrap();
        let api = &schema["properties"]["api"];
        assert_eq!(api["additionalProperties"], false);
        assert_eq!(api["properties"]["replicaCount"]["minimum"], 1);
        assert_eq!(api["properties"]["pullPolicy"]["enum"], json!(["Always", "IfNotPresent"]));
        assert_eq!(api["properties"]["paths"]["items"]["properties"]["port"]["type"], "integer");
        assert_eq!(api["properties"]["podAnnotations"]["additionalProperties"]["type"], "string");
    }

    #[test]
    fn the_diff_keeps_only_changed_leaves_and_their_parents() {
        assert_eq!(diff(&sample(2, "Always"), &sample(2, "Always")), None);
        let changed = diff(&sample(2, "IfNotPresent"), &sample(1, "IfNotPresent")).unwrap();
        expect_test::expect![[r#"
            # -- The api component.
            api:
              # -- Pods to run when autoscaling is off.
              replicaCount: 1
        "#]]
        .assert_eq(&to_yaml("", &changed));
    }

    #[test]
    fn long_comments_wrap_and_odd_keys_are_quoted() {
        let long = "word ".repeat(40);
        let node = map(vec![field("a key", long.trim(), string("x"))]);
        let yaml = to_yaml("", &node);
        assert!(yaml.lines().all(|line| line.len() <= WIDTH), "{yaml}");
        assert!(yaml.ends_with("\"a key\": \"x\"\n"), "{yaml}");
    }
}
