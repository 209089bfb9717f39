//! `cargo xtask verify`: the deployed app answers through its ingress, and a user can use it.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use xshell::cmd;

use crate::config::{self, DeployConfig};
use crate::context::Context;
use crate::http::{self, Endpoint, Request, Response};
use crate::kube::Target;
use crate::phase::{self, Outcome, Phase, Pipeline, Plan};
use crate::runner::Cmd;
use crate::ui::{Style, Table, fmt_duration};

/// Check the deployed app through its ingress: page, health, and a user's smoke flow
///
/// Sends every request to the ingress controller with the Host header of deploy/todo.toml
/// (`todo.local`), so it works before /etc/hosts knows the name. Steps: the web page loads,
/// /api/healthz and /api/readyz answer, then a throwaway user signs up, adds, lists, completes and
/// deletes a task, and has one chat turn. Each step is timed; the first ones are retried while the
/// ingress warms up. A failing step names the URL, the status and the start of the body.
///
/// Where the ingress answers: `--ingress-url` (or TODO_INGRESS_URL); for `--env minikube`,
/// `minikube ip`; otherwise the address the Ingress's status reports. Calls kubectl and minikube
/// only to find that address.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The environment: a file in deploy/environments/
    #[arg(long = "env", value_name = "ENV", default_value = config::DEFAULT_ENVIRONMENT)]
    pub env: String,

    #[command(flatten)]
    pub options: VerifyOptions,
}

/// What `deploy` passes on to its verify phase.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Where the ingress controller answers, e.g. http://127.0.0.1:8080 [default: TODO_INGRESS_URL,
    /// else from minikube or the Ingress status]
    #[arg(long, value_name = "URL")]
    pub ingress_url: Option<String>,

    /// How long to keep retrying while the ingress warms up
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = config::parse_duration)]
    pub warmup: Duration,
}

pub fn run(cx: &Context, args: &Args) -> Result<()> {
    Pipeline::new(vec![Box::new(Verify { env: args.env.clone(), options: args.options.clone() })]).run(cx)
}

pub struct Verify {
    pub env: String,
    pub options: VerifyOptions,
}

impl Phase for Verify {
    fn name(&self) -> &'static str {
        "verify"
    }

    fn prepare<'a>(&'a self, _cx: &Context) -> Result<Box<dyn Plan + 'a>> {
        // Always runs: what it checks is the cluster now, not an input that could be unchanged.
        Ok(phase::always(move |cx| self.check(cx)))
    }
}

/// A request's timeout; the whole flow is bounded by these and the warm-up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

impl Verify {
    fn check(&self, cx: &Context) -> Result<Outcome> {
        let (config, _) = DeployConfig::load_env(&cx.root, Some(&self.env))?;
        if !config.ingress.enabled {
            return Ok(Outcome::Skipped("the ingress is disabled (ingress.enabled = false)".into()));
        }
        let given = self.options.ingress_url.clone().or_else(|| std::env::var("TODO_INGRESS_URL").ok());
        let host = config.ingress.host.as_str();
        if cx.runner.dry_run() {
            // Before a first deploy the Ingress does not exist yet: the plan says so, it is no failure.
            let address = match &given {
                Some(url) => Endpoint::parse(url)?.url(),
                None => ingress_address(cx, &config, &self.env).map_or_else(
                    |_| "the Ingress's address once the release has one".to_owned(),
                    |e| e.url(),
                ),
            };
            cx.ui.info(&format!(
                "  would check {address} with Host: {host}: the page, /api/healthz, /api/readyz, then sign up, add, list, complete and delete a task, and one chat turn"
            ));
            return Ok(Outcome::Done);
        }
        let endpoint = match &given {
            Some(url) => Endpoint::parse(url)?,
            None => ingress_address(cx, &config, &self.env)?,
        };
        cx.ui.info(&format!("  through {} with Host: {host}", endpoint.url()));
        let mut flow =
            Flow { cx, endpoint, host, table: Table::new(&["step", "status", "time"]), token: None };
        let result = flow.steps(self.options.warmup);
        cx.ui.info(&flow.table.render(&cx.ui));
        result?;
        cx.ui.success(&format!("the app answers at http://{host}/ (through {})", flow.endpoint.url()));
        Ok(Outcome::Done)
    }
}

struct Flow<'a> {
    cx: &'a Context,
    endpoint: Endpoint,
    host: &'a str,
    table: Table,
    token: Option<String>,
}

