//! `cargo xtask deploy` on the test cluster (ci/kube.sh, as the `kube` suite uses it): a first
//! deploy, one with nothing changed, a one-line api change, pod start, a failed rollout rolled
//! back, and requests failing while every pod is replaced.
//!
//! The deploys use a settings file and phase state of their own under target/xtask/bench/deploy
//! and a database role of their own, so a developer's .env, records and data are never touched.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use camino::Utf8PathBuf;
use xshell::cmd;

use super::checkout::{CHANGED_FILE, Checkout};
use super::images::remove_todo_images;
use super::{Area, Bench, failure, one_line};
use crate::context::Context;
use crate::env_file;
use crate::http::{self, Endpoint, Request};
use crate::kube;
use crate::runner::Cmd;
use crate::secret::Secret;

/// The bench's own database and role on the test Postgres.
const DATABASE: &str = "todo_bench";

/// What `ci/kube.sh env` exports.
pub struct TestCluster {
    pub registry: String,
    pub ingress_url: String,
    pub ingress_class: String,
    pub db_host: String,
}

impl TestCluster {
    /// The cluster `source ci/kube-up.sh` started, if it answers; otherwise why not, and the fix.
    pub fn from_env(cx: &Context) -> Result<TestCluster, String> {
        let var = |key: &str| std::env::var(key).ok().filter(|value| !value.is_empty());
        let found = (|| {
            var("KUBECONFIG")?;
            Some(TestCluster {
                registry: var("TODO_KUBE_REGISTRY")?,
                ingress_url: var("TODO_KUBE_INGRESS_URL")?,
                ingress_class: var("TODO_KUBE_INGRESS_CLASS")?,
                db_host: var("TODO_KUBE_DB_HOST")?,
            })
        })();
        let cluster = found.ok_or_else(|| {
            "no test cluster: `source ci/kube-up.sh` starts one and exports KUBECONFIG and TODO_KUBE_*"
                .to_owned()
        })?;
        let ready = Cmd::from(cmd!(cx.sh, "kubectl get --raw /readyz"))
            .read_only()
            .quiet()
            .timeout(Duration::from_secs(15));
        if let Err(err) = cx.read(ready) {
            return Err(format!(
                "the test cluster does not answer (`bash ci/kube.sh status`; `source ci/kube-up.sh` starts it): {}",
                one_line(&format!("{err:#}"))
            ));
        }
        Ok(cluster)
    }

    /// `PREFIX --env cluster --registry R --ingress-class C`.
    pub fn deploy_args(&self, prefix: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = prefix.iter().map(|arg| arg.to_string()).collect();
        args.extend(
            ["--env", "cluster", "--registry", &self.registry, "--ingress-class", &self.ingress_class]
                .map(String::from),
        );
        args
    }
}

pub fn measure(bench: &mut Bench) -> Result<()> {
    let cx = bench.cx;
    let cluster = match TestCluster::from_env(cx) {
        Ok(cluster) => cluster,
        Err(reason) => {
            bench.skip_rest(Area::Deploy, &reason);
            return Ok(());
        }
    };
    let Some(admin_url) = bench.database_url.clone() else {
        bench.skip_rest(
            Area::Deploy,
            "no PostgreSQL for the app on the test cluster: `source ci/postgres.sh` exports TEST_DATABASE_URL (or pass --database-url)",
        );
        return Ok(());
    };
    let deployer = Deployer::new(cx, cluster, &admin_url)?;
    let result = measure_with(bench, &deployer);
    cx.ui.info("  removing the bench's release and database");
    let down = deployer.xtask(&["down".to_owned(), "--env".to_owned(), "cluster".to_owned()]);
    deployer.drop_database(cx, &admin_url);
    result?;
    down.map(drop)
}

