//! Every failure, including the framework's own (unknown route, wrong method, unreadable body),
//! answers with the same JSON error body and a request id.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend_test;
use crate::helpers::TestApp;

backend_test!(
    async fn every_error_uses_the_json_error_body(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let task = app.create_task(&user, "exists").await;
        let task_path = format!("/api/tasks/{}", task["id"]);
        let auth = format!("Bearer {}", user.token);

        struct Case {
            method: Method,
            path: String,
            content_type: Option<&'static str>,
            body: Option<&'static str>,
            authorised: bool,
            status: StatusCode,
            code: &'static str,
            message_contains: &'static str,
        }
        let case = |method: Method, path: &str, status, code, message_contains| Case {
            method,
            path: path.to_owned(),
            content_type: None,
            body: None,
            authorised: true,
            status,
            code,
            message_contains,
        };
        let cases = [
            case(Method::GET, "/api/nope", StatusCode::NOT_FOUND, "not_found", "no such route"),
            case(Method::GET, "/nope", StatusCode::NOT_FOUND, "not_found", "no such route"),
            case(Method::PUT, "/api/tasks", StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "not allowed"),
            case(Method::POST, &task_path, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "not allowed"),
            case(Method::GET, "/api/tasks/not-a-number", StatusCode::NOT_FOUND, "not_found", "id"),
            case(Method::GET, "/api/tasks/99999999999999999999", StatusCode::NOT_FOUND, "not_found", "id"),
            // Not UTF-8 once decoded: still just an id that names nothing.
            case(Method::GET, "/api/tasks/%FF", StatusCode::NOT_FOUND, "not_found", "id"),
            case(Method::DELETE, "/api/tasks/%C3%28", StatusCode::NOT_FOUND, "not_found", "id"),
            case(Method::GET, "/api/conversations/%FF/messages", StatusCode::NOT_FOUND, "not_found", "id"),
            case(Method::GET, "/api/tasks?limit=abc", StatusCode::UNPROCESSABLE_ENTITY, "validation_error", "limit"),
            Case { content_type: Some("application/json"), body: Some("{\"title\": "), ..case(Method::POST, "/api/tasks", StatusCode::BAD_REQUEST, "bad_request", "malformed JSON") },
            Case { content_type: Some("application/json"), body: Some("{\"title\": \"a\"} trailing"), ..case(Method::POST, "/api/tasks", StatusCode::BAD_REQUEST, "bad_request", "malformed JSON") },
            Case { content_type: Some("application/json"), body: Some(""), ..case(Method::POST, "/api/tasks", StatusCode::BAD_REQUEST, "bad_request", "malformed JSON") },
            Case { content_type: Some("text/plain"), body: Some("{\"title\": \"a\"}"), ..case(Method::POST, "/api/tasks", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "application/json") },
            Case { body: Some("{\"title\": \"a\"}"), ..case(Method::POST, "/api/tasks", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "application/json") },
            Case { content_type: Some("application/json"), body: Some("{\"title\": \"a\", \"priority\": 1}"), ..case(Method::POST, "/api/tasks", StatusCode::UNPROCESSABLE_ENTITY, "validation_error", "unknown field `priority`") },
            Case { authorised: false, ..case(Method::GET, "/api/tasks", StatusCode::UNAUTHORIZED, "unauthorized", "bearer") },
            Case { authorised: false, content_type: Some("application/json"), body: Some("{\"email\": 1}"), ..case(Method::POST, "/api/auth/login", StatusCode::UNPROCESSABLE_ENTITY, "validation_error", "email: invalid type") },
        ];
        for c in cases {
            let mut request = app.client.request(c.method.clone(), app.url(&c.path));
            if c.authorised {
                request = request.header("authorization", &auth);
            }
            if let Some(ct) = c.content_type {
                request = request.header("content-type", ct);
            }
            if let Some(body) = c.body {
                request = request.body(body);
            }
            let response = request.send().await.unwrap();
            let what = format!("{} {}", c.method, c.path);
            assert_eq!(response.status(), c.status, "{what}");
            assert_eq!(response.headers()["content-type"], "application/json", "{what}");
            assert!(response.headers().contains_key("x-request-id"), "{what}");
            assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
            assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{what}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], c.code, "{what}: {body}");
            assert_eq!(body.as_object().unwrap().len(), 1, "{what}: {body}");
            assert_eq!(body["error"].as_object().unwrap().len(), 2, "{what}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                message.to_lowercase().contains(&c.message_contains.to_lowercase()),
                "{what}: {message}"
            );
        }
        app.stop().await;
    }
);