impl Flow<'_> {
    fn steps(&mut self, warmup: Duration) -> Result<()> {
        let page = self.step_until("web page loads", "GET", "/", None, 200, warmup)?;
        if !page.body.to_ascii_lowercase().contains("<html") {
            bail!("GET {}/ answered 200 but not with the web page: {}", self.endpoint.url(), page.snippet());
        }
        self.step_until("api /healthz", "GET", "/api/healthz", None, 200, warmup)?;
        self.step_until("api /readyz (database)", "GET", "/api/readyz", None, 200, warmup)?;

        let suffix = crate::env_file::random_hex(6)?;
        let password = crate::env_file::random_hex(12)?;
        let credentials = json!({ "email": format!("verify-{suffix}@example.com"), "password": password });
        let signup =
            self.step("sign up a throwaway user", "POST", "/api/auth/signup", Some(&credentials), 201)?;
        let token = signup.json()?["token"].as_str().context("the sign-up answer has no token")?.to_owned();
        self.cx.ui.redactor().register(&crate::secret::Secret::new(token.clone()));
        self.token = Some(token);

        let title = format!("verify {suffix}: smoke test");
        let created = self.step("add a task", "POST", "/api/tasks", Some(&json!({ "title": title })), 201)?;
        let id = created.json()?["id"].as_i64().context("the new task has no id")?;
        let listed = self.step("list tasks", "GET", "/api/tasks", None, 200)?;
        let found =
            listed.json()?["items"].as_array().is_some_and(|items| items.iter().any(|t| t["id"] == id));
        if !found {
            bail!("GET /api/tasks does not list the task just added (id {id}): {}", listed.snippet());
        }
        let path = format!("/api/tasks/{id}");
        let done = self.step("complete it", "PATCH", &path, Some(&json!({ "completed": true })), 200)?;
        if done.json()?["completed"] != Value::Bool(true) {
            bail!("PATCH {path} did not complete the task: {}", done.snippet());
        }
        let chat = self.step(
            "one chat turn",
            "POST",
            "/api/chat",
            Some(&json!({ "message": "list my tasks" })),
            200,
        )?;
        if chat.json()?["reply"].as_str().is_none_or(str::is_empty) {
            bail!("POST /api/chat answered without a reply: {}", chat.snippet());
        }
        self.step("delete the task", "DELETE", &path, None, 204)?;
        Ok(())
    }

    /// One request, expecting `want`.
    fn step(
        &mut self,
        name: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        want: u16,
    ) -> Result<Response> {
        self.step_until(name, method, path, body, want, Duration::ZERO)
    }

    /// One request, retried every 2 s for up to `patience` until it answers `want`.
    fn step_until(
        &mut self,
        name: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        want: u16,
        patience: Duration,
    ) -> Result<Response> {
        let started = Instant::now();
        let request = Request { method, path, host: self.host, bearer: self.token.as_deref(), json: body };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = http::send(&self.endpoint, &request, REQUEST_TIMEOUT);
            let failure = match result {
                Ok(response) if response.status == want => {
                    let tries = if attempts > 1 { format!(" ({attempts} tries)") } else { String::new() };
                    self.row(name, &format!("{}{tries}", response.status), Some(Style::Green), started);
                    return Ok(response);
                }
                Ok(response) => format!(
                    "{method} {}{path} (Host: {}) answered {}, expected {want}: {}",
                    self.endpoint.url(),
                    self.host,
                    response.status,
                    response.snippet()
                ),
                Err(err) => format!("{method} {}{path} (Host: {}): {err:#}", self.endpoint.url(), self.host),
            };
            if started.elapsed() + Duration::from_secs(2) > patience {
                self.row(name, "FAILED", Some(Style::Red), started);
                bail!("verify step `{name}` failed: {failure}");
            }
            if attempts == 1 {
                self.cx.ui.detail(&format!(
                    "  {name}: not yet ({failure}); retrying for up to {}",
                    fmt_duration(patience)
                ));
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    fn row(&mut self, name: &str, status: &str, style: Option<Style>, started: Instant) {
        let time = fmt_duration(started.elapsed());
        self.table.row(vec![(name.to_owned(), None), (status.to_owned(), style), (time, None)]);
    }
}

/// Where the ingress controller answers for this environment.
pub fn ingress_address(cx: &Context, config: &DeployConfig, env: &str) -> Result<Endpoint> {
    if env == "minikube" {
        let profile = super::minikube::profile(config);
        let ip = cx.read(Cmd::from(cmd!(cx.sh, "minikube -p {profile} ip")).read_only().quiet())?;
        if super::minikube::needs_tunnel(config) {
            return Ok(Endpoint { host: "127.0.0.1".into(), port: 80 });
        }
        return Endpoint::parse(&format!("http://{ip}"));
    }
    let target = Target::of(config);
    let (scope, selector) = (target.kubectl_args(), target.selector());
    let template = "{range .items[*]}{range .status.loadBalancer.ingress[*]}{.ip}{.hostname} {end}{end}";
    let query =
        cmd!(cx.sh, "kubectl {scope...} get ingress --selector {selector} --output jsonpath={template}");
    let addresses = cx.read(Cmd::from(query).read_only().quiet())?;
    match addresses.split_whitespace().next() {
        Some(address) => Endpoint::parse(&format!("http://{address}")),
        None => bail!(
            "the Ingress of {} reports no address yet, so verify cannot tell where the ingress controller answers; \
             pass it: `--ingress-url http://HOST[:PORT]` (or set TODO_INGRESS_URL)",
            target.describe()
        ),
    }
}