fn measure_with(bench: &mut Bench, d: &Deployer<'_>) -> Result<()> {
    let cx = bench.cx;
    cx.ui.info("  a clean namespace first (`cargo xtask down --env cluster`)");
    d.xtask(&["down".to_owned(), "--env".to_owned(), "cluster".to_owned()])?;
    let mut pod_starts = Vec::new();

    let first = "cargo xtask down --env cluster; remove the todo images; cargo xtask deploy --env cluster --registry R --ingress-class C";
    let wants_first =
        ["deploy.first", "deploy.first_build", "deploy.first_release"].map(|id| bench.wants(id, first));
    if wants_first.contains(&true) {
        // A warm cargo cache: the release binaries are up to date, so the build is the images'.
        cx.ui.info("  cargo build --release, untimed: the first deploy is measured on a warm cargo cache");
        cmd!(cx.sh, "cargo build --release --locked -p todo-api -p todo-web").quiet().run()?;
        let (mut totals, mut builds, mut releases) = (Vec::new(), Vec::new(), Vec::new());
        let runs = bench.runs(1, 1);
        for run in 1..=runs {
            if run > 1 {
                d.xtask(&["down".to_owned(), "--env".to_owned(), "cluster".to_owned()])?;
            }
            remove_todo_images(cx)?;
            let started = Instant::now();
            let phases = d.deploy(&[])?;
            let took = started.elapsed();
            bench.progress("deploy.first", run, runs, &format!("{:.1} s", took.as_secs_f64()), took);
            totals.push(took.as_secs_f64());
            builds.push(phases.get("containerize").copied().context("deploy ran no containerize phase")?);
            releases.push(phases.get("release").copied().context("deploy ran no release phase")?);
            pod_starts.extend(d.slowest_pod_start(cx)?);
        }
        bench.record("deploy.first", totals, first);
        bench.record("deploy.first_build", builds, first);
        bench.record("deploy.first_release", releases, first);
    } else {
        cx.ui.info("  a first deploy, untimed");
        d.deploy(&[])?;
        pod_starts.extend(d.slowest_pod_start(cx)?);
    }

    let unchanged = "cargo xtask deploy --env cluster --registry R --ingress-class C (again)";
    let runs = bench.runs(5, 3);
    bench.repeat("deploy.unchanged", runs, unchanged, |_| {
        let started = Instant::now();
        d.deploy(&[])?;
        Ok(started.elapsed().as_secs_f64())
    })?;

    rolling_updates(bench, d, &mut pod_starts)?;

    let failed = "REQUEST_TIMEOUT_SECS=soon in the settings, then cargo xtask deploy --env cluster … --timeout 60s (fails)";
    if bench.wants("deploy.failed_rollout", failed) {
        let runs = bench.runs(1, 1);
        let result = bench.repeat("deploy.failed_rollout", runs, failed, |_| {
            d.write_env("REQUEST_TIMEOUT_SECS=soon\n")?;
            let started = Instant::now();
            let output = d.deploy_output(&["--timeout".to_owned(), "60s".to_owned()])?;
            let took = started.elapsed().as_secs_f64();
            let text = output.text();
            if output.success {
                bail!("a deploy of an api that exits at start succeeded");
            }
            if !(text.contains("its last log lines:") && text.contains("REQUEST_TIMEOUT_SECS")) {
                return Err(failure("the failed deploy's diagnosis (no line of the api's own)", &text));
            }
            Ok(took)
        });
        d.write_env("")?;
        result?;
    }

    one_line_change(bench, d, &mut pod_starts)?;

    let shown = "the slowest pod of each rollout above: created → Ready, from the API server's timestamps";
    bench.record("deploy.pod_start", pod_starts, shown);
    Ok(())
}

/// Every pod replaced (a changed setting rolls both Deployments, as a new image would) while a
/// client calls `/api/tasks` through the ingress every 25 ms.
fn rolling_updates(bench: &mut Bench, d: &Deployer<'_>, pod_starts: &mut Vec<f64>) -> Result<()> {
    let cx = bench.cx;
    let shown = "GET /api/tasks through the ingress every 25 ms during cargo xtask deploy --env cluster --registry R --ingress-class C (a changed setting rolls every pod)";
    let token = d.sign_up()?;
    let runs = bench.runs(3, 1);
    let mut answered = Vec::new();
    let result = bench.repeat("deploy.rolling_update_failures", runs, shown, |run| {
        let load = Load::start(d.endpoint.clone(), d.host.clone(), token.clone());
        std::thread::sleep(Duration::from_secs(2));
        d.write_env(&format!("RUST_LOG=info,todo_api=debug,bench={run}\n"))?;
        let deployed = d.deploy(&[]);
        // Requests keep going a little after the rollout: a pod still draining fails them then.
        std::thread::sleep(Duration::from_secs(3));
        let (ok, failed) = load.stop();
        deployed?;
        pod_starts.extend(d.slowest_pod_start(cx)?);
        answered.push(ok);
        if ok < 50 {
            bail!("the load hardly ran ({ok} answers): is the ingress at {} routing?", d.endpoint.url());
        }
        Ok(failed as f64)
    });
    d.write_env("")?;
    result?;
    let total: usize = answered.iter().sum();
    bench.note(
        "deploy.rolling_update_failures",
        format!("{total} requests answered over {} rolling updates", answered.len()),
    );
    Ok(())
}

