//! `cargo xtask secrets` against a scripted kubectl that records what it would have received.
//! Canary values in .env must never reach an argv, xtask's output or `--render`.

mod support;

use support::{Reply, Run, World};

const CANARIES: [&str; 4] = [
    "canary-jwt-5f1d0c9e8b7a6f5e4d3c2b1a0f9e8d7c",
    "sk-canary-llm-3a9e",
    "canary-db-pass-77c1",
    "canary-pg-pw-0123456789abcdef",
];

/// A healthy machine whose kubectl accepts applies; .env holds a canary in every secret key.
fn world() -> World {
    let mut world = World::healthy();
    world
        .on("kubectl", &["--context", "todo", "apply"], Reply::ok("serverside-applied\n"))
        .on("kubectl", &["apply"], Reply::ok("serverside-applied\n"))
        .on("kubectl", &["--context", "todo", "--namespace", "todo", "get", "secret", "todo-secrets"], Reply::ok(""))
        .on("kubectl", &["--namespace", "todo", "get", "secret", "todo-secrets"], Reply::ok(""))
        .on(
            "kubectl",
            &["--context", "todo", "--namespace", "todo", "get", "secret/todo-secrets"],
            Reply::ok("secret/todo-secrets\nconfigmap/todo-env\n"),
        )
        .file(
            ".env",
            &format!(
                "# local settings\nJWT_SECRET={}\nLLM_API_KEY={}\nDATABASE_URL=postgres://todo:{}@db.example.com/todo?sslmode=require\nPOSTGRES_PASSWORD={}\nRUST_LOG=debug\nTODO_ENV=local\n",
                CANARIES[0], CANARIES[1], CANARIES[2], CANARIES[3]
            ),
        );
    world
}

/// Neither a canary nor its base64 form (as in a Secret's `data`) appears in xtask's output or in
/// any argv.
fn assert_no_canary(world: &World, run: &Run) {
    for canary in CANARIES {
        for form in [canary.to_owned(), base64(canary.as_bytes())] {
            assert!(!run.all().contains(&form), "{canary} leaked into xtask's output:\n{}", run.all());
            for call in world.calls() {
                assert!(!call.line().contains(&form), "{canary} leaked into argv: {}", call.line());
            }
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    xtask::base64::encode(bytes)
}

fn applies(world: &World) -> Vec<support::Call> {
    world.calls().into_iter().filter(|call| call.argv.contains(&"apply".to_owned())).collect()
}

#[test]
fn fakes_secrets_apply_server_side_through_stdin_and_print_only_key_names() {
    let world = world();
    let run = world.xtask(&["secrets"]);
    assert!(run.success(), "{}", run.all());
    assert_no_canary(&world, &run);

    let applies = applies(&world);
    assert_eq!(applies.len(), 2, "namespace, then ConfigMap + Secret: {applies:?}");
    for call in &applies {
        assert_eq!(
            call.argv[..5],
            ["--context", "todo", "apply", "--server-side", "--field-manager=cargo-xtask-secrets"],
            "server-side apply in the minikube context: {}",
            call.line()
        );
        assert!(
            call.argv.ends_with(&["-f".into(), "-".into()]),
            "manifests go through stdin: {}",
            call.line()
        );
        assert!(call.stdin_len > 0);
    }
    // The namespace may be shared, so no field of it is forced; the Secret and ConfigMap are ours.
    assert!(!applies[0].argv.contains(&"--force-conflicts".to_owned()));
    assert!(applies[1].argv.contains(&"--force-conflicts".to_owned()));
    // Key names, their sources, never values.
    for key in ["JWT_SECRET", "LLM_API_KEY", "POSTGRES_PASSWORD", "RUST_LOG"] {
        assert!(run.stderr.contains(key), "{key} not reported:\n{}", run.stderr);
    }
    assert!(run.stderr.contains("composed for the bundled Postgres"), "{}", run.stderr);
    // minikube runs the bundled database: the external URL in .env is not used, and it says so.
    assert!(run.stderr.contains(".env:4: DATABASE_URL is not used"), "{}", run.stderr);
}

#[test]
fn fakes_secrets_a_second_run_applies_the_same_content_or_skips() {
    let world = world();
    assert!(world.xtask(&["secrets"]).success());
    let first = applies(&world);
    world.clear_calls();

    // Unchanged inputs, objects present in the cluster: nothing to do.
    let run = world.xtask(&["secrets"]);
    assert!(run.success(), "{}", run.all());
    assert!(run.stderr.contains("secrets skipped: unchanged since"), "{}", run.stderr);
    assert!(applies(&world).is_empty(), "{:?}", world.calls());
    world.clear_calls();

    let run = world.xtask(&["secrets", "--force"]);
    assert!(run.success(), "{}", run.all());
    let second = applies(&world);
    let hashes = |calls: &[support::Call]| calls.iter().map(|c| c.stdin_hash.clone()).collect::<Vec<_>>();
    assert_eq!(hashes(&first), hashes(&second), "a rerun must apply byte-identical manifests");
}

#[test]
fn fakes_secrets_generate_once_keep_in_env_and_never_overwrite_user_values() {
    let mut world = world();
    world.file(".env", "LLM_API_KEY=sk-canary-llm-3a9e\nJWT_SECRET=\n");
    let run = world.xtask(&["secrets"]);
    assert!(run.success(), "{}", run.all());
    let env = world.read(".env");
    let value = |key: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key}:\n{env}"))
            .to_owned()
    };
    let (jwt, password) = (value("JWT_SECRET"), value("POSTGRES_PASSWORD"));
    assert_eq!(jwt.len(), 64, "the empty placeholder is filled where it stands");
    assert!(env.starts_with("LLM_API_KEY=sk-canary-llm-3a9e\nJWT_SECRET="), "{env}");
    assert!(password.len() >= 32);
    for generated in [&jwt, &password] {
        assert!(!run.all().contains(generated.as_str()), "a generated value was printed");
        assert!(!world.calls().iter().any(|c| c.line().contains(generated.as_str())));
    }
    let first_apply = applies(&world).last().unwrap().stdin_hash.clone();

    // Kept: a forced rerun generates nothing new and applies the same Secret.
    world.clear_calls();
    assert!(world.xtask(&["secrets", "--force"]).success());
    assert_eq!(world.read(".env"), env);
    assert_eq!(applies(&world).last().unwrap().stdin_hash, first_apply);
}