backend_test!(
    async fn wrong_methods_say_which_are_allowed(db) {
        let app = TestApp::spawn(&db).await;
        let response = app.client.put(app.url("/api/tasks/1")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "no auth needed to learn that");
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        for method in ["GET", "PATCH", "DELETE"] {
            assert!(allow.contains(method), "{allow}");
        }
        app.stop().await;
    }
);

backend_test!(
    async fn request_ids_are_echoed_when_sane_and_generated_otherwise(db) {
        let app = TestApp::spawn(&db).await;
        let id_for = |incoming: Option<&'static str>| {
            let mut request = app.client.get(app.url("/healthz"));
            if let Some(id) = incoming {
                request = request.header("x-request-id", id);
            }
            async move {
                let response = request.send().await.unwrap();
                response.headers()["x-request-id"].to_str().unwrap().to_owned()
            }
        };
        assert_eq!(id_for(Some("ingress-4f2a:7")).await, "ingress-4f2a:7");
        let generated = id_for(None).await;
        assert_eq!(generated.len(), 32);
        assert_ne!(generated, id_for(None).await);
        let replaced = id_for(Some("evil\" injected=\"1")).await;
        assert_eq!(replaced.len(), 32, "{replaced}");
        // Errors carry one too.
        let response = app.client.get(app.url("/api/tasks")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["x-request-id"].len(), 32);
        app.stop().await;
    }
);

backend_test!(
    async fn a_failing_database_is_a_500_that_reveals_nothing(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        // Every query now fails inside sqlx ("attempted to acquire a connection on a closed pool").
        app.state.db.close().await;
        let response = app.client.get(app.url("/api/tasks")).bearer_auth(&user.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(request_id.len(), 32, "the id to quote when reporting it");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"error": {"code": "internal", "message": "internal error"}}));
        let (status, ready) = app.request(Method::GET, "/readyz", None, None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
        app.stop().await;
    }
);

backend_test!(
    async fn every_body_that_is_not_an_object_is_refused_and_changes_nothing(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let task = app.create_task(&user, "kept").await;
        let task_path = format!("/api/tasks/{}", task["id"]);
        // Serde would read the first two as a task `{title, description}` and the third as a
        // patch `{title, description, completed}`: they must not create, rename or complete.
        let bodies = [
            json!([]),
            json!(["via array", "desc"]),
            json!(["renamed", null, true]),
            json!("a string"),
            json!(42),
            json!(true),
            Value::Null,
        ];
        let routes = [
            (Method::POST, "/api/auth/signup".to_owned(), false),
            (Method::POST, "/api/auth/login".to_owned(), false),
            (Method::POST, "/api/tasks".to_owned(), true),
            (Method::PATCH, task_path.clone(), true),
            (Method::POST, "/api/chat".to_owned(), true),
            (Method::POST, "/mcp".to_owned(), true),
            (Method::POST, "/api/mcp".to_owned(), true),
        ];
        for (method, path, authorised) in &routes {
            for body in &bodies {
                let mut request = app
                    .client
                    .request(method.clone(), app.url(path))
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .body(body.to_string());
                if *authorised {
                    request = request.bearer_auth(&user.token);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let answer: Value = response.json().await.unwrap();
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} {body}: {answer}");
                assert_eq!(answer["error"]["code"], "validation_error", "{method} {path} {body}");
                let message = answer["error"]["message"].as_str().unwrap();
                assert!(message.starts_with("the request body must be a JSON object, not "), "{message}");
            }
        }
        let (_, tasks) = app.get("/api/tasks", &user.token).await;
        assert_eq!(tasks["total"], 1, "{tasks}");
        assert_eq!(tasks["items"][0]["title"], "kept");
        assert_eq!(tasks["items"][0]["completed"], false);
        app.stop().await;
    }
);

backend_test!(
    async fn lengths_count_the_text_as_sent_and_whole_numbers_may_have_a_zero_fraction(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        // 200 characters and a space: the document's maxLength (200) refuses it, so does the server.
        let padded = format!("{} ", "x".repeat(200));
        let (status, answer) = app.post("/api/tasks", &user.token, json!({"title": padded})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let (status, task) = app.post("/api/tasks", &user.token, json!({"title": " x ".repeat(66)})).await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        let (status, reply) = app.chat(&user, "add tea", None).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        let id = reply["conversation_id"].as_i64().unwrap();
        let body = format!(r#"{{"message": "what's on my list", "conversation_id": {id}.0}}"#);
        let response = app
            .client
            .post(app.url("/api/chat"))
            .bearer_auth(&user.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["conversation_id"], id);
        app.stop().await;
    }
);