/// A comment appended to the api's crate root in a clone of HEAD, then `deploy` from the clone:
/// the api's release build, its image, the push and the rollout, until verify passes.
fn one_line_change(bench: &mut Bench, d: &Deployer<'_>, pod_starts: &mut Vec<f64>) -> Result<()> {
    let id = "deploy.one_line_change";
    let shown = format!(
        "echo '// change' >> {CHANGED_FILE} && cargo xtask deploy --env cluster --registry R --ingress-class C"
    );
    if !bench.wants(id, &shown) {
        return Ok(());
    }
    let cx = bench.cx;
    let checkout = Checkout::prepare(cx)?;
    let args = d.cluster.deploy_args(&["deploy"]);
    cx.ui.info("  deploying from the clone once, untimed, so only the change is measured");
    checkout.restore(cx)?;
    checkout.run_xtask(cx, &args, &d.env())?;
    let runs = bench.runs(2, 1);
    let result = bench.repeat(id, runs, &shown, |run| {
        checkout.change_api(run)?;
        let started = Instant::now();
        checkout.run_xtask(cx, &args, &d.env())?;
        let took = started.elapsed().as_secs_f64();
        pod_starts.extend(d.slowest_pod_start(cx)?);
        Ok(took)
    });
    checkout.restore(cx)?;
    result.map(drop)
}

/// The bench's deploying user: its settings file, phase state and database.
struct Deployer<'a> {
    cx: &'a Context,
    cluster: TestCluster,
    endpoint: Endpoint,
    dir: Utf8PathBuf,
    jwt_secret: Secret,
    database_url: Secret,
    host: String,
}

struct DeployOutput {
    success: bool,
    stdout: String,
    stderr: String,
}

impl DeployOutput {
    fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl<'a> Deployer<'a> {
    fn new(cx: &'a Context, cluster: TestCluster, admin_url: &str) -> Result<Deployer<'a>> {
        let dir = cx.state_dir().join("bench/deploy");
        std::fs::create_dir_all(&dir)?;
        let password = Secret::new(env_file::random_hex(16)?);
        let jwt_secret = Secret::new(env_file::random_hex(32)?);
        cx.ui.redactor().register(&password);
        cx.ui.redactor().register(&jwt_secret);
        let admin = PgUrl::parse(admin_url)?;
        // The password goes on psql's stdin, never on a command line.
        let sql = format!(
            "DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE);\nDROP ROLE IF EXISTS {DATABASE};\n\
             CREATE ROLE {DATABASE} LOGIN PASSWORD '{}';\nGRANT {DATABASE} TO CURRENT_USER;\n\
             CREATE DATABASE {DATABASE} OWNER {DATABASE};\n",
            password.expose()
        );
        admin.psql(cx, Secret::new(sql))?;
        let database_url = Secret::new(format!(
            "postgres://{DATABASE}:{}@{}:{}/{DATABASE}",
            password.expose(),
            cluster.db_host,
            admin.port
        ));
        cx.ui.redactor().register(&database_url);
        let endpoint = Endpoint::parse(&cluster.ingress_url)?;
        let host = cx.config()?.ingress.host.clone();
        let deployer = Deployer { cx, cluster, endpoint, dir, jwt_secret, database_url, host };
        deployer.write_env("")?;
        Ok(deployer)
    }

    fn env_path(&self) -> Utf8PathBuf {
        self.dir.join("env")
    }

    /// The settings file: the secrets, and `extra` lines.
    fn write_env(&self, extra: &str) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let text = format!(
            "JWT_SECRET={}\nDATABASE_URL={}\n{extra}",
            self.jwt_secret.expose(),
            self.database_url.expose()
        );
        let path = self.env_path();
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("cannot write {path}"))
    }