#[test]
fn fakes_secrets_render_and_dry_run_show_no_value_and_change_nothing() {
    let mut world = world();
    let run = world.xtask(&["secrets", "--render"]);
    assert!(run.success(), "{}", run.all());
    assert_no_canary(&world, &run);
    assert!(world.calls().is_empty(), "--render called {:?}", world.calls());
    assert!(
        run.stdout.contains("kind: Secret") && run.stdout.contains("  JWT_SECRET: \"<redacted>\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("  RUST_LOG: \"debug\""), "settings are shown: {}", run.stdout);
    assert!(!run.stdout.contains("TODO_ENV"), "keys the environment does not use are not applied");

    world.file(".env", "LLM_API_KEY=sk-canary-llm-3a9e\n");
    for args in [&["--dry-run", "secrets"][..], &["-v", "--dry-run", "secrets", "--env", "minikube"]] {
        let run = world.xtask(args);
        assert!(run.success(), "{}", run.all());
        assert_no_canary(&world, &run);
        assert!(
            run.stderr.contains("[dry-run] $ kubectl --context todo apply --server-side"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("-f - <<< <redacted>"), "{}", run.stderr);
        assert!(run.stderr.contains("would be generated and kept in .env"), "{}", run.stderr);
    }
    assert_eq!(world.read(".env"), "LLM_API_KEY=sk-canary-llm-3a9e\n", "a dry run wrote .env");
    assert!(applies(&world).is_empty(), "a dry run applied something");
}

#[test]
fn fakes_secrets_a_missing_required_key_fails_with_its_name_and_where_it_is_documented() {
    let mut world = world();
    world.file(".env", "# no database\nLLM_API_KEY=sk-canary-llm-3a9e\n");
    let run = world.xtask(&["secrets", "--env", "cluster"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("DATABASE_URL is required: environment `cluster` uses an external database"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("deploy/environments/cluster.toml: database.mode = \"external\""),
        "{}",
        run.stderr
    );
    let line =
        world.read("deploy/.env.example").lines().position(|l| l.starts_with("DATABASE_URL=")).unwrap() + 1;
    assert!(run.stderr.contains(&format!("documented at deploy/.env.example:{line}")), "{}", run.stderr);
    assert!(applies(&world).is_empty());
    assert_no_canary(&world, &run);
}

#[test]
fn fakes_secrets_bad_values_and_malformed_lines_fail_with_their_line_numbers() {
    let mut world = world();
    world.file(".env", "RUST_LOG=info\nJWT_SECRET=canary-short\nDATABASE_URL=mysql://canary-db-pass-77c1\n");
    let run = world.xtask(&["secrets", "--env", "cluster"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(".env:2: JWT_SECRET is 12 bytes; the api needs at least 32"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(".env:3: DATABASE_URL must be a postgres:// or postgresql:// URL"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("canary"), "{}", run.all());

    world.file(".env", "RUST_LOG=info\n\n# a comment\nLLM_API_KEY=sk canary with spaces\n");
    let run = world.xtask(&["secrets", "--render"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains(".env:4: cannot parse this line"), "{}", run.stderr);
    assert!(!run.all().contains("canary"), "{}", run.all());
    assert!(world.calls().is_empty());
}

#[test]
fn fakes_secrets_cluster_uses_the_current_context_and_removes_a_leaky_annotation() {
    let mut world = world();
    world.on("kubectl", &["--namespace", "todo", "get", "secret", "todo-secrets"], Reply::ok("present"));
    world.on("kubectl", &["--namespace", "todo", "annotate"], Reply::ok("secret/todo-secrets annotated\n"));
    let run = world.xtask(&["secrets", "--env", "cluster"]);
    assert!(run.success(), "{}", run.all());
    assert_no_canary(&world, &run);
    let lines: Vec<String> = world.calls().iter().filter(|c| c.tool == "kubectl").map(|c| c.line()).collect();
    assert!(lines.iter().all(|line| !line.contains("--context")), "the current context: {lines:?}");
    assert!(
        lines.contains(&"kubectl --namespace todo annotate secret todo-secrets kubectl.kubernetes.io/last-applied-configuration-".to_owned()),
        "{lines:?}"
    );
    assert!(run.stderr.contains("removing it"), "{}", run.stderr);
    // The external URL from .env goes into the Secret as is; the bundled password is not needed.
    assert!(
        run.stderr.contains("DATABASE_URL") && !run.stderr.contains("POSTGRES_PASSWORD"),
        "{}",
        run.stderr
    );
}

#[test]
fn fakes_secrets_cluster_reapplies_after_a_switch_of_the_current_context() {
    let mut world = world();
    world
        .on("kubectl", &["--namespace", "todo", "get", "secret", "todo-secrets"], Reply::ok(""))
        .on(
            "kubectl",
            &["--namespace", "todo", "get", "secret/todo-secrets"],
            Reply::ok("secret/todo-secrets\nconfigmap/todo-env\n"),
        )
        .on(
            "kubectl",
            &["config", "view", "--minify"],
            Reply::ok("staging https://staging.example.com:6443"),
        );
    let applied = |run: &Run| run.success() && run.stderr.contains("✓ secrets done");
    let run = world.xtask(&["secrets", "--env", "cluster"]);
    assert!(applied(&run), "{}", run.all());
    let first = applies(&world).len();
    assert!(first > 0);
    world.clear_calls();
    let run = world.xtask(&["secrets", "--env", "cluster"]);
    assert!(run.stderr.contains("secrets skipped: unchanged since"), "same context: {}", run.all());
    world.clear_calls();
    world.on("kubectl", &["config", "view", "--minify"], Reply::ok("prod https://prod.example.com:6443"));
    let run = world.xtask(&["secrets", "--env", "cluster"]);
    assert!(applied(&run), "another context: {}", run.all());
    assert_eq!(applies(&world).len(), first, "{:?}", world.calls());
}

#[test]
fn fakes_secrets_a_cluster_failure_names_the_command_and_a_fix_without_values() {
    let mut world = world();
    world.on(
        "kubectl",
        &[
            "--context",
            "todo",
            "apply",
            "--server-side",
            "--field-manager=cargo-xtask-secrets",
            "--force-conflicts",
        ],
        Reply::fail(1, "error: context \"todo\" does not exist\n").echo_stdin(),
    );
    let run = world.xtask(&["secrets"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("failed with exit code 1"), "{}", run.stderr);
    assert!(run.stderr.contains("cargo xtask minikube"), "{}", run.stderr);
    // The fake echoed its stdin (the manifests) back: redacted, values and their base64 alike.
    assert_no_canary(&world, &run);
}

#[test]
fn env_example_documents_every_key_with_a_comment_and_no_value() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let text = std::fs::read_to_string(repo.join("deploy/.env.example")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let keys = [
        "JWT_SECRET",
        "DATABASE_URL",
        "POSTGRES_PASSWORD",
        "LLM_API_KEY",
        "OPENAI_API_KEY",
        "LLM_PROVIDER",
        "LLM_BASE_URL",
        "LLM_MODEL",
        "TODO_ENV",
        "LOG_FORMAT",
        "RUST_LOG",
        "RATE_LIMIT_AUTH_PER_MINUTE",
        "RATE_LIMIT_WRITES_PER_MINUTE",
        "REQUEST_TIMEOUT_SECS",
        "SHUTDOWN_GRACE_SECS",
        "TRUST_PROXY_HEADERS",
        "TODO_DATA_DIR",
        "PORT",
    ];
    for key in keys {
        let at = lines
            .iter()
            .position(|line| line.trim_start_matches("# ").starts_with(&format!("{key}=")))
            .unwrap_or_else(|| panic!("deploy/.env.example does not document {key}"));
        let is_assignment = |line: &str| {
            line.trim_start_matches("# ").split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
        };
        let comments = lines[..at].iter().rev().take_while(|line| line.starts_with('#'));
        assert!(comments.filter(|line| !is_assignment(line)).count() > 0, "{key} has no comment above it");
        if xtask::config::SECRET_KEYS.contains(&key) {
            assert_eq!(lines[at], format!("{key}="), "a secret's placeholder is empty");
        } else {
            assert!(lines[at].starts_with("# "), "{key}: settings show their default commented out");
        }
    }
    // Every secret key the config knows is documented as one.
    for key in xtask::config::SECRET_KEYS {
        assert!(keys.contains(&key), "{key}");
    }
}
