//! Stopping a command together with everything it started: a timed-out `cargo test` must not leave
//! its test binary, the servers that test started, or a browser holding ports and CPU.
//!
//! Children stay in xtask's process group, so Ctrl-C in the terminal still reaches all of them
//! directly; the tree is found through `/proc` instead.

use std::process::Child;

/// Kills `child` and, on Linux, every process descended from it; then reaps `child`.
pub fn kill(child: &mut Child) {
    #[cfg(target_os = "linux")]
    {
        let root = child.id() as libc::pid_t;
        // Frozen first, so nothing forks a process the second look would miss.
        let mut frozen = Vec::new();
        for _ in 0..3 {
            let tree = descendants(root);
            let fresh: Vec<libc::pid_t> = tree.into_iter().filter(|pid| !frozen.contains(pid)).collect();
            if fresh.is_empty() {
                break;
            }
            for &pid in &fresh {
                signal(pid, libc::SIGSTOP);
            }
            frozen.extend(fresh);
        }
        for &pid in &frozen {
            signal(pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends SIGTERM to each process this one started (directly or not) whose command line `matches`;
/// whether there was one. Off Linux, where the tree is not read, there never is.
pub fn terminate_descendants(matches: impl Fn(&[String]) -> bool) -> bool {
    #[cfg(target_os = "linux")]
    {
        let mut found = false;
        for pid in descendants(std::process::id() as libc::pid_t) {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
            let argv: Vec<String> = raw
                .split(|byte| *byte == 0)
                .filter(|arg| !arg.is_empty())
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect();
            if matches(&argv) {
                signal(pid, libc::SIGTERM);
                found = true;
            }
        }
        found
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = matches;
        false
    }
}

#[cfg(target_os = "linux")]
fn signal(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory effects; a pid that has exited just makes it fail.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Every live process below `root`, parents before their children.
#[cfg(target_os = "linux")]
fn descendants(root: libc::pid_t) -> Vec<libc::pid_t> {
    let mut children: std::collections::HashMap<libc::pid_t, Vec<libc::pid_t>> = Default::default();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<libc::pid_t>().ok()) else {
            continue;
        };
        if let Some(parent) =
            std::fs::read_to_string(entry.path().join("stat")).ok().and_then(|s| parent_of(&s))
        {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut next = vec![root];
    while let Some(pid) = next.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            found.push(child);
            next.push(child);
        }
    }
    found
}

/// The parent pid in a `/proc/PID/stat` line: `pid (comm) state ppid ...`, where comm may hold
/// spaces and parentheses, so the fields are counted from the last `)`.
fn parent_of(stat: &str) -> Option<i32> {
    let (_, after) = stat.rsplit_once(')')?;
    after.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_pid_is_read_past_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(parent_of("4242 (cargo) S 4200 4242 4200 0 -1"), Some(4200));
        assert_eq!(parent_of("77 (a (weird) name) R 1 77 77 0 -1"), Some(1));
        assert_eq!(parent_of("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_killed_command_takes_its_grandchildren_with_it() {
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};

        // sh starts a sleep in the background and waits: the sleep is a grandchild of this test.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 300 & echo $!; wait"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line)
            .unwrap();
        let grandchild: libc::pid_t = line.trim().parse().unwrap();
        assert!(descendants(child.id() as libc::pid_t).contains(&grandchild));

        kill(&mut child);
        let deadline = Instant::now() + Duration::from_secs(10);
        // Reparented to init (or a subreaper) and reaped there: gone, or at least a zombie.
        let alive = || {
            std::fs::read_to_string(format!("/proc/{grandchild}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
            })
        };
        while alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(), "the grandchild {grandchild} outlived the kill");
    }
}
