use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::backend_test;
use crate::helpers::{Backend, TcpProxy, TestApp, eventually, host_port, test_config, with_host_port};

backend_test!(
    async fn liveness_and_readiness_answer_at_the_root_and_under_api(db) {
        let app = TestApp::spawn(&db).await;
        for path in ["/healthz", "/api/healthz"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
        }
        let backend = if db.is_postgres() { "postgres" } else { "sqlite" };
        for path in ["/readyz", "/api/readyz"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["database"], backend);
        }
        app.stop().await;
    }
);

async fn status_of(app: &TestApp, path: &str) -> StatusCode {
    app.client.get(app.url(path)).send().await.unwrap().status()
}

backend_test!(
    async fn readiness_follows_the_database_and_recovers_without_a_restart(db) {
        // Postgres: the app reaches the database through a proxy the test cuts and restores.
        // SQLite: "unreachable" is the data file vanishing from its path (a volume unmounted,
        // the file deleted), which open connections would not notice on their own.
        let proxy = match &db.backend {
            Backend::Postgres { .. } => {
                let url = db.postgres_url().unwrap();
                Some((TcpProxy::start(host_port(&url)).await, url))
            }
            Backend::Sqlite => None,
        };
        let config = match &proxy {
            Some((proxy, url)) => {
                let via_proxy = with_host_port(url, &proxy.addr.to_string());
                let mut env = db.env();
                env.retain(|(k, _)| k != "DATABASE_URL");
                env.push(("DATABASE_URL".into(), via_proxy));
                test_config(&env, &[])
            }
            None => test_config(&db.env(), &[]),
        };
        let app = TestApp::spawn_config(config).await;
        let user = app.new_user().await;
        assert_eq!(status_of(&app, "/readyz").await, StatusCode::OK);

        let moved = db.sqlite_path().with_extension("moved");
        match &proxy {
            Some((proxy, _)) => proxy.cut(),
            None => std::fs::rename(db.sqlite_path(), &moved).unwrap(),
        }
        let response = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_ready");
        assert_eq!(status_of(&app, "/api/readyz").await, StatusCode::SERVICE_UNAVAILABLE);
        // Liveness must not depend on the database, or Kubernetes would restart every replica.
        assert_eq!(status_of(&app, "/healthz").await, StatusCode::OK);

        match &proxy {
            Some((proxy, _)) => proxy.restore(),
            None => std::fs::rename(&moved, db.sqlite_path()).unwrap(),
        }
        let recovered = eventually(Duration::from_secs(30), || async {
            status_of(&app, "/readyz").await == StatusCode::OK
        })
        .await;
        assert!(recovered, "/readyz did not recover after the database came back");
        // And real work resumes on the same process.
        app.create_task(&user, "after the outage").await;
        app.stop().await;
    }
);

backend_test!(
    async fn a_pooled_connection_the_server_ended_is_replaced_before_a_request_gets_it(db) {
        // Postgres only: a server restart, a failover or a managed server's idle reaper ends
        // connections the pool holds. The pool must notice before handing one to a request.
        if let Some(url) = db.postgres_url() {
            use sqlx::Connection as _;
            let app = TestApp::spawn(&db).await;
            let user = app.new_user().await;
            app.create_task(&user, "still listed").await;
            // Long enough for the pool's connections to count as idle.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
            let ended: Vec<bool> = sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'todo-api'",
            )
            .fetch_all(&mut admin)
            .await
            .unwrap();
            admin.close().await.ok();
            assert!(ended.iter().any(|ended| *ended), "the app's pooled connections were ended");
            let (status, list) = app.get("/api/tasks", &user.token).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            assert_eq!(list["total"], 1, "{list}");
            app.stop().await;
        }
    }
);

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

backend_test!(
    async fn metrics_count_requests_by_route_and_status(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        for _ in 0..3 {
            app.get("/api/tasks", &user.token).await;
        }
        let task = app.create_task(&user, "measured").await;
        app.get(&format!("/api/tasks/{}", task["id"]), &user.token).await;
        app.get("/api/tasks/999999", &user.token).await;
        app.client.get(app.url("/api/tasks")).send().await.unwrap();
        app.client.get(app.url("/no/such/page")).send().await.unwrap();

        let response = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        let text = response.text().await.unwrap();
        let count = |labels: &str| metric(&text, &format!("http_requests_total{{{labels}}}"));
        assert_eq!(count(r#"method="GET",route="/api/tasks",status="200""#), Some(3.0), "{text}");
        assert_eq!(count(r#"method="GET",route="/api/tasks",status="401""#), Some(1.0), "{text}");
        assert_eq!(count(r#"method="POST",route="/api/tasks",status="201""#), Some(1.0));
        assert_eq!(count(r#"method="GET",route="/api/tasks/{id}",status="200""#), Some(1.0), "route templates, not raw paths");
        assert_eq!(count(r#"method="GET",route="/api/tasks/{id}",status="404""#), Some(1.0));
        assert_eq!(count(r#"method="POST",route="/api/auth/signup",status="201""#), Some(1.0));
        assert_eq!(count(r#"method="GET",route="unmatched",status="404""#), Some(1.0));
        assert!(!text.contains("/api/tasks/999999"), "raw ids must not become labels");
        let l = r#"method="GET",route="/api/tasks",status="200""#;
        assert_eq!(metric(&text, &format!("http_request_duration_seconds_count{{{l}}}")), Some(3.0));
        assert_eq!(metric(&text, &format!("http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}}")), Some(3.0));
        assert!(metric(&text, &format!("http_request_duration_seconds_sum{{{l}}}")).unwrap() > 0.0);
        // The scrape itself is the one request in flight.
        assert_eq!(metric(&text, "http_requests_in_flight"), Some(1.0));
        let backend = if db.is_postgres() { "postgres" } else { "sqlite" };
        let max = metric(&text, &format!("db_pool_max_connections{{backend=\"{backend}\"}}"));
        assert_eq!(max, Some(if db.is_postgres() { 10.0 } else { 5.0 }), "{text}");
        let idle = metric(&text, &format!("db_pool_connections{{backend=\"{backend}\",state=\"idle\"}}")).unwrap();
        assert!(idle >= 1.0, "{text}");
        for family in ["http_requests_total counter", "http_request_duration_seconds histogram", "db_pool_connections gauge"] {
            assert!(text.contains(&format!("# TYPE {family}\n")), "{family}");
        }
        app.stop().await;
    }
);
