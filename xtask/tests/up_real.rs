//! `cargo xtask up` for real: the xtask binary builds and starts the real todo-api and todo-web
//! (only cargo is needed), and these tests check what a person relies on — both servers
//! healthy, Ctrl-C stops both cleanly, a second `up` points at the first, and a server that dies
//! takes the other down with it and is named.

mod support;

use std::time::Duration;

use support::up::{Up, process_running};

fn status(url: &str) -> u16 {
    match ureq::get(url).call() {
        Ok(response) => response.status().as_u16(),
        Err(ureq::Error::StatusCode(code)) => code,
        Err(err) => panic!("GET {url}: {err}"),
    }
}

#[test]
fn real_up_serves_both_points_a_second_up_at_it_and_stops_cleanly_on_ctrl_c() {
    let up = Up::start(&["--port", "0", "--offline"]);
    let api_port = up.state()["api"]["port"].as_u64().unwrap();
    for path in ["/healthz", "/readyz"] {
        assert_eq!(status(&format!("http://127.0.0.1:{api_port}{path}")), 200, "todo-api {path}");
        assert_eq!(status(&format!("{}{path}", up.url)), 200, "todo-web {path}");
    }
    assert_eq!(status(&format!("{}/api/readyz", up.url)), 200, "todo-web forwards /api to todo-api");
    assert_eq!(up.state()["status"], "running");

    // A second `up` sharing the state says where the first one runs, and leaves it alone.
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["up", "--offline"])
        .env("XTASK_STATE_DIR", &up.state_dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let second_err = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{second_err}");
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), up.url);
    assert!(second_err.contains(&format!("already running at {}", up.url)), "{second_err}");
    assert!(second_err.contains(&format!("up {}", up.pid())), "names the pids: {second_err}");
    assert!(!second_err.contains("cargo build"), "nothing was built: {second_err}");

    let (api, web) = (up.server_pid("api"), up.server_pid("web"));
    let state_file = up.state_dir.join("up.json");
    up.signal(libc::SIGINT);
    let (code, stderr) = up.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("Ctrl-C: stopping todo-api and todo-web"), "{stderr}");
    assert!(stderr.contains("stopped todo-api (exit code 0) and todo-web (exit code 0)"), "{stderr}");
    assert!(!process_running(api) && !process_running(web), "both servers are gone");
    assert!(!state_file.exists(), "the state file is removed");
}

#[test]
fn real_up_stops_the_other_server_and_names_the_one_that_died() {
    let up = Up::start(&["--port", "0", "--offline"]);
    let (api, web) = (up.server_pid("api"), up.server_pid("web"));
    // SAFETY: kill(2) on the api process `up` started for this test.
    unsafe {
        libc::kill(api as libc::pid_t, libc::SIGKILL);
    }
    let (code, stderr) = up.wait(Duration::from_secs(60));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("todo-api (pid {api}) exited unexpectedly with signal 9 (SIGKILL)")),
        "{stderr}"
    );
    assert!(stderr.contains("stopped todo-web (exit code 0)"), "{stderr}");
    assert!(!process_running(web), "todo-web was stopped too");
}
