//! Long-lived child processes (the servers `cargo xtask up` runs), started by
//! [`Runner::spawn`](crate::runner::Runner::spawn) after the runner's usual checks.
//!
//! Each child's stdout and stderr are merged and streamed through the [`Ui`] line by line under
//! its label (so secrets are redacted like everything else), and the last lines are kept to say
//! why it died. On Linux a child also gets SIGTERM if xtask itself dies without stopping it
//! (`PR_SET_PDEATHSIG`), so a killed `up` never leaves servers holding ports.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::ui::Ui;

const TAIL_LINES: usize = 15;

pub struct Background {
    label: String,
    handle: Arc<duct::ReaderHandle>,
    pid: u32,
    tail: Arc<Mutex<VecDeque<String>>>,
    reader: Option<thread::JoinHandle<()>>,
}

impl Background {
    pub(crate) fn start(ui: Ui, label: String, expression: duct::Expression) -> std::io::Result<Background> {
        let expression = expression.stdin_null().stderr_to_stdout().unchecked();
        #[cfg(target_os = "linux")]
        let expression = expression.before_spawn(|command| {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe, and the closure touches nothing else.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            Ok(())
        });
        let handle = Arc::new(expression.reader()?);
        let pid = handle.pids().first().copied().unwrap_or_default();
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let reader = {
            let (handle, tail, label) = (Arc::clone(&handle), Arc::clone(&tail), label.clone());
            thread::spawn(move || {
                let mut lines = BufReader::new(&*handle);
                let mut line = Vec::new();
                while let Ok(n) = lines.read_until(b'\n', &mut line) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']);
                    ui.child_line(&format!("[{label}] {text}"));
                    let mut tail = tail.lock().unwrap();
                    if tail.len() == TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(ui.redactor().redact(text));
                    line.clear();
                }
            })
        };
        Ok(Background { label, handle, pid, tail, reader: Some(reader) })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit status once the process has ended (it is reaped then).
    pub fn try_wait(&self) -> Option<ExitStatus> {
        match self.handle.try_wait() {
            Ok(Some(output)) => Some(output.status),
            _ => None,
        }
    }

    /// Sends `signal` unless the process has already ended (its pid may belong to another
    /// process by now).
    pub fn signal(&self, signal: i32) {
        if self.try_wait().is_none() && self.pid != 0 {
            // SAFETY: kill(2) with a pid we started and have not reaped.
            unsafe {
                libc::kill(self.pid as libc::pid_t, signal);
            }
        }
    }

    pub fn kill(&self) {
        let _ = self.handle.kill();
    }

    /// Waits up to `timeout` for the process to end.
    #[cfg(test)]
    pub fn wait_for(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines it printed (redacted), oldest first. Call after it ended to get all of
    /// them: waits briefly for the output still in the pipe.
    pub fn tail(&mut self) -> Vec<String> {
        if self.try_wait().is_some()
            && let Some(reader) = self.reader.take()
        {
            let deadline = Instant::now() + Duration::from_secs(2);
            while !reader.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        self.tail.lock().unwrap().iter().cloned().collect()
    }
}

/// "exit code 1", "signal 9 (SIGKILL)": how a process ended, in words.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}{}", signal_name(signal)),
        (None, None) => "an unknown status".to_owned(),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => " (SIGHUP)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGABRT => " (SIGABRT)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Cmd, Runner};
    use xshell::{Shell, cmd};

    #[test]
    fn a_background_process_streams_labelled_lines_and_reports_how_it_ended() {
        let sh = Shell::new().unwrap();
        let (ui, _out, err) = Ui::capture(false, false);
        let runner = Runner::new(ui, false);
        let script = "echo ready; echo oops >&2; exit 3";
        let mut child = runner.spawn(Cmd::from(cmd!(sh, "sh -c {script}")).label("svc")).unwrap().unwrap();
        let status = child.wait_for(Duration::from_secs(20)).expect("the script ends");
        assert_eq!(describe_exit(status), "exit code 3");
        assert_eq!(child.tail(), ["ready", "oops"]);
        assert!(err.text().contains("│ [svc] ready"), "{}", err.text());
    }

    #[test]
    fn a_signal_stops_it_and_a_dry_run_starts_nothing() {
        let sh = Shell::new().unwrap();
        let (ui, _out, _err) = Ui::capture(false, false);
        let child = Runner::new(ui.clone(), false).spawn(Cmd::from(cmd!(sh, "sleep 30"))).unwrap().unwrap();
        assert!(child.try_wait().is_none());
        child.signal(libc::SIGTERM);
        let status = child.wait_for(Duration::from_secs(20)).expect("SIGTERM ends sleep");
        assert_eq!(describe_exit(status), "signal 15 (SIGTERM)");
        assert!(Runner::new(ui, true).spawn(Cmd::from(cmd!(sh, "sleep 30"))).unwrap().is_none());
    }
}
