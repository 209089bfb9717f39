use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_test;
use crate::helpers::{TestApp, error_code};

fn is_rfc3339_utc(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

backend_test!(
    async fn a_task_can_be_created_read_updated_and_deleted(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let t = &user.token;

        let (status, task) = app
            .post("/api/tasks", t, json!({"title": "  Buy milk  ", "description": "2 litres"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        let id = task["id"].as_i64().expect("integer id");
        assert_eq!(task["title"], "Buy milk");
        assert_eq!(task["description"], "2 litres");
        assert_eq!(task["completed"], false);
        assert!(is_rfc3339_utc(&task["created_at"]) && is_rfc3339_utc(&task["updated_at"]), "{task}");
        assert_eq!(task["created_at"], task["updated_at"]);
        let mut keys: Vec<_> = task.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["completed", "created_at", "description", "id", "title", "updated_at"]);

        let path = format!("/api/tasks/{id}");
        let (status, fetched) = app.get(&path, t).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fetched, task, "what was returned on create is what is stored");

        let (status, done) = app.patch(&path, t, json!({"completed": true})).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["completed"], true);
        assert_eq!(done["title"], "Buy milk");
        assert_eq!(done["description"], "2 litres");
        assert_eq!(done["created_at"], task["created_at"]);
        assert!(done["updated_at"].as_str() >= task["updated_at"].as_str());

        let (status, renamed) = app
            .patch(&path, t, json!({"title": "Buy oat milk", "description": null}))
            .await;
        assert_eq!(status, StatusCode::OK, "{renamed}");
        assert_eq!(renamed["title"], "Buy oat milk");
        assert_eq!(renamed["description"], Value::Null, "null clears the description");
        assert_eq!(renamed["completed"], true, "fields not sent are kept");

        let (status, unchanged) = app.patch(&path, t, json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(unchanged, renamed);

        let (status, body) = app.delete(&path, t).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(body, Value::Null, "204 has no body");
        for (status, body) in [
            app.get(&path, t).await,
            app.patch(&path, t, json!({"completed": false})).await,
            app.delete(&path, t).await,
        ] {
            assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
            assert_eq!(error_code(&body), "not_found");
        }
        app.stop().await;
    }
);

backend_test!(
    async fn task_fields_are_validated(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let t = &user.token;
        let invalid_creates = [
            (json!({"title": "   "}), "title must not be empty"),
            (json!({"title": "x".repeat(201)}), "at most 200"),
            (json!({"title": "ok", "description": "d".repeat(2001)}), "at most 2000"),
            (json!({"title": "nul\u{0}byte"}), "control characters"),
            (json!({"title": 42}), "title: invalid type"),
            (json!({"description": "no title"}), "missing field `title`"),
            (json!({"title": "x", "user_id": 1}), "unknown field `user_id`"),
            (json!({"title": "x", "completed": true}), "unknown field `completed`"),
        ];
        for (body, expected) in invalid_creates {
            let (status, answer) = app.post("/api/tasks", t, body.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            assert_eq!(error_code(&answer), "validation_error");
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(message.contains(expected), "{body}: {message}");
        }
        // The limits are in characters, not bytes.
        let (status, _) = app
            .post("/api/tasks", t, json!({"title": "é".repeat(200), "description": "ü".repeat(2000)}))
            .await;
        assert_eq!(status, StatusCode::CREATED);

        let task = app.create_task(&user, "keep me").await;
        let path = format!("/api/tasks/{}", task["id"]);
        let invalid_patches = [
            (json!({"title": null}), "title must not be null"),
            (json!({"completed": null}), "completed must not be null"),
            (json!({"completed": "yes"}), "completed: invalid type"),
            (json!({"id": 99}), "unknown field `id`"),
            (json!({"owner": 2}), "unknown field `owner`"),
        ];
        for (body, expected) in invalid_patches {
            let (status, answer) = app.patch(&path, t, body.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
            assert!(answer["error"]["message"].as_str().unwrap().contains(expected), "{body}: {answer}");
        }
        let (_, after) = app.get(&path, t).await;
        assert_eq!(after, task, "rejected updates change nothing");
        app.stop().await;
    }
);

backend_test!(
    async fn lists_filter_search_and_page_newest_first(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let t = &user.token;
        let mut ids = Vec::new();
        for i in 0..7 {
            let (_, task) = app
                .post("/api/tasks", t, json!({"title": format!("Task {i}"), "description": if i == 3 { "50% OFF at the Bakery" } else { "plain" }}))
                .await;
            ids.push(task["id"].as_i64().unwrap());
        }
        for id in &ids[..3] {
            app.patch(&format!("/api/tasks/{id}"), t, json!({"completed": true})).await;
        }

        let (status, all) = app.get("/api/tasks", t).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((all["total"].as_i64(), all["limit"].as_i64(), all["offset"].as_i64()), (Some(7), Some(50), Some(0)));
        let listed: Vec<i64> = all["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
        let newest_first: Vec<i64> = ids.iter().rev().copied().collect();
        assert_eq!(listed, newest_first);

        let (_, pending) = app.get("/api/tasks?status=pending", t).await;
        assert_eq!(pending["total"], 4);
        assert!(pending["items"].as_array().unwrap().iter().all(|t| t["completed"] == false));
        let (_, completed) = app.get("/api/tasks?status=completed", t).await;
        assert_eq!(completed["total"], 3);
        assert!(completed["items"].as_array().unwrap().iter().all(|t| t["completed"] == true));

        let (_, found) = app.get("/api/tasks?q=bAKERY", t).await;
        assert_eq!(found["total"], 1, "case-insensitive search in descriptions: {found}");
        assert_eq!(found["items"][0]["id"], ids[3]);
        let (_, literal) = app.get("/api/tasks?q=50%25", t).await;
        assert_eq!(literal["total"], 1, "% is matched literally: {literal}");
        let (_, underscore) = app.get("/api/tasks?q=_", t).await;
        assert_eq!(underscore["total"], 0, "_ is matched literally: {underscore}");
        let (_, by_title) = app.get("/api/tasks?q=task%206&status=pending", t).await;
        assert_eq!(by_title["items"][0]["id"], ids[6]);
        assert_eq!(by_title["total"], 1);

        let (_, page) = app.get("/api/tasks?limit=3&offset=2", t).await;
        let page_ids: Vec<i64> = page["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
        assert_eq!(page_ids, newest_first[2..5]);
        assert_eq!((page["total"].as_i64(), page["limit"].as_i64(), page["offset"].as_i64()), (Some(7), Some(3), Some(2)));
        let (_, past_end) = app.get("/api/tasks?offset=50", t).await;
        assert_eq!(past_end["items"], json!([]));
        assert_eq!(past_end["total"], 7);

        let (status, clamped) = app.get("/api/tasks?limit=1000", t).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(clamped["limit"], 100, "limits above the maximum are clamped");

        for bad in ["limit=0", "limit=-5", "offset=-1", "limit=ten", "status=done", "sort=title"] {
            let (status, body) = app.get(&format!("/api/tasks?{bad}"), t).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
            assert_eq!(error_code(&body), "validation_error");
        }
        let (_, body) = app.get("/api/tasks?sort=title", t).await;
        assert!(body["error"]["message"].as_str().unwrap().contains("sort"), "{body}");
        app.stop().await;
    }
);

backend_test!(
    async fn tasks_created_in_the_same_instant_keep_a_stable_order(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        // Written straight to the store with one timestamp, so only the id can order them.
        let owner = todo_api::auth::UserId(user.id);
        for title in ["a", "b", "c", "d"] {
            let new = todo_api::tasks::NewTask {
                title: todo_api::tasks::Title::parse(title).unwrap(),
                description: None,
            };
            todo_api::tasks::store::create(&app.state.db, owner, &new).await.unwrap();
        }
        let on_pool = &app.state.db;
        match on_pool {
            todo_api::db::Db::Postgres(pool) => {
                sqlx::query("UPDATE tasks SET created_at = '2026-01-01T00:00:00Z'")
                    .execute(pool)
                    .await
                    .unwrap();
            }
            todo_api::db::Db::Sqlite(db) => {
                sqlx::query("UPDATE tasks SET created_at = '2026-01-01T00:00:00.000000Z'")
                    .execute(&db.pool)
                    .await
                    .unwrap();
            }
        }
        let mut seen = Vec::new();
        for offset in 0..4 {
            let (_, page) = app.get(&format!("/api/tasks?limit=1&offset={offset}"), &user.token).await;
            seen.push(page["items"][0]["title"].as_str().unwrap().to_owned());
        }
        assert_eq!(seen, ["d", "c", "b", "a"]);
        app.stop().await;
    }
);

backend_test!(
    async fn search_ignores_the_case_of_letters_beyond_ascii(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let t = &user.token;
        let upper = app.create_task(&user, "Ölwechsel beim Händler").await["id"].clone();
        let (_, lower) = app.post("/api/tasks", t, json!({"title": "call Zoë", "description": "about the ölwechsel"})).await;
        let titles = |page: &Value| -> Vec<Value> { page["items"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect() };
        for q in ["%C3%B6lwechsel", "%C3%96LWECHSEL", "%C3%96lWechsel"] {
            let (status, found) = app.get(&format!("/api/tasks?q={q}"), t).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(titles(&found), [lower["id"].clone(), upper.clone()], "{q}: {found}");
        }
        let (_, found) = app.get("/api/tasks?q=H%C3%84NDLER", t).await;
        assert_eq!(titles(&found), [upper], "{found}");
        let (_, found) = app.get("/api/tasks?q=ZO%C3%8B", t).await;
        assert_eq!(titles(&found), [lower["id"].clone()], "{found}");
        app.stop().await;
    }
);
