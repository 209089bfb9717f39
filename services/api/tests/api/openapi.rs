//! The hand-written OpenAPI document is held to the router and to real responses: every route
//! is documented and every documented route exists, protected operations really need a token,
//! and the bodies the server sends conform to the documented schemas.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use todo_api::auth::UserId;
use todo_api::conversations::{NewMessage, store as conversations};
use todo_api::http::{Access, endpoints};

use crate::backend_test;
use crate::helpers::{PASSWORD, TestApp};

fn document() -> Value {
    serde_json::from_str(todo_api::openapi::DOCUMENT).expect("openapi.json is JSON")
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let routed: BTreeSet<(String, String)> =
        endpoints().iter().map(|e| (e.method.to_string(), e.path.to_owned())).collect();
    let documented = documented_operations(&doc);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from openapi.json: {undocumented:?}");
    assert!(unrouted.is_empty(), "openapi.json documents routes that do not exist: {unrouted:?}");
}

#[test]
fn documented_security_matches_the_route_table() {
    let doc = document();
    for e in endpoints() {
        let op = &doc["paths"][e.path][e.method.as_str().to_lowercase()];
        let needs_token = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(
            needs_token,
            matches!(e.access, Access::Read | Access::Write),
            "{} {}: documented security disagrees with the router",
            e.method,
            e.path
        );
        let responses = op["responses"].as_object().unwrap();
        if needs_token {
            assert!(responses.contains_key("401"), "{} {} lacks 401", e.method, e.path);
        }
        if matches!(e.access, Access::Auth | Access::Write) {
            assert!(responses.contains_key("429"), "{} {} lacks 429", e.method, e.path);
        }
        if op.get("requestBody").is_some() {
            // MCP also needs its Accept header (406).
            let is_mcp = op["tags"].as_array().is_some_and(|t| t.contains(&json!("mcp")));
            let codes: &[&str] =
                if is_mcp { &["400", "406", "413", "415", "422"] } else { &["400", "413", "415", "422"] };
            for code in codes {
                assert!(responses.contains_key(*code), "{} {} lacks {code}", e.method, e.path);
            }
        }
    }
}

