//! `todo-api healthcheck URL...`, as the chart's `helm test` pods run it: the real binary against
//! the app on a free port, and against a port nothing listens on.

use std::process::{Command, Output};

use crate::helpers::{Backend, TestApp, TestDb};

async fn healthcheck(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_todo-api")).arg("healthcheck").args(args).output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_subcommand_passes_on_2xx_and_names_what_failed() {
    let db = TestDb::new(Backend::Sqlite).await;
    let app = TestApp::spawn(&db).await;
    let urls: Vec<String> = ["/api/healthz", "/api/readyz"].iter().map(|path| app.url(path)).collect();

    let output = healthcheck(urls.clone()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for url in &urls {
        assert!(stdout.contains(&format!("{url}: 200 OK")), "{stdout}");
    }

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/api/healthz", listener.local_addr().unwrap())
    };
    let unknown = app.url("/api/no-such-route");
    let output = healthcheck(vec![urls[0].clone(), closed.clone(), unknown.clone()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr.contains(&format!("todo-api healthcheck: {closed}: cannot connect to ")), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(stderr.contains(&format!("todo-api healthcheck: {unknown}: answered 404 Not Found")), "{stderr}");

    // Other words are refused rather than starting a server.
    let output = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_todo-api")).arg("serve-please").output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown argument `serve-please`"));

    app.stop().await;
    db.cleanup().await;
}
