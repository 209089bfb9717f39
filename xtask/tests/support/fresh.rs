//! A machine where minikube's profile is stopped, no image is built or loaded and no release is
//! installed, as `deploy` and `demo` meet it first; and helpers to read what the fakes were asked.

use super::{Call, Reply, World};

const NO_SUCH_IMAGE: &str = "Error response from daemon: No such image: todo-api:0\n";
pub const CANARY_JWT: &str = "canary-jwt-5f1d0c9e8b7a6f5e4d3c2b1a0f9e8d7c";
pub const CANARY_PG: &str = "canary-pg-pw-0123456789abcdef";
pub const NOT_FOUND: &str = "Error: release: not found\n";

/// A machine where minikube's profile is stopped, its ingress addon off, no image built or loaded
/// and no release installed; every command that changes something succeeds.
pub fn fresh() -> World {
    let mut world = World::healthy();
    let hosts = world.root.parent().unwrap().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    world
        .with_buildable_services()
        .env("XTASK_HOSTS_FILE", hosts.to_str().unwrap())
        .file(".env", &format!("JWT_SECRET={CANARY_JWT}\nPOSTGRES_PASSWORD={CANARY_PG}\n"))
        .on_seq(
            "docker",
            &["image", "inspect", "--format", "{{.Id}}"],
            vec![Reply::fail(1, NO_SUCH_IMAGE), Reply::fail(1, NO_SUCH_IMAGE), Reply::ok("sha256:1a2b\n")],
        )
        // minikube: stopped, then started.
        .on_seq(
            "minikube",
            &["status", "-p", "todo", "-o", "json"],
            vec![
                Reply::ok(r#"{"Name":"todo","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped"}"#)
                    .exit(7),
                Reply::ok(r#"{"Name":"todo","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured"}"#),
            ],
        )
        .on("minikube", &["start"], Reply::ok("🏄  Done! kubectl is now configured to use \"todo\" cluster\n"))
        .on_seq(
            "minikube",
            &["-p", "todo", "addons", "list", "-o", "json"],
            vec![
                Reply::ok(r#"{"ingress":{"Profile":"todo","Status":"disabled"}}"#),
                Reply::ok(r#"{"ingress":{"Profile":"todo","Status":"enabled"}}"#),
            ],
        )
        .on("minikube", &["-p", "todo", "addons", "enable", "ingress"], Reply::ok("🌟  The 'ingress' addon is enabled\n"))
        .on("minikube", &["-p", "todo", "image", "ls"], Reply::ok("registry.k8s.io/pause:3.10\n"))
        .on("minikube", &["-p", "todo", "image", "load"], Reply::ok(""))
        .on("minikube", &["-p", "todo", "ip"], Reply::ok("192.168.49.2\n"))
        .on("kubectl", &["--context", "todo", "wait"], Reply::ok("pod/ingress-nginx-controller-abc condition met\n"))
        // secrets
        .on("kubectl", &["--context", "todo", "apply"], Reply::ok("serverside-applied\n"))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "secret"], Reply::ok(""))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "secret/todo-secrets"],
            Reply::ok("secret/todo-secrets\nconfigmap/todo-env\n"),
        )
        // helm: nothing installed, then installed.
        .on_seq(
            "helm",
            &["status", "todo"],
            vec![Reply::fail(1, NOT_FOUND), Reply::ok(&release_json("deployed", 1))],
        )
        .on("helm", &["upgrade"], Reply::ok("Release \"todo\" has been upgraded. Happy Helming!\n"))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "deployments"],
            Reply::ok("deployment.apps/todo-api\ndeployment.apps/todo-web\n"),
        )
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "rollout", "status"], Reply::ok("successfully rolled out\n"))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "pods"], Reply::ok(r#"{"items": []}"#));
    world
}

pub fn release_json(status: &str, revision: u32) -> String {
    format!(r#"{{"name":"todo","info":{{"status":"{status}"}},"version":{revision},"namespace":"todo"}}"#)
}

/// The calls that change something, in order (queries left out).
pub fn changes(calls: &[Call]) -> Vec<String> {
    let query = |c: &Call| {
        let argv: Vec<&str> = c.argv.iter().map(String::as_str).collect();
        let kubectl_get = c.tool == "kubectl" && argv.iter().take(5).any(|a| *a == "get");
        kubectl_get
            || matches!(
                (c.tool.as_str(), argv.as_slice()),
                ("rustc", _)
                    | ("docker", ["image", "inspect", ..])
                    | ("docker" | "podman" | "cargo" | "helm" | "kubectl", ["version" | "--version", ..])
                    | (
                        "minikube",
                        ["status", ..]
                            | ["version", ..]
                            | [_, _, "addons", "list", ..]
                            | [_, _, "image", "ls"]
                            | [_, _, "ip"]
                    )
                    | ("helm", ["status", ..])
                    | ("kubectl", ["config", ..])
                    | ("podman", ["image", "ls", ..])
            )
    };
    calls.iter().filter(|c| !query(c)).map(Call::line).collect()
}

/// Each prefix starts a line of `lines`, in this order.
pub fn assert_in_order(lines: &[String], prefixes: &[&str]) {
    let mut from = 0;
    for prefix in prefixes {
        match lines[from..].iter().position(|line| line.starts_with(prefix)) {
            Some(i) => from += i + 1,
            None => panic!("no `{prefix}…` after line {from} of:\n{}", lines.join("\n")),
        }
    }
}
