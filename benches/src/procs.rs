//! Processes a benchmark starts, and their resident memory.
//!
//! [`Group`] runs a command as the leader of its own process group and
//! signals the whole group (SIGTERM, then SIGKILL) when stopped or dropped,
//! so nothing a run started survives it. [`group_rss_kib`] sums the VmRSS of
//! every live process of a group, read from `/proc`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A child process leading its own process group.
#[derive(Debug)]
pub struct Group {
    name: String,
    child: Option<Child>,
}

impl Group {
    /// Spawns `cmd` in a new process group, stdout and stderr appended to
    /// `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt as _;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening log {}", log.display()))?;
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self {
            name: name.to_string(),
            child: Some(child),
        })
    }

    /// The leader's pid (also the process group id).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the leader has not exited.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM to the group, up to 10 s for the leader to exit, then
    /// SIGKILL to the group. Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        signal("TERM", &group);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                // The leader is gone; make sure no member lingers.
                signal("KILL", &group);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} ignored SIGTERM: killing its process group", self.name);
        signal("KILL", &group);
        let _ = child.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `kill -SIG -- TARGET` (a negative target is a process group).
fn signal(sig: &str, target: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), "--", target])
        .stderr(Stdio::null())
        .status();
}

/// VmRSS of `pid` in KiB, if it is alive.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The process group of `pid`, from `/proc/PID/stat`.
fn pgid_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// Live members of process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pgid_of(pid) == Some(pgid))
        .collect()
}

/// Sum of VmRSS over process group `pgid`, KiB, and how many processes.
pub fn group_rss_kib(pgid: u32) -> (u64, usize) {
    let members = group_members(pgid);
    let sum = members.iter().filter_map(|&p| rss_kib(p)).sum();
    (sum, members.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_rss_and_a_group() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        let pgid = pgid_of(me).unwrap();
        assert!(group_members(pgid).contains(&me));
        assert!(group_rss_kib(pgid).0 > 0);
    }

    #[test]
    fn stop_kills_the_whole_group() {
        let dir = std::env::temp_dir().join(format!("procs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30"]);
        let mut g = Group::spawn("sleepers", cmd, &dir.join("log")).unwrap();
        let pgid = g.pid().unwrap();
        let t0 = Instant::now();
        while group_members(pgid).len() < 3 && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(group_members(pgid).len(), 3);
        assert!(g.running());
        g.stop();
        // Orphaned members are reaped by init shortly after the kill.
        let t0 = Instant::now();
        while !group_members(pgid).is_empty() && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(group_members(pgid).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
