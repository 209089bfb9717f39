//! Resource limits (OWASP API4): body size, request rate, request time.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::backend_test;
use crate::helpers::{PASSWORD, TestApp, error_code};

backend_test!(
    async fn oversized_bodies_are_refused_with_413(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let huge = json!({"title": "big", "description": "x".repeat(200 * 1024)}).to_string();

        // Announced by Content-Length. On a client of its own: the server answers before reading
        // the body and then closes the connection, which a shared pool might hand to the next
        // request of this test (failing it with "connection closed before message completed").
        let response = reqwest::Client::new()
            .post(app.url("/api/tasks"))
            .bearer_auth(&user.token)
            .header("content-type", "application/json")
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "payload_too_large");

        // Sent in chunks without a length: the limit still holds.
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "POST /api/tasks HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            user.token
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        for chunk in huge.as_bytes().chunks(8 * 1024) {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
            // The server may answer and close before reading it all.
            if stream.write_all(&framed).await.is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");

        let (_, list) = app.get("/api/tasks", &user.token).await;
        assert_eq!(list["total"], 0, "nothing was stored");
        app.stop().await;
    }
);

backend_test!(
    async fn bursts_of_logins_get_429_with_retry_after(db) {
        let app = TestApp::spawn_with(&db, &[("RATE_LIMIT_AUTH_PER_MINUTE", "3")]).await;
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(app.login("someone@example.com", "wrong password").await.0);
        }
        assert_eq!(
            statuses,
            [StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS]
        );
        let response = app
            .client
            .post(app.url("/api/auth/signup"))
            .json(&json!({"email": "new@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "signup shares the per-IP budget");
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "rate_limited");

        // Without TRUST_PROXY_HEADERS a forged X-Forwarded-For buys nothing.
        let response = app
            .client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", "203.0.113.99")
            .json(&json!({"email": "someone@example.com", "password": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        app.stop().await;
    }
);

backend_test!(
    async fn behind_a_trusted_proxy_limits_apply_per_client_and_per_account(db) {
        let app = TestApp::spawn_with(
            &db,
            &[("RATE_LIMIT_AUTH_PER_MINUTE", "2"), ("TRUST_PROXY_HEADERS", "true")],
        )
        .await;
        let login_from = |ip: &'static str, email: &'static str| {
            let request = app
                .client
                .post(app.url("/api/auth/login"))
                .header("x-forwarded-for", ip)
                .json(&json!({"email": email, "password": "wrong password"}));
            async move { request.send().await.unwrap().status() }
        };
        // Two clients have a budget each.
        assert_eq!(login_from("198.51.100.1", "a@example.com").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from("198.51.100.1", "b@example.com").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from("198.51.100.1", "c@example.com").await, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(login_from("198.51.100.2", "c@example.com").await, StatusCode::UNAUTHORIZED);
        // One account guessed at from many addresses runs out too: a@ was tried once above.
        assert_eq!(login_from("198.51.100.3", "a@example.com").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from("198.51.100.4", "a@example.com").await, StatusCode::TOO_MANY_REQUESTS);
        app.stop().await;
    }
);

backend_test!(
    async fn failed_logins_for_an_account_do_not_lock_its_owner_out(db) {
        let app = TestApp::spawn_with(
            &db,
            &[("RATE_LIMIT_AUTH_PER_MINUTE", "2"), ("TRUST_PROXY_HEADERS", "true")],
        )
        .await;
        let owner = app.new_user().await;
        let login_from = |ip: &'static str, password: &'static str| {
            let request = app
                .client
                .post(app.url("/api/auth/login"))
                .header("x-forwarded-for", ip)
                .json(&json!({"email": owner.email, "password": password}));
            async move { request.send().await.unwrap().status() }
        };
        // Successes do not count against the account.
        for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
            assert_eq!(login_from(ip, PASSWORD).await, StatusCode::OK, "{ip}");
        }
        // An attacker spends the account's budget of failures from many addresses...
        assert_eq!(login_from("203.0.113.1", "wrong password").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from("203.0.113.2", "wrong password").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from("203.0.113.3", "wrong password").await, StatusCode::TOO_MANY_REQUESTS);
        // ...and the owner, with the right password, still gets in.
        assert_eq!(login_from("198.51.100.4", PASSWORD).await, StatusCode::OK);
        app.stop().await;
    }
);

backend_test!(
    async fn bursts_of_writes_are_limited_per_user(db) {
        let app = TestApp::spawn_with(&db, &[("RATE_LIMIT_WRITES_PER_MINUTE", "3")]).await;
        let alice = app.new_user().await;
        let bob = app.new_user().await;
        let task = app.create_task(&alice, "one").await;
        app.patch(&format!("/api/tasks/{}", task["id"]), &alice.token, json!({"completed": true})).await;
        app.create_task(&alice, "three").await;
        let response = app
            .client
            .post(app.url("/api/tasks"))
            .bearer_auth(&alice.token)
            .json(&json!({"title": "four"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        let (status, _) = app.delete(&format!("/api/tasks/{}", task["id"]), &alice.token).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "deletes spend the same budget");

        // Reads are not limited, and another user has their own budget.
        let (status, list) = app.get("/api/tasks", &alice.token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["total"], 2, "the refused write stored nothing");
        app.create_task(&bob, "bob is fine").await;
        app.stop().await;
    }
);

/// Sends a request whose body never completes and returns the raw response text.
async fn stalled_request(app: &TestApp, token: &str) -> String {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/tasks HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut response))
        .await
        .expect("the server answers a stalled request by itself")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

backend_test!(
    async fn a_request_that_takes_too_long_gets_a_timeout_error(db) {
        let app = TestApp::spawn_with(&db, &[("REQUEST_TIMEOUT_SECS", "1")]).await;
        let user = app.new_user().await;
        let response = stalled_request(&app, &user.token).await;
        assert!(response.starts_with("HTTP/1.1 503"), "{response}");
        assert!(response.contains(r#""code":"timeout""#), "{response}");
        assert!(response.to_lowercase().contains("x-request-id:"), "{response}");
        app.stop().await;
    }
);
