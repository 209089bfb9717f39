//! The MCP endpoint, driven by rmcp's own client over streamable HTTP: it lists the tools with
//! the shared schemas, `add_task` adds a task for the token's user, a call can only reach that
//! user's tasks, and a client without a valid token is refused.

use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use todo_api::tools::TOOLS;

use crate::backend_test;
use crate::helpers::{TestApp, error_code};

fn transport(url: String, token: Option<&str>) -> StreamableHttpClientTransport<reqwest::Client> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    StreamableHttpClientTransport::from_config(config)
}

fn arguments(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().unwrap().clone()
}

backend_test!(
    async fn an_mcp_client_lists_the_tools_and_adds_a_task_as_its_tokens_user(db) {
        let app = TestApp::spawn(&db).await;
        let alice = app.new_user().await;
        let bob = app.new_user().await;
        // Numbers are per user, so Bob's #1 is Alice's #1 too: his task is one whose number
        // Alice's list never reaches here.
        for n in 1..10 {
            app.create_task(&bob, &format!("bob's filler {n}")).await;
        }
        let bobs = app.create_task(&bob, "bob's task").await["id"].as_i64().unwrap();

        for path in ["/mcp", "/api/mcp"] {
            let client = ().serve(transport(app.url(path), Some(&alice.token))).await.expect("the MCP handshake succeeds");
            let info = client.peer_info().expect("the server introduced itself");
            assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("todo-api"));

            let tools = client.list_all_tools().await.unwrap();
            let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
            assert_eq!(names, TOOLS.map(|t| t.name));
            for (tool, spec) in tools.iter().zip(TOOLS) {
                assert_eq!(Value::Object((*tool.input_schema).clone()), (spec.parameters)(), "{}", spec.name);
                let annotations = tool.annotations.as_ref().unwrap();
                assert_eq!(annotations.destructive_hint, Some(spec.destructive), "{}", spec.name);
                assert_eq!(annotations.read_only_hint, Some(spec.read_only), "{}", spec.name);
            }
            // Renaming overwrites what was there: clients should ask first, as for deleting.
            let destructive: Vec<&str> = tools.iter().filter(|t| t.annotations.as_ref().unwrap().destructive_hint == Some(true)).map(|t| t.name.as_ref()).collect();
            assert_eq!(destructive, ["update_task", "delete_task"]);

            let title = format!("added over {path}");
            let result = client
                .call_tool(CallToolRequestParams::new("add_task").with_arguments(arguments(json!({"title": title}))))
                .await
                .unwrap();
            assert_eq!(result.is_error, Some(false));
            let task = result.structured_content.clone().unwrap();
            assert_eq!(task["title"], title.as_str());
            let (status, stored) = app.get(&format!("/api/tasks/{}", task["id"]), &alice.token).await;
            assert_eq!(status, StatusCode::OK, "the task is alice's");
            assert_eq!(stored, task);

            // Bob's task is out of reach: not found, and unchanged.
            let result = client
                .call_tool(CallToolRequestParams::new("complete_task").with_arguments(arguments(json!({"task_id": bobs}))))
                .await
                .unwrap();
            assert_eq!(result.is_error, Some(true));
            assert_eq!(result.structured_content.unwrap()["error"]["code"], "not_found");
            let result = client
                .call_tool(CallToolRequestParams::new("delete_task").with_arguments(arguments(json!({"task_id": bobs}))))
                .await
                .unwrap();
            assert_eq!(result.is_error, Some(true));

            // Bad arguments are the tool's error result; an unknown tool is a protocol error.
            let result = client
                .call_tool(CallToolRequestParams::new("add_task").with_arguments(arguments(json!({"title": "x", "user_id": bob.id}))))
                .await
                .unwrap();
            assert_eq!(result.structured_content.unwrap()["error"]["code"], "invalid_arguments");
            assert!(client.call_tool(CallToolRequestParams::new("drop_tables")).await.is_err());

            let listed = client
                .call_tool(CallToolRequestParams::new("list_tasks").with_arguments(arguments(json!({"status": "all"}))))
                .await
                .unwrap();
            let page = listed.structured_content.unwrap();
            assert!(page["items"].as_array().unwrap().iter().all(|t| t["title"] != "bob's task"), "{page}");
            client.cancel().await.unwrap();
        }
        assert_eq!(app.task_state(&alice).await.len(), 2);
        let bobs_tasks = app.task_state(&bob).await;
        assert_eq!(bobs_tasks.len(), 10, "none of bob's tasks was deleted");
        assert!(bobs_tasks.iter().all(|(_, done)| !done), "none was completed: {bobs_tasks:?}");
        app.stop().await;
    }
);

