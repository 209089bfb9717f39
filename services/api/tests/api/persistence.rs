use reqwest::StatusCode;
use todo_api::db::Db;

use crate::backend_test;
use crate::helpers::{PASSWORD, TestApp, test_config};

backend_test!(
    async fn data_survives_a_restart_and_migrations_rerun_harmlessly(db) {
        let first = TestApp::spawn(&db).await;
        let user = first.new_user().await;
        let task = first.create_task(&user, "still here tomorrow").await;
        first.stop().await;

        let second = TestApp::spawn(&db).await;
        let (status, login) = second.login(&user.email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{login}");
        let (status, fetched) = second.get(&format!("/api/tasks/{}", task["id"]), &user.token).await;
        assert_eq!(status, StatusCode::OK, "tokens stay valid across restarts: {fetched}");
        assert_eq!(fetched, task);
        second.stop().await;
    }
);

backend_test!(
    async fn replicas_starting_together_migrate_without_error(db) {
        // Postgres serialises migrators with an advisory lock, SQLite with a lock file.
        let config = test_config(&db.env(), &[]);
        // Spawned before any is awaited, so the four really start together.
        let builds: Vec<_> = (0..4)
            .map(|_| {
                let config = config.clone();
                tokio::spawn(async move { todo_api::Application::build(&config).await })
            })
            .collect();
        let mut apps = Vec::new();
        for build in builds {
            apps.push(build.await.unwrap().expect("every replica starts"));
        }
        let applied: i64 = match &apps[0].state().db {
            Db::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
                .unwrap(),
            Db::Sqlite(sqlite) => sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&sqlite.pool)
                .await
                .unwrap(),
        };
        let dir = if db.is_postgres() { "postgres" } else { "sqlite" };
        let shipped = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .count();
        assert_eq!(applied, i64::try_from(shipped).unwrap(), "each migration applied exactly once");
        for app in &apps {
            app.state().db.close().await;
        }
        // A replica started later finds nothing to do and serves.
        let late = TestApp::spawn(&db).await;
        late.new_user().await;
        late.stop().await;
    }
);
