//! todo-web over real HTTP: the app bound to port 0, as `cargo xtask up` and the image run it,
//! and (for the proxy) a stand-in API on another port.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use reqwest::header;
use serde_json::{Value, json};
use todo_web::{Application, Config};

struct TestApp {
    url: String,
    client: reqwest::Client,
}

async fn spawn_app(upstream: Option<&str>) -> TestApp {
    let config = Config::from_lookup(|key| match key {
        "PORT" => Some("0".to_owned()),
        "BIND_ADDR" => Some("127.0.0.1".to_owned()),
        "API_UPSTREAM" => upstream.map(str::to_owned),
        _ => None,
    })
    .unwrap();
    let app = Application::build(&config).await.unwrap();
    let url = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        url,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
    }
}

impl TestApp {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.url)).send().await.unwrap()
    }

    /// The versioned URL of `file` as the page names it.
    async fn asset_url(&self, file: &str) -> String {
        let page = self.get("/").await.text().await.unwrap();
        let at = page.find(&format!("/{file}\"")).unwrap_or_else(|| panic!("the page names {file}"));
        let start = page[..at].rfind("\"/assets/").unwrap() + 1;
        page[start..at + file.len() + 1].to_owned()
    }
}

/// An API stand-in: echoes what it received, and answers with chosen statuses.
async fn spawn_upstream() -> SocketAddr {
    async fn echo(headers: HeaderMap, req: Request) -> impl IntoResponse {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let reply = json!({
            "method": parts.method.as_str(),
            "path_and_query": parts.uri.path_and_query().map(|pq| pq.as_str()),
            "authorization": header("authorization"),
            "x_forwarded_for": header("x-forwarded-for"),
            "x_forwarded_host": header("x-forwarded-host"),
            "connection_header_named": header("x-hop"),
            "body": String::from_utf8_lossy(&body),
        });
        (StatusCode::CREATED, [("x-upstream", "yes")], axum::Json(reply))
    }
    let app = Router::new()
        .route("/api/echo", any(echo))
        .route(
            "/api/conflict",
            get(|| async {
                (
                    StatusCode::CONFLICT,
                    axum::Json(json!({ "error": { "code": "email_taken", "message": "taken" } })),
                )
            }),
        )
        .route(
            "/api/limited",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "7")],
                    axum::Json(json!({ "error": { "code": "rate_limited", "message": "slow down" } })),
                )
            }),
        )
        .route("/api/gone", any(|| async { StatusCode::NO_CONTENT }))
        .route("/api/big", get(|| async { Bytes::from(vec![b'x'; 256 * 1024]) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app(None).await;
    let css = app.asset_url("app.css").await;
    for path in ["/", "/healthz", &css, "/missing.png", "/api/tasks"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
        ] {
            assert!(csp.contains(directive), "{path}: CSP lacks {directive}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
        assert_eq!(headers["cross-origin-opener-policy"], "same-origin", "{path}");
        assert!(headers["permissions-policy"].to_str().unwrap().contains("camera=()"), "{path}");
    }
}

#[tokio::test]
async fn the_page_is_revalidated_and_versioned_assets_are_cached_for_a_year() {
    let app = spawn_app(None).await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
    let etag = page.headers()[header::ETAG].clone();
    let again = app
        .client
        .get(format!("{}/", app.url))
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "an unchanged page costs no body");
    assert_eq!(again.headers()[header::ETAG], etag);

    for (file, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let url = app.asset_url(file).await;
        let response = app.get(&url).await;
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable", "{url}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], content_type, "{url}");
    }
    // Modules import each other relative to app.js, under the same version.
    let module = app.asset_url("app.js").await.replace("app.js", "js/api.js");
    assert_eq!(app.get(&module).await.status(), 200, "{module}");
    // A version the server does not have (a page from before a deploy) is not served stale.
    let stale = app.get("/assets/000000000000/app.js").await;
    assert_eq!(stale.status(), 404);
    assert_eq!(stale.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn unknown_routes_get_the_app_and_unknown_files_a_404() {
    let app = spawn_app(None).await;
    let index = app.get("/").await.text().await.unwrap();
    for route in ["/tasks", "/some/deep/route", "/?filter=pending"] {
        let response = app.get(route).await;
        assert_eq!(response.status(), 200, "{route}");
        assert_eq!(response.text().await.unwrap(), index, "{route} serves the app");
    }
    for missing in ["/favicon.ico", "/robots.txt", "/assets/app.js", "/deep/image.png"] {
        let response = app.get(missing).await;
        assert_eq!(response.status(), 404, "{missing}");
        assert!(!response.text().await.unwrap().contains("<html"), "{missing}: not the app");
    }
    let post = app.client.post(format!("{}/tasks", app.url)).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");
}

#[tokio::test]
async fn text_is_compressed_for_clients_that_accept_it() {
    let app = spawn_app(None).await;
    let js = app.asset_url("app.js").await;
    let response = app
        .client
        .get(format!("{}{js}", app.url))
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
    assert_eq!(response.headers()[header::VARY], "accept-encoding");
    let plain = app.get(&js).await;
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn probes_answer_and_are_never_cached() {
    let app = spawn_app(None).await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store", "{path}");
        assert_eq!(response.json::<Value>().await.unwrap()["status"], status, "{path}");
    }
}

#[tokio::test]
async fn without_an_upstream_api_paths_answer_a_json_404() {
    let app = spawn_app(None).await;
    let response = app.get("/api/tasks").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn the_proxy_passes_methods_bodies_statuses_and_headers_through() {
    let upstream = spawn_upstream().await;
    let app = spawn_app(Some(&format!("http://{upstream}"))).await;

    let response = app
        .client
        .post(format!("{}/api/echo?status=pending&q=oat%20milk", app.url))
        .header(header::AUTHORIZATION, "Bearer t0ken")
        .header(header::CONNECTION, "x-hop")
        .header("x-hop", "must not pass")
        .json(&json!({ "title": "buy oat milk" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-upstream"], "yes", "response headers pass");
    let echo: Value = response.json().await.unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path_and_query"], "/api/echo?status=pending&q=oat%20milk");
    assert_eq!(echo["authorization"], "Bearer t0ken");
    assert_eq!(echo["body"], r#"{"title":"buy oat milk"}"#);
    assert_eq!(echo["x_forwarded_for"], "127.0.0.1");
    assert!(echo["x_forwarded_host"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(echo["connection_header_named"], Value::Null, "hop-by-hop headers are dropped");

    let conflict = app.get("/api/conflict").await;
    assert_eq!(conflict.status(), 409);
    assert_eq!(conflict.json::<Value>().await.unwrap()["error"]["code"], "email_taken");
    let limited = app.get("/api/limited").await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()[header::RETRY_AFTER], "7");
    let deleted = app.client.delete(format!("{}/api/gone", app.url)).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(deleted.bytes().await.unwrap().len(), 0);
    let big = app.get("/api/big").await;
    assert_eq!(big.bytes().await.unwrap().len(), 256 * 1024, "large bodies stream through whole");
    assert_eq!(app.get("/api/nothing-here").await.status(), 404, "the API's own 404 passes");
}

#[tokio::test]
async fn an_unreachable_api_is_a_json_502_the_ui_understands() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app(Some(&format!("http://127.0.0.1:{port}"))).await;
    let response = app.get("/api/tasks").await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_unavailable");
    // The UI itself still loads, so it can say the API is down.
    assert_eq!(app.get("/").await.status(), 200);
}

/// `todo-web healthcheck URL...`, as the chart's `helm test` pods run it, against this server and a
/// port nothing listens on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_subcommand_passes_on_2xx_and_names_what_failed() {
    let app = spawn_app(None).await;
    let (healthz, readyz) = (format!("{}/healthz", app.url), format!("{}/readyz", app.url));
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/healthz", listener.local_addr().unwrap())
    };
    let missing = format!("{}/api/nothing-here", app.url);
    let run = |urls: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_todo-web"))
                .arg("healthcheck")
                .args(urls)
                .output()
                .unwrap()
        })
    };

    let output = run(vec![healthz.clone(), readyz.clone()]).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains(&format!("{healthz}: 200 OK")) && stdout.contains(&format!("{readyz}: 200")));

    let output = run(vec![healthz.clone(), closed.clone(), missing.clone()]).await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr.contains(&format!("todo-web healthcheck: {closed}: cannot connect to ")), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    // No API upstream here: web answers /api with a 404 of its own.
    assert!(stderr.contains(&format!("todo-web healthcheck: {missing}: answered 404 Not Found")), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("{healthz}: 200 OK")));

    let output = run(vec!["https://example.com/".into()]).await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only http:// URLs are supported"));
    let output = run(vec![]).await.unwrap();
    assert_eq!(output.status.code(), Some(2), "no URL is a usage error");
}
