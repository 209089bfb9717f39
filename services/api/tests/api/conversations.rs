use reqwest::StatusCode;
use serde_json::json;
use todo_api::auth::UserId;
use todo_api::conversations::{NewMessage, store};

use crate::backend_test;
use crate::helpers::{TestApp, error_code};

backend_test!(
    async fn a_tool_calling_conversation_is_stored_and_read_back_in_order(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let owner = UserId(user.id);
        let d = &app.state.db;

        let older = store::create(d, owner, Some("groceries")).await.unwrap();
        let chat = store::create(d, owner, None).await.unwrap();
        let tool_calls = vec![json!({
            "id": "call_abc123",
            "type": "function",
            "function": {"name": "add_task", "arguments": "{\"title\":\"Buy milk\"}"}
        })];
        let turns = [
            NewMessage::User { content: "add buy milk".into() },
            NewMessage::Assistant { content: String::new(), tool_calls: tool_calls.clone() },
            NewMessage::Tool { tool_call_id: "call_abc123".into(), content: "{\"id\":1,\"title\":\"Buy milk\"}".into() },
            NewMessage::Assistant { content: "Added \"Buy milk\".".into(), tool_calls: vec![] },
        ];
        for turn in &turns {
            store::append_message(d, owner, chat.id, turn).await.unwrap().expect("own conversation");
        }

        let (status, list) = app.get("/api/conversations", &user.token).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["total"], 2);
        assert_eq!((list["limit"].as_i64(), list["offset"].as_i64()), (Some(50), Some(0)));
        let items = list["items"].as_array().unwrap();
        assert_eq!(items[0]["id"], chat.id, "most recently active first");
        assert_eq!(items[0]["title"], serde_json::Value::Null);
        assert_eq!(items[1]["id"], older.id);
        assert_eq!(items[1]["title"], "groceries");
        assert!(items[0]["updated_at"].as_str() >= items[0]["created_at"].as_str());
        let mut keys: Vec<_> = items[0].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["created_at", "id", "title", "updated_at"]);

        let (status, messages) = app.get(&format!("/api/conversations/{}/messages", chat.id), &user.token).await;
        assert_eq!(status, StatusCode::OK, "{messages}");
        let m = messages["items"].as_array().unwrap();
        assert_eq!(m.len(), 4);
        let roles: Vec<_> = m.iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "tool", "assistant"], "oldest first");
        assert_eq!(m[0]["content"], "add buy milk");
        assert_eq!(m[0]["tool_calls"], serde_json::Value::Null);
        assert_eq!(m[1]["tool_calls"], json!(tool_calls), "tool calls round-trip as JSON");
        assert_eq!(m[1]["tool_call_id"], serde_json::Value::Null);
        assert_eq!(m[2]["tool_call_id"], "call_abc123");
        assert_eq!(m[3]["tool_calls"], serde_json::Value::Null, "an empty call list is stored as none");
        let mut keys: Vec<_> = m[0].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["content", "created_at", "id", "role", "tool_call_id", "tool_calls"]);

        let (_, paged) = app.get("/api/conversations?limit=1&offset=1", &user.token).await;
        assert_eq!(paged["items"][0]["id"], older.id);
        let (_, empty) = app.get(&format!("/api/conversations/{}/messages", older.id), &user.token).await;
        assert_eq!(empty, json!({"items": []}));

        for path in ["/api/conversations/999999/messages", "/api/conversations/abc/messages", "/api/conversations/-1/messages"] {
            let (status, body) = app.get(path, &user.token).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            assert_eq!(error_code(&body), "not_found");
        }
        app.stop().await;
    }
);

backend_test!(
    async fn the_schema_refuses_turns_the_agent_must_never_store(db) {
        // NewMessage makes these unrepresentable in Rust; the database enforces the same rules
        // for anything that writes SQL directly.
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let chat = store::create(&app.state.db, UserId(user.id), None).await.unwrap();
        let bad_rows: [(&str, Option<&str>, Option<&str>); 5] = [
            ("user", None, None),                               // fine: control row
            ("tool", None, None),                               // tool result without its call id
            ("user", Some("[]"), None),                         // tool calls on a user turn
            ("assistant", Some("{\"not\":\"an array\"}"), None), // tool_calls must be an array
            ("system", None, None),                             // unknown role
        ];
        for (i, (role, tool_calls, tool_call_id)) in bad_rows.into_iter().enumerate() {
            let sql = "INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, created_at) \
                       VALUES ($1, $2, 'x', $3, $4, $5)";
            let now = todo_api::db::Timestamp::now();
            let result = match &app.state.db {
                todo_api::db::Db::Postgres(pool) => sqlx::query(sql)
                    .bind(chat.id)
                    .bind(role)
                    .bind(tool_calls.map(|t| sqlx::types::Json(serde_json::from_str::<serde_json::Value>(t).unwrap())))
                    .bind(tool_call_id)
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(|_| ()),
                todo_api::db::Db::Sqlite(db) => sqlx::query(sql)
                    .bind(chat.id)
                    .bind(role)
                    .bind(tool_calls)
                    .bind(tool_call_id)
                    .bind(now)
                    .execute(&db.pool)
                    .await
                    .map(|_| ()),
            };
            if i == 0 {
                result.expect("a plain user turn is accepted");
            } else {
                assert!(result.is_err(), "row {i} ({role}, {tool_calls:?}) was accepted");
            }
        }
        app.stop().await;
    }
);
