//! Tasks are numbered per user: a user's first task is #1 whatever other users did, numbers are
//! never handed out twice (not even after a delete, not even to concurrent creates), and a
//! database from before the numbering migrates with each user's tasks numbered in id order.

use reqwest::StatusCode;
use serde_json::json;
use todo_api::auth::UserId;
use todo_api::page::PageRequest;
use todo_api::tasks::{NewTask, TaskFilter, Title, store};

use crate::backend_test;
use crate::helpers::TestApp;

backend_test!(
    async fn each_user_numbers_tasks_from_one_and_never_reuses_a_number(db) {
        let app = TestApp::spawn(&db).await;
        let alice = app.new_user().await;
        let bob = app.new_user().await;
        let first = app.create_task(&alice, "alice 1").await;
        let second = app.create_task(&alice, "alice 2").await;
        let bobs = app.create_task(&bob, "bob 1").await;
        assert_eq!((first["id"].clone(), second["id"].clone(), bobs["id"].clone()), (json!(1), json!(2), json!(1)));

        // The same number is each user's own task.
        let (_, mine) = app.get("/api/tasks/1", &bob.token).await;
        assert_eq!(mine["title"], "bob 1");
        let (_, hers) = app.get("/api/tasks/1", &alice.token).await;
        assert_eq!(hers["title"], "alice 1");

        // Deleting the newest does not free its number.
        let (status, _) = app.delete("/api/tasks/2", &alice.token).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(app.create_task(&alice, "alice 3").await["id"], 3);
        let (status, _) = app.get("/api/tasks/2", &alice.token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The chat speaks in the same numbers.
        let reply = app.say(&bob, "add bob 2", None).await;
        assert!(reply["reply"].as_str().unwrap().contains("(#2)"), "{reply}");
        app.stop().await;
    }
);

backend_test!(
    async fn concurrent_creates_get_distinct_consecutive_numbers(db) {
        let app = TestApp::spawn(&db).await;
        let user = app.new_user().await;
        let owner = UserId(user.id);
        const N: i64 = 24;
        // Straight through the store, all started before any is awaited, so they really race
        // for the counter (on Postgres each on its own connection).
        let creates: Vec<_> = (0..N)
            .map(|i| {
                let db = app.state.db.clone();
                tokio::spawn(async move {
                    let new = NewTask { title: Title::parse(&format!("task {i}")).unwrap(), description: None };
                    store::create(&db, owner, &new).await.unwrap().id
                })
            })
            .collect();
        let mut numbers = Vec::new();
        for create in creates {
            numbers.push(create.await.unwrap());
        }
        numbers.sort();
        assert_eq!(numbers, (1..=N).collect::<Vec<_>>());
        app.stop().await;
    }
);

backend_test!(
    async fn an_existing_database_numbers_its_tasks_per_user_in_id_order(db) {
        // The database as it was before the numbering: only the migrations before it applied.
        let kind = if db.is_postgres() { "postgres" } else { "sqlite" };
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(kind);
        let before = tempfile::tempdir().unwrap();
        for file in std::fs::read_dir(&shipped).unwrap() {
            let file = file.unwrap();
            let name = file.file_name().into_string().unwrap();
            if name.as_str() < "20261207000003" {
                std::fs::copy(file.path(), before.path().join(&name)).unwrap();
            }
        }
        let old = sqlx::migrate::Migrator::new(before.path()).await.unwrap();
        // Alice's and Bob's tasks interleaved, and one of Alice's deleted: 1 3 6 are Alice's
        // (numbered 1 2 3), 2 4 are Bob's (1 2).
        let seed = [
            "INSERT INTO users (email, password_hash, created_at) VALUES ('alice@example.com', 'x', $1)",
            "INSERT INTO users (email, password_hash, created_at) VALUES ('bob@example.com', 'x', $1)",
            "INSERT INTO tasks (user_id, title, created_at, updated_at) VALUES (1, 'a1', $1, $1)",
            "INSERT INTO tasks (user_id, title, created_at, updated_at) VALUES (2, 'b1', $1, $1)",
            "INSERT INTO tasks (user_id, title, created_at, updated_at) VALUES (1, 'a2', $1, $1)",
            "INSERT INTO tasks (user_id, title, created_at, updated_at) VALUES (2, 'b2', $1, $1)",
            "INSERT INTO tasks (user_id, title, created_at, updated_at) VALUES (1, 'gone', $1, $1)",
            "INSERT INTO tasks (user_id, title, created_at, updated_at) VALUES (1, 'a3', $1, $1)",
            "DELETE FROM tasks WHERE title = 'gone'",
        ];
        let now = todo_api::db::Timestamp::now();
        match db.postgres_url() {
            Some(url) => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                old.run(&pool).await.unwrap();
                for sql in seed {
                    let query = sqlx::query(sql);
                    let query = if sql.contains("$1") { query.bind(now) } else { query };
                    query.execute(&pool).await.unwrap();
                }
                pool.close().await;
            }
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(db.sqlite_path())
                    .create_if_missing(true);
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                old.run(&pool).await.unwrap();
                for sql in seed {
                    let query = sqlx::query(sql);
                    let query = if sql.contains("$1") { query.bind(now) } else { query };
                    query.execute(&pool).await.unwrap();
                }
                pool.close().await;
            }
        }

        // Starting the app applies the numbering.
        let app = TestApp::spawn(&db).await;
        let d = &app.state.db;
        let numbered = |owner: i64| async move {
            let page = store::list(d, UserId(owner), &TaskFilter::default(), PageRequest::default()).await.unwrap();
            let mut tasks: Vec<(i64, String)> = page.items.into_iter().map(|t| (t.id, t.title)).collect();
            tasks.sort();
            tasks
        };
        let alice = [(1, "a1".to_owned()), (2, "a2".to_owned()), (3, "a3".to_owned())];
        assert_eq!(numbered(1).await, alice);
        assert_eq!(numbered(2).await, [(1, "b1".to_owned()), (2, "b2".to_owned())]);
        // The counters continue after each user's highest number.
        let new = NewTask { title: Title::parse("next").unwrap(), description: None };
        assert_eq!(store::create(d, UserId(1), &new).await.unwrap().id, 4);
        assert_eq!(store::create(d, UserId(2), &new).await.unwrap().id, 3);
        app.stop().await;
    }
);