    /// What every xtask the bench starts for the cluster gets.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("XTASK_ENV_FILE".to_owned(), self.env_path().to_string()),
            ("TODO_INGRESS_URL".to_owned(), self.cluster.ingress_url.clone()),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ]
    }

    /// `cargo xtask ARGS` as a user runs it (cargo's freshness check included in the times).
    fn command(&self, args: &[String]) -> std::process::Command {
        let mut command = std::process::Command::from(cmd!(self.cx.sh, "cargo xtask {args...}"));
        command
            .env("XTASK_STATE_DIR", self.dir.join("state"))
            .envs(self.env())
            .stdin(std::process::Stdio::null());
        command
    }

    fn output(&self, args: &[String]) -> Result<DeployOutput> {
        let output = self.command(args).output().context("cannot start cargo xtask")?;
        Ok(DeployOutput {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    fn xtask(&self, args: &[String]) -> Result<DeployOutput> {
        let output = self.output(args)?;
        if !output.success {
            return Err(failure(&format!("`cargo xtask {}`", args.join(" ")), &output.text()));
        }
        Ok(output)
    }

    fn deploy_output(&self, extra: &[String]) -> Result<DeployOutput> {
        let mut args = self.cluster.deploy_args(&["--json", "deploy"]);
        args.extend(extra.iter().cloned());
        self.output(&args)
    }

    /// A deploy that must succeed; its phases' durations in seconds, from the `pipeline_finish` event.
    fn deploy(&self, extra: &[String]) -> Result<std::collections::BTreeMap<String, f64>> {
        let output = self.deploy_output(extra)?;
        if !output.success {
            return Err(failure("`cargo xtask deploy`", &output.text()));
        }
        phase_seconds(&output.stdout)
    }

    fn slowest_pod_start(&self, cx: &Context) -> Result<Option<f64>> {
        let target = kube::Target::of(cx.config()?);
        let pods = kube::pods(cx, &target)?;
        Ok(pods
            .iter()
            .filter(|pod| !pod.terminating())
            .filter_map(|pod| pod.time_to_ready())
            .max()
            .map(|slowest| slowest.as_secs_f64()))
    }

    fn sign_up(&self) -> Result<String> {
        let body = serde_json::json!({
            "email": format!("bench-{}@example.com", std::process::id()),
            "password": "a long enough password",
        });
        let request = Request {
            method: "POST",
            path: "/api/auth/signup",
            host: &self.host,
            bearer: None,
            json: Some(&body),
        };
        let response = http::send(&self.endpoint, &request, Duration::from_secs(10))?;
        if response.status != 201 {
            bail!("signing up through the ingress answered {}: {}", response.status, response.snippet());
        }
        Ok(response.json()?["token"].as_str().context("the sign-up answer has no token")?.to_owned())
    }

    fn drop_database(&self, cx: &Context, admin_url: &str) {
        if let Ok(admin) = PgUrl::parse(admin_url) {
            let sql = format!(
                "DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE);\nDROP ROLE IF EXISTS {DATABASE};\n"
            );
            let _ = admin.psql(cx, Secret::new(sql));
        }
    }
}

/// `{"event": "pipeline_finish", "phases": [{"phase", "duration_ms"}…]}` → phase → seconds.
fn phase_seconds(stdout: &str) -> Result<std::collections::BTreeMap<String, f64>> {
    let finish = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .rfind(|event| event["event"] == "pipeline_finish")
        .context("deploy printed no pipeline_finish event")?;
    Ok(finish["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|phase| {
            Some((phase["phase"].as_str()?.to_owned(), phase["duration_ms"].as_u64()? as f64 / 1000.0))
        })
        .collect())
}

/// The parts of a `postgres://` URL psql needs, the password kept secret.
struct PgUrl {
    user: String,
    password: Secret,
    host: String,
    port: u16,
    database: String,
}

impl PgUrl {
    fn parse(url: &str) -> Result<PgUrl> {
        let invalid =
            || anyhow::anyhow!("the database URL is not postgres://USER:PASSWORD@HOST[:PORT]/DATABASE");
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(invalid)?;
        let (userinfo, rest) = rest.rsplit_once('@').ok_or_else(invalid)?;
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let (address, path) = rest.split_once('/').ok_or_else(invalid)?;
        let database = path.split('?').next().unwrap_or("").to_owned();
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), port.parse().map_err(|_| invalid())?),
            None => (address.to_owned(), 5432),
        };
        Ok(PgUrl { user: user.to_owned(), password: Secret::new(password), host, port, database })
    }

    /// Runs `sql` (on stdin) as this user. The password reaches psql in a password file of its
    /// own: on a command line or in the environment, the runner would refuse it, and rightly so.
    fn psql(&self, cx: &Context, sql: Secret) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let PgUrl { user, host, database, .. } = self;
        let port = self.port.to_string();
        let escape = |field: &str| field.replace('\\', "\\\\").replace(':', "\\:");
        let passfile = cx.state_dir().join("bench/pgpass");
        std::fs::create_dir_all(passfile.parent().unwrap())?;
        let line = format!(
            "{}:{port}:{}:{}:{}\n",
            escape(host),
            escape(database),
            escape(user),
            escape(self.password.expose())
        );
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&passfile)?;
        std::io::Write::write_all(&mut file, line.as_bytes())?;
        let psql = cmd!(
            cx.sh,
            "psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 -h {host} -p {port} -U {user} -d {database}"
        );
        let quiet = "-c client_min_messages=warning";
        let result = cx.run(
            Cmd::from(psql)
                .quiet()
                .env("PGPASSFILE", passfile.as_str())
                .env("PGOPTIONS", quiet)
                .secret_stdin(sql),
        );
        let _ = std::fs::remove_file(&passfile);
        result.map(drop)
    }
}

