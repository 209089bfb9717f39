//! The PostgreSQL of the Postgres figures: reached with libpq's `PG*` variables (the password
//! only ever in the environment), wiped before each start, and measured on its own with pgbench.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use xshell::cmd;

use super::super::load::{CONNECTIONS, output};
use crate::context::Context;
use crate::runner::Cmd;
use crate::secret::Secret;

/// pgbench's worker threads, as wrk's (`-j`).
const PGBENCH_THREADS: u32 = 2;

pub const PSQL_HINT: &str = "psql is not installed: apt-get install postgresql-client";
pub const PGBENCH_HINT: &str = "pgbench is not installed: apt-get install postgresql-client";

pub struct Database {
    /// The URL as given, for todo-api's DATABASE_URL.
    pub url: Secret,
    /// libpq's variables for psql and pgbench, each kept secret when it holds the password.
    vars: Vec<(&'static str, String)>,
    password: Option<Secret>,
}

impl Database {
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…`, as TEST_DATABASE_URL holds it.
    pub fn parse(url: &str) -> Result<Database> {
        let rest = ["postgres://", "postgresql://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .context("the database URL must start with postgres:// or postgresql://")?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (Some(decode(user)?), Some(decode(password)?)),
                None => (Some(decode(info)?), None),
            },
            None => (None, None),
        };
        let (host, port) = match hostport.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) =
                    bracketed.split_once(']').context("the database URL has `[` without `]`")?;
                (host.to_owned(), after.strip_prefix(':'))
            }
            None => match hostport.rsplit_once(':') {
                Some((host, port)) => (decode(host)?, Some(port)),
                None => (decode(hostport)?, None),
            },
        };
        let mut vars = Vec::new();
        if !host.is_empty() {
            vars.push(("PGHOST", host));
        }
        if let Some(port) = port.filter(|p| !p.is_empty()) {
            port.parse::<u16>().with_context(|| format!("the database URL's port `{port}` is not a port"))?;
            vars.push(("PGPORT", port.to_owned()));
        }
        if let Some(user) = user.filter(|u| !u.is_empty()) {
            vars.push(("PGUSER", user));
        }
        if !database.is_empty() {
            vars.push(("PGDATABASE", decode(database)?));
        }
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let var = match key {
                "sslmode" => "PGSSLMODE",
                "sslrootcert" => "PGSSLROOTCERT",
                "sslcert" => "PGSSLCERT",
                "sslkey" => "PGSSLKEY",
                "connect_timeout" => "PGCONNECT_TIMEOUT",
                "options" => "PGOPTIONS",
                "application_name" => "PGAPPNAME",
                "channel_binding" => "PGCHANNELBINDING",
                "target_session_attrs" => "PGTARGETSESSIONATTRS",
                other => bail!(
                    "the database URL's parameter `{other}` is not one bench passes to psql and pgbench"
                ),
            };
            vars.push((var, decode(value)?));
        }
        Ok(Database {
            url: Secret::new(url),
            vars,
            password: password.filter(|p| !p.is_empty()).map(Secret::new),
        })
    }

    /// `cmd` with the connection in its environment, the password (and any value holding it)
    /// as a secret.
    fn connect(&self, cmd: Cmd) -> Cmd {
        let mut cmd = cmd.env_remove("PGSERVICE");
        for (key, value) in &self.vars {
            let holds_password = self.password.as_ref().is_some_and(|p| value.contains(p.expose()));
            cmd = if holds_password {
                cmd.secret_env(*key, Secret::new(value.clone()))
            } else {
                cmd.env(*key, value)
            };
        }
        match &self.password {
            Some(password) => cmd.secret_env("PGPASSWORD", password.clone()),
            None => cmd,
        }
    }

    /// Drops schema `public` with everything in it, so every start
    /// migrates an empty database.
    pub fn wipe(&self, cx: &Context) -> Result<()> {
        let sql = "DROP SCHEMA public CASCADE; CREATE SCHEMA public;";
        let cmd = Cmd::from(cmd!(cx.sh, "psql --no-psqlrc -q -v ON_ERROR_STOP=1 -c {sql}"))
            .env("PGOPTIONS", "--client-min-messages=warning")
            .quiet()
            .timeout(Duration::from_secs(60))
            .hint(PSQL_HINT);
        output(cx, self.connect(cmd), "psql (wiping schema public)")?;
        Ok(())
    }

    /// `pgbench -i -s 1`: its 100,000 accounts beside the api's tables.
    pub fn pgbench_init(&self, cx: &Context) -> Result<()> {
        let cmd = Cmd::from(cmd!(cx.sh, "pgbench -i -s 1 -q"))
            .quiet()
            .timeout(Duration::from_secs(600))
            .hint(PGBENCH_HINT);
        output(cx, self.connect(cmd), "`pgbench -i -s 1`")?;
        Ok(())
    }

    /// `pgbench -S` for `seconds` with wrk's client count: selects per second.
    pub fn pgbench_select(&self, cx: &Context, seconds: u64) -> Result<f64> {
        let (clients, threads, time) =
            (CONNECTIONS.to_string(), PGBENCH_THREADS.to_string(), seconds.to_string());
        let cmd = Cmd::from(cmd!(cx.sh, "pgbench -S -c {clients} -j {threads} -T {time} -n"))
            .quiet()
            .timeout(Duration::from_secs(seconds + 120))
            .hint(PGBENCH_HINT);
        let stdout = output(cx, self.connect(cmd), &format!("`{}`", pgbench_shown(seconds)))?;
        tps(&stdout).with_context(|| format!("`{}`", pgbench_shown(seconds)))
    }
}

/// The pgbench run as a reader repeats it.
pub fn pgbench_shown(seconds: u64) -> String {
    format!("pgbench -S -c {CONNECTIONS} -j {PGBENCH_THREADS} -T {seconds} -n \"$TEST_DATABASE_URL\"")
}

/// Transactions per second from pgbench's report; failed transactions are an error.
pub fn tps(output: &str) -> Result<f64> {
    let mut found = None;
    for line in output.lines().map(str::trim) {
        if let Some(failed) = line.strip_prefix("number of failed transactions:") {
            let count = failed.split_whitespace().next().unwrap_or_default();
            if count != "0" {
                bail!("pgbench: {line}");
            }
        }
        if let Some(rest) = line.strip_prefix("tps = ") {
            let value: f64 = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .parse()
                .with_context(|| format!("pgbench: cannot read `{line}`"))?;
            // Older versions print both; the one without connection time is the steady state.
            if found.is_none() || rest.contains("without initial connection") || rest.contains("excluding") {
                found = Some(value);
            }
        }
    }
    found.with_context(|| format!("pgbench printed no `tps = …` line: {}", output.trim()))
}

/// `%XX` escapes of a URL part.
fn decode(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).context("the database URL has a `%` without two hex digits")?;
            out.push(
                u8::from_str_radix(hex, 16).context("the database URL has a `%` without two hex digits")?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("the database URL decodes to invalid UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(db: &Database) -> Vec<(&str, &str)> {
        db.vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    #[test]
    fn a_url_becomes_libpq_variables_and_a_password() {
        let db = Database::parse("postgres://todo_test:todo_test@127.0.0.1:5432/todo_test").unwrap();
        assert_eq!(
            vars(&db),
            [
                ("PGHOST", "127.0.0.1"),
                ("PGPORT", "5432"),
                ("PGUSER", "todo_test"),
                ("PGDATABASE", "todo_test")
            ]
        );
        assert_eq!(db.password.as_ref().unwrap().expose(), "todo_test");

        let db = Database::parse("postgresql://u%40x:p%2Fw@[::1]/db?sslmode=require").unwrap();
        assert_eq!(
            vars(&db),
            [("PGHOST", "::1"), ("PGUSER", "u@x"), ("PGDATABASE", "db"), ("PGSSLMODE", "require")]
        );
        assert_eq!(db.password.unwrap().expose(), "p/w");

        assert!(Database::parse("mysql://x@y/z").is_err());
        assert!(Database::parse("postgres://h/db?fancy=1").is_err());
    }

    #[test]
    fn a_value_holding_the_password_is_passed_as_a_secret() {
        let sh = xshell::Shell::new().unwrap();
        let db = Database::parse("postgres://todo_test:todo_test@127.0.0.1:5432/todo_test").unwrap();
        let shown = db.connect(Cmd::from(cmd!(sh, "psql"))).to_string();
        assert!(!shown.contains("todo_test"), "{shown}");
        assert!(shown.contains("PGHOST=127.0.0.1"), "{shown}");
    }

    #[test]
    fn pgbench_reports_are_read() {
        // pgbench 15.18 (Debian 12), scale 1, on this machine.
        let report = "\
pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 1
query mode: simple
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 34791
number of failed transactions: 0 (0.000%)
latency average = 0.881 ms
initial connection time = 106.880 ms
tps = 18157.573354 (without initial connection time)
";
        assert_eq!(tps(report).unwrap(), 18157.573354);
        let failed = report.replace("failed transactions: 0 (0.000%)", "failed transactions: 3 (0.010%)");
        assert!(tps(&failed).unwrap_err().to_string().contains("failed transactions: 3"));
        let old = "tps = 900.1 (including connections establishing)\ntps = 950.2 (excluding connections establishing)\n";
        assert_eq!(tps(old).unwrap(), 950.2);
        assert!(tps("nothing").is_err());
    }
}
