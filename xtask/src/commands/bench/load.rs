//! HTTP load with wrk: the command line (run and shown), and what its `--latency` report says.
//! A load that got errors back is an error, never a figure: a fast 429 or 500 is not throughput.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use camino::Utf8Path;
use xshell::cmd;

use crate::context::Context;
use crate::runner::{Cmd, CommandError, Failure};

/// wrk's threads and connections: 2 cores, 16 clients, as the figures before bench were measured.
pub const THREADS: u32 = 2;
pub const CONNECTIONS: u32 = 16;

/// The fix shown when wrk is missing.
pub const INSTALL_HINT: &str = "wrk is not installed: `bash ci/wrk.sh` (apt-get install wrk)";

/// One load: a URL, the bearer token it carries and the Lua script that shapes its requests.
pub struct Target<'a> {
    pub url: String,
    /// The URL in the shown command, its port a variable (`$API_PORT`): each run picks a free one.
    pub shown_url: String,
    pub bearer: &'a str,
    /// The script wrk runs, and the committed file with the same text that the shown command names.
    pub script: Option<(&'a Utf8Path, &'static str)>,
}

/// What one wrk run measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    pub requests: u64,
    pub per_second: f64,
    /// Seconds.
    pub p50: f64,
    /// Seconds.
    pub p99: f64,
}

pub struct Wrk {
    pub seconds: u64,
}

impl Wrk {
    /// 10 s a load, 2 s with `--quick`.
    pub fn new(quick: bool) -> Wrk {
        Wrk { seconds: if quick { 2 } else { 10 } }
    }

    pub fn available() -> bool {
        which::which("wrk").is_ok()
    }

    /// The command a reader runs to repeat the load, the token elided.
    pub fn shown(&self, target: &Target) -> String {
        let script = match target.script {
            Some((_, committed)) => format!(" -s {committed}"),
            None => String::new(),
        };
        format!(
            "wrk -t{THREADS} -c{CONNECTIONS} -d{}s --latency -H 'authorization: Bearer …'{script} {}",
            self.seconds, target.shown_url
        )
    }

    pub fn run(&self, cx: &Context, target: &Target) -> Result<Report> {
        let (threads, connections, duration) =
            (format!("-t{THREADS}"), format!("-c{CONNECTIONS}"), format!("-d{}s", self.seconds));
        let header = format!("authorization: Bearer {}", target.bearer);
        let script: Vec<&str> = match target.script {
            Some((path, _)) => vec!["-s", path.as_str()],
            None => vec![],
        };
        let url = &target.url;
        let cmd = Cmd::from(cmd!(
            cx.sh,
            "wrk {threads} {connections} {duration} --latency -H {header} {script...} {url}"
        ))
        .quiet()
        .timeout(Duration::from_secs(self.seconds + 60))
        .hint(INSTALL_HINT);
        let stdout = output(cx, cmd, &format!("`{}`", self.shown(target)))?;
        parse(&stdout).with_context(|| format!("`{}`", self.shown(target)))
    }
}

/// Runs a tool for its stdout. A failure reads as `what` and the last line the tool printed
/// (redacted), short enough for the report's cell, rather than the full command line.
pub fn output(cx: &Context, cmd: Cmd, what: &str) -> Result<String> {
    match cx.output(cmd) {
        Ok(output) => Ok(output.stdout),
        Err(err) => {
            let Some(failed) = err.downcast_ref::<CommandError>() else {
                return Err(err);
            };
            let how = match &failed.failure {
                Failure::Exit(code) => format!("exit code {code}"),
                Failure::Killed(how) => format!("killed by {how}"),
                Failure::TimedOut(after) => format!("timed out after {}s", after.as_secs()),
                Failure::NotInstalled => "not on PATH".to_owned(),
                Failure::Spawn(why) => why.clone(),
            };
            let said = failed.tail.iter().rev().map(|line| line.trim()).find(|line| !line.is_empty());
            // The hints given here say how to install the tool: only for a tool that is missing.
            let hint = match (&failed.failure, &failed.hint) {
                (Failure::NotInstalled, Some(hint)) => format!(" ({hint})"),
                _ => String::new(),
            };
            match said {
                Some(said) => bail!("{what} failed ({how}): {said}{hint}"),
                None => bail!("{what} failed ({how}){hint}"),
            }
        }
    }
}

/// Reads wrk's report (with `--latency`); socket errors or non-2xx answers are an error.
pub fn parse(output: &str) -> Result<Report> {
    let mut requests = None;
    let mut per_second = None;
    let mut p50 = None;
    let mut p99 = None;
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => p50 = Some(latency(value)?),
            ["99%", value] => p99 = Some(latency(value)?),
            ["Requests/sec:", value] => {
                per_second = Some(value.parse::<f64>().with_context(|| format!("wrk: `{line}`"))?)
            }
            [count, "requests", "in", ..] => {
                requests = Some(count.parse::<u64>().with_context(|| format!("wrk: `{line}`"))?)
            }
            _ if line.starts_with("Socket errors:") => {
                let errors = socket_errors(line)?;
                if errors > 0 {
                    bail!(
                        "wrk saw socket errors ({}): the server dropped or timed out connections, so the figure would not be its throughput",
                        line.trim_start_matches("Socket errors:").trim()
                    );
                }
            }
            _ if line.starts_with("Non-2xx or 3xx responses:") => bail!(
                "the server answered with errors under load ({line}; requests: {}): a fast 4xx/5xx is not throughput",
                requests.map_or("?".to_owned(), |n| n.to_string())
            ),
            _ => {}
        }
    }
    let missing =
        |what: &str| format!("wrk's report has no {what} (was --latency given?): {}", one_line(output));
    let requests = requests.with_context(|| missing("request count"))?;
    if requests == 0 {
        bail!("wrk completed no request in its run");
    }
    Ok(Report {
        requests,
        per_second: per_second.with_context(|| missing("Requests/sec"))?,
        p50: p50.with_context(|| missing("50% latency"))?,
        p99: p99.with_context(|| missing("99% latency"))?,
    })
}