/// A client calling `GET /api/tasks` through the ingress every 25 ms, counting answers and failures.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    handle: JoinHandle<()>,
}

impl Load {
    fn start(endpoint: Endpoint, host: String, token: String) -> Load {
        let (stop, ok, failed) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (flag, answered, failures) = (stop.clone(), ok.clone(), failed.clone());
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            // Bounded: it stops by itself after ten minutes whatever happens.
            while !flag.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(600) {
                let request = Request {
                    method: "GET",
                    path: "/api/tasks",
                    host: &host,
                    bearer: Some(&token),
                    json: None,
                };
                match http::send(&endpoint, &request, Duration::from_secs(10)) {
                    Ok(response) if response.status == 200 => answered.fetch_add(1, Ordering::Relaxed),
                    _ => failures.fetch_add(1, Ordering::Relaxed),
                };
                std::thread::sleep(Duration::from_millis(25));
            }
        });
        Load { stop, ok, failed, handle }
    }

    /// (answered, failed)
    fn stop(self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
        (self.ok.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_times_come_from_the_last_pipeline_finish_event() {
        let stdout = r#"{"event":"phase_start","phase":"containerize"}
not json
{"event":"pipeline_finish","ok":true,"phases":[{"phase":"containerize","duration_ms":61200},{"phase":"release","duration_ms":7400}]}"#;
        let phases = phase_seconds(stdout).unwrap();
        assert_eq!(phases["containerize"], 61.2);
        assert_eq!(phases["release"], 7.4);
        assert!(phase_seconds("{\"event\":\"phase_start\"}").is_err());
    }

    #[test]
    fn database_urls_split_for_psql_without_the_password_on_a_command_line() {
        let url = PgUrl::parse("postgres://todo_test:s3cret-pass@127.0.0.1:5433/todo_test?sslmode=disable")
            .unwrap();
        assert_eq!(
            (url.user.as_str(), url.host.as_str(), url.port, url.database.as_str()),
            ("todo_test", "127.0.0.1", 5433, "todo_test")
        );
        assert_eq!(url.password.expose(), "s3cret-pass");
        assert_eq!(PgUrl::parse("postgresql://u:p@db/x").unwrap().port, 5432);
        assert!(PgUrl::parse("mysql://u:p@db/x").is_err());
    }
}
