//! `infra/scripts/onboard.sh` on a scratch project with a PATH of its own: the system utilities
//! it uses, and fakes of cargo, docker, minikube, helm, kubectl and curl that record each call
//! and answer as the real ones do. The real shellcheck checks it (and every other script of ours)
//! in the `scripts` suite.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The system utilities the script calls (bash runs it; `command -v` and `read` are builtins).
const UTILITIES: [&str; 13] = [
    "uname",
    "dirname",
    "cat",
    "cut",
    "head",
    "id",
    "mktemp",
    "rm",
    "cp",
    "chmod",
    "install",
    "tar",
    "sha256sum",
];

const FAKE_BINARY: &str = "#!/bin/bash\necho \"$(basename \"$0\") $*\" >> \"$FAKE_LOG\"\necho v1.34.0\n";

struct Machine {
    dir: tempfile::TempDir,
    project: PathBuf,
    bin: PathBuf,
    installs: PathBuf,
    log: PathBuf,
}

struct Ran {
    code: i32,
    out: String,
}

impl Machine {
    /// A project with the script and deploy/.env.example, and a machine with `tools` installed.
    fn with(tools: &[&str]) -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        let bin = dir.path().join("bin");
        let installs = dir.path().join("installs");
        for folder in [project.join("infra/scripts"), project.join("deploy"), bin.clone(), installs.clone()] {
            std::fs::create_dir_all(folder).unwrap();
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for file in ["infra/scripts/onboard.sh", "deploy/.env.example"] {
            std::fs::copy(repo.join(file), project.join(file)).unwrap();
        }
        for utility in UTILITIES {
            let real = which::which(utility).unwrap_or_else(|_| panic!("{utility} is not installed"));
            std::os::unix::fs::symlink(real, bin.join(utility)).unwrap();
        }
        let machine = Machine { log: dir.path().join("calls.log"), dir, project, bin, installs };
        for tool in tools {
            machine.fake(tool, &fake_tool(tool));
        }
        machine
    }

    fn fake(&self, name: &str, script: &str) {
        let path = self.bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }

    fn run(&self, args: &[&str]) -> Ran {
        let path = format!("{}:{}", self.installs.display(), self.bin.display());
        let output = Command::new(which::which("bash").unwrap())
            .arg(self.project.join("infra/scripts/onboard.sh"))
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("FAKE_LOG", &self.log)
            .env("ONBOARD_BIN_DIR", &self.installs)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Ran {
            code: output.status.code().unwrap_or(-1),
            out: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    fn env_file(&self) -> Option<String> {
        std::fs::read_to_string(self.project.join(".env")).ok()
    }
}

/// A tool that records its call and prints the version line the real one prints.
fn fake_tool(tool: &str) -> String {
    let version = match tool {
        "cargo" => "cargo 1.95.0 (f2d3ce0bd 2026-03-21)",
        "docker" => "Docker version 28.2.2, build e6534b4",
        "podman" => "podman version 4.3.1",
        "minikube" => "v1.34.0",
        "helm" => "v3.17.3+ge4da497",
        "kubectl" => "Client Version: v1.31.9",
        _ => "1.0",
    };
    format!("#!/bin/bash\necho \"{tool} $*\" >> \"$FAKE_LOG\"\necho '{version}'\n")
}

/// curl that serves every URL from a scripted release server: a program, and at URL.sha256 its
/// checksum (`corrupt`: a checksum that does not match); `blocked`: cannot connect, as curl says.
fn fake_curl(mode: &str) -> String {
    format!(
        r#"#!/bin/bash
out=""; url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out="$2"; shift ;;
    *) url="$1" ;;
  esac
  shift
done
echo "curl $url" >> "$FAKE_LOG"
if [ "{mode}" = blocked ]; then
  echo "curl: (7) Failed to connect to storage.googleapis.com port 443 after 10001 ms: Timeout was reached" >&2
  exit 7
fi
program='{FAKE_BINARY}'
case "$url" in
  *.sha256 | *.sha256sum)
    if [ "{mode}" = corrupt ]; then echo "0000  minikube" > "$out"
    else printf '%s' "$program" | sha256sum | cut -d' ' -f1 > "$out"; fi ;;
  *) printf '%s' "$program" > "$out" ;;
esac
"#
    )
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "amd64",
    }
}