/// wrk's time units (`412.00us`, `3.11ms`, `1.20s`, `2.00m`), in seconds.
fn latency(text: &str) -> Result<f64> {
    let split =
        text.find(|c: char| c.is_ascii_alphabetic()).with_context(|| format!("wrk: `{text}` has no unit"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().with_context(|| format!("wrk: `{text}` is not a time"))?;
    Ok(match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => bail!("wrk: `{text}`: unknown unit `{unit}`"),
    })
}

/// The sum of `Socket errors: connect 0, read 0, write 0, timeout 0`.
fn socket_errors(line: &str) -> Result<u64> {
    line.trim_start_matches("Socket errors:")
        .split(',')
        .map(|part| {
            let count = part.split_whitespace().last().unwrap_or_default();
            count.parse::<u64>().with_context(|| format!("wrk: cannot read `{line}`"))
        })
        .sum()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // wrk 4.1.0 (Debian 12) against todo-api's `GET /api/tasks`, then the same without a token.
    const LIST: &str = "\
Running 2s test @ http://127.0.0.1:18181/api/tasks
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.54ms   17.10ms 164.02ms   95.11%
    Req/Sec     2.09k   800.05     4.90k    87.50%
  Latency Distribution
     50%    3.11ms
     75%    4.14ms
     90%   11.35ms
     99%  105.74ms
  8337 requests in 2.08s, 7.82MB read
Requests/sec:   3998.66
Transfer/sec:      3.75MB
";

    const UNAUTHORIZED: &str = "\
Running 1s test @ http://127.0.0.1:18181/api/tasks
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.04ms    1.76ms  25.13ms   91.98%
    Req/Sec    12.01k     3.80k   20.81k    75.00%
  Latency Distribution
     50%  515.00us
     75%    1.02ms
     90%    2.45ms
     99%    7.15ms
  23878 requests in 1.00s, 8.38MB read
  Non-2xx or 3xx responses: 23878
Requests/sec:  23814.01
Transfer/sec:      8.36MB
";

    // A server that closes every connection after one answer (or none).
    const DROPPED: &str = "\
Running 1s test @ http://127.0.0.1:18199/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   818.11us  746.39us   7.01ms   92.33%
    Req/Sec     3.48k     1.14k    5.43k    80.95%
  Latency Distribution
     50%  687.00us
     75%    0.89ms
     90%    1.27ms
     99%    4.37ms
  7295 requests in 1.10s, 284.96KB read
  Socket errors: connect 0, read 14587, write 0, timeout 0
Requests/sec:   6625.27
Transfer/sec:    258.80KB
";

    #[test]
    fn a_clean_run_gives_throughput_and_latencies_in_seconds() {
        let report = parse(LIST).unwrap();
        assert_eq!(report.requests, 8337);
        assert_eq!(report.per_second, 3998.66);
        assert_eq!(report.p50, 0.00311);
        assert_eq!(report.p99, 0.10574);
    }

    #[test]
    fn error_answers_fail_the_run() {
        let err = parse(UNAUTHORIZED).unwrap_err().to_string();
        assert!(err.contains("Non-2xx or 3xx responses: 23878"), "{err}");
        assert!(err.contains("not throughput"), "{err}");
    }

    #[test]
    fn socket_errors_fail_the_run() {
        let err = parse(DROPPED).unwrap_err().to_string();
        assert!(err.contains("read 14587"), "{err}");
        let clean = DROPPED.replace("read 14587", "read 0");
        assert_eq!(parse(&clean).unwrap().p50, 687e-6);
    }

    #[test]
    fn every_unit_wrk_prints_is_read() {
        let seconds = |text| latency(text).unwrap();
        assert_eq!(seconds("515.00us"), 515e-6);
        assert!((seconds("0.89ms") - 0.89e-3).abs() < 1e-15);
        assert_eq!(seconds("1.20s"), 1.2);
        assert_eq!(seconds("2.00m"), 120.0);
        assert!(latency("3.00ns").is_err());
        assert!(latency("12").is_err());
    }

    #[test]
    fn a_report_without_latencies_or_requests_is_an_error() {
        let without = LIST.lines().filter(|l| !l.contains('%')).collect::<Vec<_>>().join("\n");
        assert!(parse(&without).unwrap_err().to_string().contains("--latency"));
        let none = LIST.replace("8337 requests", "0 requests");
        assert!(parse(&none).is_err());
    }

    #[test]
    fn the_shown_command_elides_the_token_and_names_the_committed_script() {
        let script = Utf8Path::new("/tmp/x/post-task.lua");
        let target = Target {
            url: "http://127.0.0.1:4000/api/tasks".into(),
            shown_url: "http://127.0.0.1:$API_PORT/api/tasks".into(),
            bearer: "secret-token",
            script: Some((script, "docs/bench/post-task.lua")),
        };
        assert_eq!(
            Wrk::new(false).shown(&target),
            "wrk -t2 -c16 -d10s --latency -H 'authorization: Bearer …' -s docs/bench/post-task.lua http://127.0.0.1:$API_PORT/api/tasks"
        );
    }
}
