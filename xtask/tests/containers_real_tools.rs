//! Real-tool suite: `cargo xtask containerize` with a real container engine, then both images run
//! the way a pod runs them (web and api sharing one network namespace) and answer a smoke flow
//! through the web container's published port. Run by `cargo xtask test` where an engine answers
//! (CI: the real docker CLI on podman's API, see ci/podman.sh).

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::workspace_target;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn required() -> bool {
    std::env::var("TODO_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

fn engine_cmd(engine: &str, args: &[&str]) -> Output {
    Command::new(engine).args(args).output().unwrap_or_else(|err| panic!("{engine} {args:?}: {err}"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Removes the containers and volumes it names when the test ends, passing or not.
struct Cleanup {
    engine: String,
    containers: Vec<String>,
    volumes: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // Newest first, one at a time: podman refuses to remove a container whose network
        // namespace another still uses, and a volume a container still holds.
        for container in self.containers.iter().rev() {
            let _ = Command::new(&self.engine).args(["rm", "-f", container]).output();
        }
        for volume in &self.volumes {
            let removed = Command::new(&self.engine).args(["volume", "rm", "-f", volume]).output();
            if !removed.is_ok_and(|out| out.status.success()) {
                eprintln!(
                    "warning: could not remove volume {volume}; `{} volume rm {volume}` does",
                    self.engine
                );
            }
        }
    }
}

fn wait_for(url: &str, timeout: Duration) -> Result<(), String> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).build().into();
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        match agent.get(url).call() {
            Ok(response) if response.status() == 200 => return Ok(()),
            Ok(response) => last = format!("status {}", response.status()),
            Err(err) => last = err.to_string(),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!("{url} did not answer 200 within {timeout:?}: {last}"))
}

#[test]
#[ignore = "real-tool suite: run by `cargo xtask test`"]
fn real_engine_builds_both_images_which_run_as_non_root_and_serve_the_app() {
    // 1. Build as a user would, with no flags.
    let built =
        Command::new(env!("CARGO_BIN_EXE_xtask")).arg("containerize").current_dir(repo()).output().unwrap();
    let log = text(&built);
    if !built.status.success() && log.contains("no container engine to build with") && !required() {
        eprintln!("skipped: no container engine answers here:\n{log}");
        return;
    }
    assert!(built.status.success(), "cargo xtask containerize failed:\n{log}");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace_target().join("xtask/images.json")).unwrap())
            .unwrap();
    let engine = record["engine"].as_str().unwrap().to_owned();
    let reference = |name: &str| -> String {
        let images = record["images"].as_array().unwrap();
        images.iter().find(|i| i["name"] == name).unwrap()["reference"].as_str().unwrap().to_owned()
    };
    let (api, web) = (reference("todo-api"), reference("todo-web"));
    assert!(!api.ends_with(":latest") && !web.ends_with(":latest"));

    // 2. What is in the images: a numeric non-root user, exec-form entrypoint, sizes in budget,
    //    and no shell or package manager.
    for (image, binary, budget_mb) in [(&api, "todo-api", 200.0), (&web, "todo-web", 100.0)] {
        let config = engine_cmd(&engine, &["image", "inspect", "--format", "{{json .Config}}", image]);
        let config: Value =
            serde_json::from_slice(&config.stdout).unwrap_or_else(|_| panic!("{}", text(&config)));
        assert_eq!(config["User"], "10001:10001", "{image}");
        assert_eq!(config["Entrypoint"], json!([format!("/usr/local/bin/{binary}")]), "{image}");
        let size = engine_cmd(&engine, &["image", "inspect", "--format", "{{.Size}}", image]);
        let mb: f64 = String::from_utf8_lossy(&size.stdout).trim().parse::<f64>().unwrap() / 1e6;
        assert!(mb < budget_mb, "{image} is {mb:.1} MB, over its {budget_mb} MB budget");
        eprintln!("{image}: {mb:.1} MB");

        let created = engine_cmd(&engine, &["create", image]);
        let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();
        assert!(created.status.success(), "{}", text(&created));
        let exported = engine_cmd(&engine, &["export", &id]);
        let _ = engine_cmd(&engine, &["rm", &id]);
        let listing = Command::new("tar")
            .arg("-t")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut tar| {
                use std::io::Write;
                tar.stdin.take().unwrap().write_all(&exported.stdout)?;
                tar.wait_with_output()
            })
            .unwrap();
        let files = String::from_utf8_lossy(&listing.stdout).into_owned();
        assert!(files.contains(&format!("usr/local/bin/{binary}")), "{image}: {files}");
        for forbidden in ["bin/sh", "bin/bash", "bin/busybox", "apt-get", "dpkg", "apk"] {
            assert!(!files.lines().any(|f| f.ends_with(forbidden)), "{image} contains {forbidden}:\n{files}");
        }
    }

    // 3. Run them as the chart runs them: production mode, the secret from a file rather than
    //    argv, read-only root filesystems with a volume for the api's data, and one network
    //    namespace (a pod): the web container joins the api container's and reaches it on
    //    127.0.0.1; the api container publishes the web port.
    let suffix = std::process::id();
    let (api_name, web_name) = (format!("todo-suite-api-{suffix}"), format!("todo-suite-web-{suffix}"));
    let volume = format!("todo-suite-data-{suffix}");
    let mut cleanup =
        Cleanup { engine: engine.clone(), containers: Vec::new(), volumes: vec![volume.clone()] };
    let env_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(env_file.path(), format!("JWT_SECRET=suite-{suffix}-{}\n", "x".repeat(40))).unwrap();
    let env_file_path = env_file.path().to_str().unwrap();
    let data = format!("{volume}:/data");
    let started = Instant::now();
    let api_flags = ["--read-only", "-v", &data, "-p", "127.0.0.1::8081", "--env-file", env_file_path];
    let run_api = engine_cmd(
        &engine,
        &[&["run", "-d", "--name", &api_name][..], &api_flags, &["-e", "TODO_ENV=production", &api]].concat(),
    );
    assert!(run_api.status.success(), "{}", text(&run_api));
    cleanup.containers.push(api_name.clone());
    let network = format!("container:{api_name}");
    let web_flags = ["--read-only", "--network", &network, "-e", "API_UPSTREAM=http://127.0.0.1:8080"];
    let run_web =
        engine_cmd(&engine, &[&["run", "-d", "--name", &web_name][..], &web_flags, &[&web]].concat());
    assert!(run_web.status.success(), "{}", text(&run_web));
    cleanup.containers.push(web_name.clone());

    let port = engine_cmd(&engine, &["port", &api_name, "8081"]);
    let port =
        String::from_utf8_lossy(&port.stdout).lines().next().unwrap().rsplit(':').next().unwrap().to_owned();
    let base = format!("http://127.0.0.1:{port}");
    let logs = |name: &str| text(&engine_cmd(&engine, &["logs", name]));
    if let Err(err) = wait_for(&format!("{base}/healthz"), Duration::from_secs(60))
        .and_then(|()| wait_for(&format!("{base}/api/readyz"), Duration::from_secs(60)))
    {
        panic!("{err}\n--- api logs\n{}\n--- web logs\n{}", logs(&api_name), logs(&web_name));
    }
    eprintln!("containers started → ready in {:?}", started.elapsed());

    // 4. The processes really run as 10001 (the engine's view of the host pid).
    for name in [&api_name, &web_name] {
        let pid = engine_cmd(&engine, &["inspect", "--format", "{{.State.Pid}}", name]);
        let pid = String::from_utf8_lossy(&pid.stdout).trim().to_owned();
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
            assert!(uid.split_whitespace().nth(1) == Some("10001"), "{name} runs as {uid}");
        }
    }

    // 5. A smoke flow through the web container's port, proxied to the api.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let signup = agent
        .post(&format!("{base}/api/auth/signup"))
        .send_json(
            json!({ "email": format!("suite-{suffix}@example.com"), "password": "correct horse battery" }),
        )
        .unwrap();
    assert_eq!(signup.status(), 201);
    let token = signup.into_body().read_json::<Value>().unwrap()["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let created = agent
        .post(&format!("{base}/api/tasks"))
        .header("authorization", &bearer)
        .send_json(json!({ "title": "ship the images" }))
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut listed = agent.get(&format!("{base}/api/tasks")).header("authorization", &bearer).call().unwrap();
    assert_eq!(listed.status(), 200);
    let tasks: Value = listed.body_mut().read_json().unwrap();
    assert_eq!(tasks["items"][0]["title"], "ship the images", "{tasks}");
    let page = agent.get(&base).call().unwrap();
    assert_eq!(page.status(), 200);
    drop(cleanup);
    let left = engine_cmd(
        &engine,
        &["ps", "-a", "--filter", &format!("name=todo-suite-.*-{suffix}"), "--format", "{{.Names}}"],
    );
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "", "containers left behind");
    let volumes = engine_cmd(&engine, &["volume", "ls", "-q"]);
    assert!(!String::from_utf8_lossy(&volumes.stdout).contains(&volume), "volume {volume} left behind");
}
