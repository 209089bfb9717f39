//! Broken object-level authorisation (OWASP API1): user B must never reach user A's data.

use reqwest::{Method, StatusCode};
use serde_json::json;
use todo_api::auth::UserId;
use todo_api::conversations::{NewMessage, store as conversations};
use todo_api::http::{Access, endpoints};

use crate::backend_test;
use crate::helpers::{TestApp, error_code};

backend_test!(
    async fn another_users_objects_answer_404_on_every_route(db) {
        let app = TestApp::spawn(&db).await;
        let alice = app.new_user().await;
        let bob = app.new_user().await;

        let task = app.create_task(&alice, "alice's secret task").await;
        let task_id = task["id"].as_i64().unwrap();
        let conversation = conversations::create(&app.state.db, UserId(alice.id), Some("alice's chat"))
            .await
            .unwrap();
        conversations::append_message(
            &app.state.db,
            UserId(alice.id),
            conversation.id,
            &NewMessage::User { content: "remember my PIN is 1234".into() },
        )
        .await
        .unwrap()
        .unwrap();

        // Every route that takes an id, straight from the route table, so a route added later
        // is covered without editing this test.
        let mut checked = 0;
        for endpoint in endpoints().into_iter().filter(|e| e.path.contains("{id}")) {
            assert!(matches!(endpoint.access, Access::Read | Access::Write), "{} is not protected", endpoint.path);
            let id = if endpoint.path.starts_with("/api/tasks/") {
                task_id
            } else if endpoint.path.starts_with("/api/conversations/") {
                conversation.id
            } else {
                panic!("no fixture for {}: add one here", endpoint.path)
            };
            let path = endpoint.path.replace("{id}", &id.to_string());
            let body = (endpoint.method == Method::PATCH).then(|| json!({"title": "pwned", "completed": true}));
            let (status, answer) = app.request(endpoint.method.clone(), &path, Some(&bob.token), body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{} {path} as bob: {answer}", endpoint.method);
            assert_eq!(error_code(&answer), "not_found");
            checked += 1;
        }
        assert!(checked >= 4, "expected the task and conversation routes, checked {checked}");

        // Alice's data is untouched and still hers.
        let (status, still) = app.get(&format!("/api/tasks/{task_id}"), &alice.token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(still, task);
        let (_, messages) = app.get(&format!("/api/conversations/{}/messages", conversation.id), &alice.token).await;
        assert_eq!(messages["items"].as_array().unwrap().len(), 1);

        // Lists show Bob nothing of Alice's, whatever the filters.
        for path in ["/api/tasks", "/api/tasks?status=pending", "/api/tasks?q=secret", "/api/conversations"] {
            let (status, list) = app.get(path, &bob.token).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(list["total"], 0, "{path}: {list}");
            assert_eq!(list["items"], json!([]), "{path}");
        }

        // Bob's own task is created for Bob even if he names Alice in the body.
        let (status, body) = app
            .post("/api/tasks", &bob.token, json!({"title": "mine", "user_id": alice.id}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        app.create_task(&bob, "bob's task").await;
        let (_, alice_list) = app.get("/api/tasks", &alice.token).await;
        assert_eq!(alice_list["total"], 1);
        assert_eq!(alice_list["items"][0]["id"], task_id);
        app.stop().await;
    }
);

backend_test!(
    async fn the_store_itself_scopes_every_call_to_its_owner(db) {
        // The chat agent's tools call the store directly, so the store must enforce ownership
        // on its own, not rely on the HTTP layer.
        use todo_api::page::PageRequest;
        use todo_api::tasks::{NewTask, TaskFilter, TaskPatch, Title, store};
        let app = TestApp::spawn(&db).await;
        let alice = UserId(app.new_user().await.id);
        let bob = UserId(app.new_user().await.id);
        let d = &app.state.db;
        let new = NewTask { title: Title::parse("alice only").unwrap(), description: None };
        let task = store::create(d, alice, &new).await.unwrap();
        let patch = TaskPatch { completed: Some(true), ..TaskPatch::default() };

        assert_eq!(store::get(d, bob, task.id).await.unwrap(), None);
        assert_eq!(store::update(d, bob, task.id, &patch).await.unwrap(), None);
        assert!(!store::delete(d, bob, task.id).await.unwrap());
        let bobs = store::list(d, bob, &TaskFilter::default(), PageRequest::default()).await.unwrap();
        assert_eq!(bobs.total, 0);
        assert_eq!(store::get(d, alice, task.id).await.unwrap(), Some(task));

        let chat = conversations::create(d, alice, None).await.unwrap();
        let appended = conversations::append_message(d, bob, chat.id, &NewMessage::User { content: "hi".into() })
            .await
            .unwrap();
        assert_eq!(appended, None, "bob cannot write into alice's conversation");
        assert_eq!(conversations::messages(d, bob, chat.id).await.unwrap(), None);
        assert_eq!(conversations::messages(d, alice, chat.id).await.unwrap(), Some(vec![]));
        app.stop().await;
    }
);
