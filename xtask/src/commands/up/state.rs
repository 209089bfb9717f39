//! `target/xtask/up.json`: which `up` runs, its servers' pids and ports, and its URL, so a second
//! `up` can point at the first instead of failing on a busy port.
//!
//! The file is created exclusively (`create_new`), which also makes two `up`s started at once
//! agree on who runs. A record whose `up` process is gone (killed with SIGKILL, machine
//! restarted) is stale and replaced; so is one whose pid is alive but whose URL no longer answers
//! (the pid was reused by another program).

use std::fs;
use std::io::Write;

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::probe;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Servers starting, not ready yet.
    Starting,
    /// Both ready; `url` serves the app.
    Running,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Server {
    pub pid: u32,
    pub port: u16,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpState {
    /// The `cargo xtask up` process.
    pub pid: u32,
    pub status: Status,
    pub url: String,
    pub api: Option<Server>,
    pub web: Option<Server>,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
}

impl UpState {
    /// Every pid the record names: `up` itself, then its servers.
    pub fn pids(&self) -> String {
        let mut pids = vec![format!("up {}", self.pid)];
        if let Some(api) = &self.api {
            pids.push(format!("todo-api {}", api.pid));
        }
        if let Some(web) = &self.web {
            pids.push(format!("todo-web {}", web.pid));
        }
        pids.join(", ")
    }
}

/// What a recorded `up` is doing, as far as this machine can tell.
pub enum Existing {
    None,
    Live(UpState),
    Stale { state: UpState, why: String },
}

pub struct StateFile {
    path: Utf8PathBuf,
}

impl StateFile {
    pub fn new(state_dir: &Utf8Path) -> StateFile {
        StateFile { path: state_dir.join("up.json") }
    }

    pub fn path(&self) -> &Utf8Path {
        &self.path
    }

    pub fn inspect(&self) -> Existing {
        let Ok(text) = fs::read_to_string(&self.path) else { return Existing::None };
        let Ok(state) = serde_json::from_str::<UpState>(&text) else {
            return Existing::Stale {
                state: UpState {
                    pid: 0,
                    status: Status::Starting,
                    url: String::new(),
                    api: None,
                    web: None,
                    started_at: 0,
                },
                why: format!("{} is unreadable", self.path),
            };
        };
        if !process_alive(state.pid) {
            let why = format!("its process {} is gone", state.pid);
            return Existing::Stale { state, why };
        }
        let web_answers = state.web.as_ref().is_some_and(|web| probe::port_answers(web.port));
        if state.status == Status::Running && !web_answers {
            let why =
                format!("pid {} is alive but {} does not answer (the pid was reused)", state.pid, state.url);
            return Existing::Stale { state, why };
        }
        Existing::Live(state)
    }

    /// Claims the file for this process; `false` if another `up` holds it.
    pub fn claim(&self, state: &UpState) -> Result<bool> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
        }
        let mut file = match fs::OpenOptions::new().write(true).create_new(true).open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(err) => return Err(err).with_context(|| format!("cannot create {}", self.path)),
        };
        file.write_all(&serde_json::to_vec_pretty(state)?)
            .with_context(|| format!("cannot write {}", self.path))?;
        Ok(true)
    }

    /// Rewrites the claimed file (write, then rename over it).
    pub fn update(&self, state: &UpState) -> Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(state)?).with_context(|| format!("cannot write {tmp}"))?;
        fs::rename(&tmp, &self.path).with_context(|| format!("cannot write {}", self.path))
    }

    pub fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether a process with this pid exists (EPERM: it does, owned by someone else).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pid: u32, status: Status, web_port: u16) -> UpState {
        UpState {
            pid,
            status,
            url: format!("http://127.0.0.1:{web_port}"),
            api: Some(Server { pid: 1, port: 1 }),
            web: Some(Server { pid: 2, port: web_port }),
            started_at: 0,
        }
    }

    #[test]
    fn only_one_claim_wins_and_a_dead_pid_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(Utf8Path::from_path(dir.path()).unwrap());
        assert!(matches!(file.inspect(), Existing::None));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mine = state(std::process::id(), Status::Running, port);
        assert!(file.claim(&mine).unwrap());
        assert!(!file.claim(&mine).unwrap(), "a second claim loses");
        assert!(matches!(file.inspect(), Existing::Live(_)));

        drop(listener);
        assert!(
            matches!(file.inspect(), Existing::Stale { .. }),
            "a running record whose URL is dead is stale"
        );

        // A pid that cannot exist (above the kernel's pid_max).
        file.update(&state(u32::MAX / 2, Status::Starting, port)).unwrap();
        match file.inspect() {
            Existing::Stale { why, .. } => assert!(why.contains("is gone"), "{why}"),
            _ => panic!("a dead pid is stale"),
        }
        file.remove();
        assert!(matches!(file.inspect(), Existing::None));
    }
}