const EVERYTHING: [&str; 5] = ["cargo", "docker", "minikube", "helm", "kubectl"];

#[test]
fn fakes_nothing_missing_only_reports_keeps_env_and_ends_with_doctor() {
    let machine = Machine::with(&EVERYTHING);
    std::fs::write(machine.project.join(".env"), "JWT_SECRET=mine\n").unwrap();
    let run = machine.run(&[]);
    assert_eq!(run.code, 0, "{}", run.out);
    for line in ["✓ rust      cargo 1.95.0", "✓ engine    Docker version 28.2.2", "✓ minikube  v1.34.0"]
    {
        assert!(run.out.contains(line), "{line}:\n{}", run.out);
    }
    assert!(run.out.contains(".env exists: kept as it is"), "{}", run.out);
    assert_eq!(machine.env_file().as_deref(), Some("JWT_SECRET=mine\n"));
    let calls = machine.calls();
    assert_eq!(calls.last().map(String::as_str), Some("cargo xtask doctor"), "{calls:#?}");
    assert!(
        calls.iter().all(|call| call.contains("version") || call == "cargo xtask doctor"),
        "only version queries and doctor: {calls:#?}"
    );
}

#[test]
fn fakes_check_with_minikube_missing_exits_nonzero_naming_it_and_changes_nothing() {
    let machine = Machine::with(&["cargo", "podman", "helm", "kubectl"]);
    machine.fake("curl", &fake_curl("ok"));
    let run = machine.run(&["--check"]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(run.out.contains("✗ minikube  missing: the minikube v1.34.0 release binary"), "{}", run.out);
    assert!(
        run.out.contains("✓ engine    podman version 4.3.1"),
        "podman counts as the engine:\n{}",
        run.out
    );
    assert!(run.out.contains("missing: minikube (run infra/scripts/onboard.sh"), "{}", run.out);
    assert!(machine.calls().iter().all(|call| call.contains("version")), "{:#?}", machine.calls());
    assert_eq!(machine.env_file(), None, "--check creates no .env");
}

#[test]
fn fakes_yes_installs_a_missing_minikube_from_its_release_with_the_checksum_verified() {
    let machine = Machine::with(&["cargo", "docker", "helm", "kubectl"]);
    machine.fake("curl", &fake_curl("ok"));
    let run = machine.run(&["--yes"]);
    assert_eq!(run.code, 0, "{}", run.out);
    let url = format!("https://storage.googleapis.com/minikube/releases/v1.34.0/minikube-linux-{}", arch());
    let calls = machine.calls();
    let downloads: Vec<&String> = calls.iter().filter(|call| call.starts_with("curl ")).collect();
    assert_eq!(downloads, [&format!("curl {url}"), &format!("curl {url}.sha256")]);
    assert!(machine.installs.join("minikube").is_file(), "installed into ONBOARD_BIN_DIR:\n{}", run.out);
    assert!(run.out.contains(&format!("installed {}/minikube", machine.installs.display())), "{}", run.out);
    assert_eq!(calls.last().map(String::as_str), Some("cargo xtask doctor"));
}

#[test]
fn fakes_a_release_whose_checksum_does_not_match_is_not_installed() {
    let machine = Machine::with(&["cargo", "docker", "helm", "kubectl"]);
    machine.fake("curl", &fake_curl("corrupt"));
    let run = machine.run(&["--yes"]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(run.out.contains("does not match the published one"), "{}", run.out);
    assert!(!machine.installs.join("minikube").exists());
}

#[test]
fn fakes_a_blocked_download_fails_at_once_with_the_url_and_what_to_do() {
    let machine = Machine::with(&["cargo", "docker", "helm", "kubectl"]);
    machine.fake("curl", &fake_curl("blocked"));
    let run = machine.run(&["--yes"]);
    assert_eq!(run.code, 1, "{}", run.out);
    assert!(
        run.out.contains("could not download https://storage.googleapis.com/minikube/releases/"),
        "{}",
        run.out
    );
    assert!(run.out.contains("curl exit 7") && run.out.contains("HTTPS_PROXY"), "{}", run.out);
}

#[test]
fn fakes_without_a_terminal_or_yes_nothing_is_installed_and_the_command_is_named() {
    let machine = Machine::with(&["cargo", "docker", "helm", "kubectl"]);
    machine.fake("curl", &fake_curl("ok"));
    let run = machine.run(&[]);
    assert!(run.out.contains("rerun with --yes to install unattended"), "{}", run.out);
    assert!(run.out.contains("not installed: minikube"), "{}", run.out);
    assert!(!machine.calls().iter().any(|call| call.starts_with("curl")), "{:#?}", machine.calls());
}

#[test]
fn fakes_env_is_created_from_the_example_once_and_never_overwritten() {
    let machine = Machine::with(&EVERYTHING);
    let run = machine.run(&["--yes"]);
    assert_eq!(run.code, 0, "{}", run.out);
    let example = std::fs::read_to_string(machine.project.join("deploy/.env.example")).unwrap();
    assert_eq!(machine.env_file().as_deref(), Some(example.as_str()), "the optional keys are left empty");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(machine.project.join(".env")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, ".env is readable only by its owner");

    std::fs::write(machine.project.join(".env"), "LLM_API_KEY=sk-mine\n").unwrap();
    let again = machine.run(&["--yes"]);
    assert_eq!(again.code, 0, "{}", again.out);
    assert!(again.out.contains(".env exists: kept as it is"), "{}", again.out);
    assert_eq!(machine.env_file().as_deref(), Some("LLM_API_KEY=sk-mine\n"));
}

#[test]
fn fakes_unknown_options_are_refused_with_a_pointer_to_help() {
    let machine = Machine::with(&EVERYTHING);
    let run = machine.run(&["--instal"]);
    assert_eq!(run.code, 2);
    assert!(run.out.contains("unknown option --instal (see --help)"), "{}", run.out);
    let help = machine.run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.out.contains("--check") && help.out.contains("--yes"), "{}", help.out);
}

/// Every shell script of ours: the onboarding script, CI's helpers and its entry point.
fn our_scripts(repo: &Path) -> Vec<PathBuf> {
    let mut scripts = vec![repo.join(".ci/run")];
    for dir in ["infra/scripts", "infra/docker", "ci", "ci/kube"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(repo.join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sh"))
            .collect();
        found.sort();
        scripts.extend(found);
    }
    scripts
}

#[test]
#[ignore = "real-tool suite: run by cargo xtask test"]
fn real_shellcheck_finds_nothing_in_our_scripts() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let installed = repo.join("target/ci/venv/bin/shellcheck");
    let shellcheck = if installed.is_file() { Some(installed) } else { which::which("shellcheck").ok() };
    let Some(shellcheck) = shellcheck else {
        let message = "shellcheck is not installed: bash ci/python-tools.sh";
        if std::env::var("TODO_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{message}");
        }
        eprintln!("skipped: {message}");
        return;
    };
    let scripts = our_scripts(repo);
    assert!(scripts.iter().any(|path| path.ends_with("infra/scripts/onboard.sh")), "{scripts:?}");
    let output =
        Command::new(shellcheck).arg("--external-sources").args(&scripts).current_dir(repo).output().unwrap();
    assert!(
        output.status.success(),
        "shellcheck:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
