//! The real `cargo xtask up` as a test starts it: the xtask binary with `up --port 0`, in a state
//! directory of its own (so it never meets a developer's running `up`), its stdout read for the
//! URL it prints when both servers are ready, its stderr kept in a file for failure messages.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A first `up` compiles todo-api and todo-web (minutes on a loaded 2-core machine).
pub const START_TIMEOUT: Duration = Duration::from_secs(20 * 60);

pub struct Up {
    child: Child,
    pub url: String,
    pub state_dir: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Up {
    /// Starts `up` with `args` after the subcommand and waits for its URL.
    pub fn start(args: &[&str]) -> Up {
        Up::start_xtask(&[&["up"], args].concat(), &[])
    }

    /// Starts xtask with `args` (a command that ends in `up`'s local stack, e.g. `demo`) and `env`,
    /// and waits for the URL it prints.
    pub fn start_xtask(args: &[&str], env: &[(&str, &str)]) -> Up {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join("state");
        let stderr = dir.path().join("up.stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .envs(env.iter().copied())
            .env("XTASK_STATE_DIR", &state_dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let url = loop {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(line) if line.starts_with("http://") => break line,
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Some(status) = child.try_wait().unwrap() {
                        panic!("`up` exited with {status} before printing its URL:\n{}", read(&stderr));
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("`up` printed no URL within {START_TIMEOUT:?}:\n{}", read(&stderr));
                }
            }
        };
        Up { child, url, state_dir, stderr, _dir: dir }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The state file `up` wrote: its servers' pids and ports.
    pub fn state(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.state_dir.join("up.json")).unwrap()).unwrap()
    }

    pub fn server_pid(&self, server: &str) -> u32 {
        self.state()[server]["pid"].as_u64().unwrap() as u32
    }

    pub fn stderr(&self) -> String {
        read(&self.stderr)
    }

    /// Sends `signal` to `up` itself (not its process group), as `kill -INT <pid>` would.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on a child we have not reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
    }

    /// Waits for `up` to exit; its exit code and everything it printed on stderr.
    pub fn wait(mut self, timeout: Duration) -> (Option<i32>, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), read(&self.stderr));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("`up` did not exit within {timeout:?}:\n{}", read(&self.stderr));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // A failed test must not leave servers behind: SIGTERM lets `up` stop them.
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(20);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
        }
    }
}

/// Whether a process with `pid` still exists (a zombie counts as gone: it no longer runs).
pub fn process_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or_default().trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