backend_test!(
    async fn an_mcp_client_without_a_valid_token_is_refused(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        for token in [None, Some("not-a-token")] {
            let refused = ().serve(transport(app.url("/api/mcp"), token)).await;
            assert!(refused.is_err(), "the handshake must fail without a valid token ({token:?})");
        }
        // On the wire: 401 with the API's error body and a Bearer challenge, before any MCP.
        let response = app
            .client
            .post(app.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "unauthorized");
        assert!(app.task_state(&user).await.is_empty());
        app.stop().await;
    }
);

backend_test!(
    async fn mcp_http_errors_use_the_api_error_shape(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let post = |accept: &'static str, content_type: &'static str, body: &'static str| {
            app.client
                .post(app.url("/api/mcp"))
                .bearer_auth(&user.token)
                .header("accept", accept)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let both = "application/json, text/event-stream";
        let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        for (response, status, code) in [
            (post(both, "text/plain", initialize).await.unwrap(), 415, "unsupported_media_type"),
            (post(both, "application/json", "{not json").await.unwrap(), 400, "bad_request"),
            (post("application/json", "application/json", initialize).await.unwrap(), 406, "not_acceptable"),
        ] {
            assert_eq!(response.status().as_u16(), status);
            let body: Value = response.json().await.unwrap();
            assert_eq!(error_code(&body), code, "{body}");
        }
        let ok = post(both, "application/json", initialize).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(ok.headers().get("mcp-session-id").is_none(), "stateless: no session to pin to a replica");
        let body: Value = ok.json().await.unwrap();
        assert_eq!(body["result"]["serverInfo"]["name"], "todo-api");
        let get = app.client.get(app.url("/api/mcp")).bearer_auth(&user.token).send().await.unwrap();
        assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
        app.stop().await;
    }
);

backend_test!(
    async fn mcp_bodies_that_are_not_requests_or_notifications_are_refused_and_bad_params_are_jsonrpc_errors(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let post = |accept: &'static str, body: String| {
            app.client
                .post(app.url("/mcp"))
                .bearer_auth(&user.token)
                .header("accept", accept)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let both = "application/json, text/event-stream";
        // A request whose params do not fit its method: a JSON-RPC error for the request's id.
        let response = post(both, json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {}}).to_string()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["id"], 7, "{body}");
        assert!(body["error"]["code"].as_i64().is_some_and(|c| c < 0), "{body}");
        // Not a message this server takes: the API's 422.
        for refused in [
            json!({"jsonrpc": "2.0", "id": 1, "result": {}}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "extra": 1}),
            json!({"jsonrpc": "1.0", "id": 1, "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "id": 1.5, "method": "tools/list"}),
            json!({"jsonrpc": "2.0"}),
        ] {
            let response = post(both, refused.to_string()).await.unwrap();
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(error_code(&body), "validation_error", "{refused}: {body}");
        }
        // The Accept check comes first, whatever the body.
        let response = post("application/json", json!({"jsonrpc": "2.0", "id": 1, "result": {}}).to_string()).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
        let response = post("application/json;q=1, text/event-stream;q=0", json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string()).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
        // An id written with a zero fraction is the integer.
        let response = post(both, r#"{"jsonrpc": "2.0", "id": 9.0, "method": "ping"}"#.to_owned()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["id"], 9, "{body}");
        assert!(body["result"].is_object(), "{body}");
        // Notifications of any method are accepted.
        for notification in [json!({"jsonrpc": "2.0", "method": "", "params": null}), json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}})] {
            let response = post(both, notification.to_string()).await.unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED, "{notification}");
        }
        app.stop().await;
    }
);