#[test]
fn every_reference_resolves() {
    fn walk(doc: &Value, node: &Value, broken: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && resolve(doc, r).is_none()
                {
                    broken.push(r.clone());
                }
                map.values().for_each(|v| walk(doc, v, broken));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(doc, v, broken)),
            _ => {}
        }
    }
    let doc = document();
    let mut broken = Vec::new();
    walk(&doc, &doc, &mut broken);
    assert!(broken.is_empty(), "unresolved $refs: {broken:?}");
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Checks `value` against the subset of JSON Schema the document uses. Returns the first
/// mismatch as "path: problem".
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = resolve(doc, r).ok_or_else(|| format!("{at}: unresolved {r}"))?;
        return conforms(doc, target, value, at);
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        return Err(format!("{at}: expected {c}, got {value}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !ok {
            return Err(format!("{at}: expected {types:?}, got {value}"));
        }
    }
    if let (Some("date-time"), Some(s)) = (schema.get("format").and_then(Value::as_str), value.as_str())
        && chrono::DateTime::parse_from_rfc3339(s).is_err()
    {
        return Err(format!("{at}: {s} is not a date-time"));
    }
    if let Value::Object(object) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}: missing required `{name}`"));
            }
        }
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => conforms(doc, s, v, &format!("{at}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: undocumented property `{key}`"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            conforms(doc, item_schema, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The documented response for `method path` with this status, or a failure naming what is
/// missing.
fn documented_response<'a>(doc: &'a Value, method: &Method, path: &str, status: StatusCode) -> &'a Value {
    let op = &doc["paths"][path][method.as_str().to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not documented");
    let response = &op["responses"][status.as_str()];
    assert!(!response.is_null(), "{method} {path} answered {status}, which is not documented");
    match response.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(doc, r).unwrap(),
        None => response,
    }
}

/// (method, route template, concrete path, token, body)
type Exchange<'a> = (Method, &'static str, String, Option<&'a str>, Option<Value>);

backend_test!(
    async fn responses_conform_to_the_documented_schemas(db) {
        let doc = document();
        let app = TestApp::spawn(&db).await;

        let (status, served) = app.request(Method::GET, "/api/openapi.json", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(served, doc, "the served document is the checked-in one");

        let signup = json!({"email": "schema@example.com", "password": PASSWORD});
        let (_, auth) = app.request(Method::POST, "/api/auth/signup", None, Some(signup.clone())).await;
        let token = auth["token"].as_str().unwrap().to_owned();
        let user_id = auth["user"]["id"].as_i64().unwrap();
        let (_, task) = app.post("/api/tasks", &token, json!({"title": "t", "description": "d"})).await;
        let task_path = format!("/api/tasks/{}", task["id"]);
        let chat = conversations::create(&app.state.db, UserId(user_id), Some("c")).await.unwrap();
        for turn in [
            NewMessage::User { content: "add t".into() },
            NewMessage::Assistant { content: String::new(), tool_calls: vec![json!({"id": "call_1", "type": "function", "function": {"name": "add_task", "arguments": "{}"}})] },
            NewMessage::Tool { tool_call_id: "call_1".into(), content: "ok".into() },
        ] {
            conversations::append_message(&app.state.db, UserId(user_id), chat.id, &turn).await.unwrap();
        }
        let messages_path = format!("/api/conversations/{}/messages", chat.id);

        let none = None::<&str>;
        let exchanges: Vec<Exchange> = vec![
            (Method::GET, "/healthz", "/healthz".into(), none, None),
            (Method::GET, "/api/readyz", "/api/readyz".into(), none, None),
            (Method::POST, "/api/auth/signup", "/api/auth/signup".into(), none, Some(json!({"email": "second@example.com", "password": PASSWORD}))),
            (Method::POST, "/api/auth/signup", "/api/auth/signup".into(), none, Some(signup.clone())),
            (Method::POST, "/api/auth/signup", "/api/auth/signup".into(), none, Some(json!({"email": "x@example.com", "password": "short"}))),
            (Method::POST, "/api/auth/login", "/api/auth/login".into(), none, Some(signup.clone())),
            (Method::POST, "/api/auth/login", "/api/auth/login".into(), none, Some(json!({"email": "schema@example.com", "password": "wrong password"}))),
            (Method::GET, "/api/auth/me", "/api/auth/me".into(), Some(&token), None),
            (Method::GET, "/api/auth/me", "/api/auth/me".into(), none, None),
            (Method::GET, "/api/tasks", "/api/tasks?status=pending&q=t&limit=10".into(), Some(&token), None),
            (Method::GET, "/api/tasks", "/api/tasks?limit=0".into(), Some(&token), None),
            (Method::POST, "/api/tasks", "/api/tasks".into(), Some(&token), Some(json!({"title": "u"}))),
            (Method::POST, "/api/tasks", "/api/tasks".into(), Some(&token), Some(json!({"title": "u", "x": 1}))),
            (Method::GET, "/api/tasks/{id}", task_path.clone(), Some(&token), None),
            (Method::GET, "/api/tasks/{id}", "/api/tasks/424242".into(), Some(&token), None),
            (Method::PATCH, "/api/tasks/{id}", task_path.clone(), Some(&token), Some(json!({"completed": true, "description": null}))),
            (Method::DELETE, "/api/tasks/{id}", task_path.clone(), Some(&token), None),
            (Method::GET, "/api/conversations", "/api/conversations".into(), Some(&token), None),
            (Method::GET, "/api/conversations/{id}/messages", messages_path.clone(), Some(&token), None),
            (Method::GET, "/api/conversations/{id}/messages", "/api/conversations/424242/messages".into(), Some(&token), None),
            (Method::POST, "/api/chat", "/api/chat".into(), Some(&token), Some(json!({"message": "add buy oat milk"}))),
            (Method::POST, "/api/chat", "/api/chat".into(), Some(&token), Some(json!({"message": "delete all my tasks"}))),
            (Method::POST, "/api/chat", "/api/chat".into(), Some(&token), Some(json!({"message": "hi", "conversation_id": 424242}))),
            (Method::POST, "/api/chat", "/api/chat".into(), Some(&token), Some(json!({"message": ""}))),
            (Method::POST, "/api/chat", "/api/chat".into(), none, Some(json!({"message": "hi"}))),
        ];
        let mut covered = BTreeSet::new();
        for (method, template, path, token, body) in exchanges {
            let (status, value) = app.request(method.clone(), &path, token, body).await;
            let response = documented_response(&doc, &method, template, status);
            match response.pointer("/content/application~1json/schema") {
                Some(schema) => conforms(&doc, schema, &value, "$")
                    .unwrap_or_else(|e| panic!("{method} {path} ({status}): {e}\nbody: {value}")),
                None => assert_eq!(value, Value::Null, "{method} {path} ({status}) has an undocumented body"),
            }
            if status.is_success() {
                covered.insert((method.to_string(), template.to_owned()));
            }
        }
        // MCP needs its Accept header, so it is exercised here rather than in the table.
        let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "schema-test", "version": "1"}}});
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add_task", "arguments": {"title": "via mcp"}}});
        for path in ["/mcp", "/api/mcp"] {
            for (accept, body) in [
                ("application/json, text/event-stream", initialize.clone()),
                ("application/json, text/event-stream", call.clone()),
                ("application/json", initialize.clone()),
            ] {
                let response = app.client.post(app.url(path)).bearer_auth(&token).header("accept", accept).json(&body).send().await.unwrap();
                let status = response.status();
                let value: Value = response.json().await.unwrap();
                let documented = documented_response(&doc, &Method::POST, path, status);
                let schema = documented.pointer("/content/application~1json/schema").expect("a JSON body is documented");
                conforms(&doc, schema, &value, "$").unwrap_or_else(|e| panic!("POST {path} ({status}): {e}\nbody: {value}"));
                if status.is_success() {
                    covered.insert(("POST".to_owned(), path.to_owned()));
                }
            }
        }

        // Every JSON operation was exercised successfully at least once.
        for (method, path) in documented_operations(&doc) {
            if path == "/metrics" || path == "/api/openapi.json" || path.ends_with("readyz") || path.ends_with("healthz") {
                continue;
            }
            assert!(covered.contains(&(method.clone(), path.clone())), "{method} {path} not exercised");
        }
        app.stop().await;
    }
);

backend_test!(
    async fn operations_documented_as_protected_refuse_anonymous_callers(db) {
        let doc = document();
        let app = TestApp::spawn(&db).await;
        for (method, path) in documented_operations(&doc) {
            let op = &doc["paths"][&path][method.to_lowercase()];
            let protected = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let concrete = path.replace("{id}", "1");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let body = op.get("requestBody").map(|_| json!({}));
            let (status, answer) = app.request(method.clone(), &concrete, None, body).await;
            if protected {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {answer}");
            } else {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
                assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path} is not routed");
            }
        }
        app.stop().await;
    }
);
