//! Plumbing for the server harnesses: free loopback ports, who we run as, log tails for error
//! messages, and the watchdog that cleans up after a test process that died abruptly.
//!
//! Every long-lived server is a `std::process::Child`, never a `tokio::process::Child`: each
//! `#[tokio::test]` builds and drops its own runtime, and a server shared by a whole test process
//! must not depend on a runtime that is gone.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A port on 127.0.0.1 that was free a moment ago. Another process may take it before the
/// server binds it, so callers retry with a new port when the server reports it in use.
pub(crate) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Whether this process runs with effective uid 0 (read from `/proc`, so no `unsafe` call).
pub(crate) fn is_root() -> anyhow::Result<bool> {
    let status = fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let uids = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .context("/proc/self/status has no Uid line")?;
    // Real, effective, saved and filesystem uid, in that order.
    let effective = uids.split_whitespace().nth(1).context("/proc/self/status: short Uid line")?;
    Ok(effective == "0")
}

/// A system account's numeric ids, from `/etc/passwd`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SystemUser {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// Looks `name` up in `/etc/passwd`; `None` when there is no such account.
pub(crate) fn system_user(name: &str) -> anyhow::Result<Option<SystemUser>> {
    let passwd = fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for line in passwd.lines() {
        let mut fields = line.split(':');
        if fields.next() != Some(name) {
            continue;
        }
        let mut ids = fields.skip(1);
        let uid = ids.next().and_then(|uid| uid.parse().ok());
        let gid = ids.next().and_then(|gid| gid.parse().ok());
        return match (uid, gid) {
            (Some(uid), Some(gid)) => Ok(Some(SystemUser { uid, gid })),
            _ => bail!("/etc/passwd: malformed entry for {name}"),
        };
    }
    Ok(None)
}

/// The last `n_lines` lines of a log file, for error messages; a note if it cannot be read.
pub(crate) fn log_tail(path: &Path, n_lines: usize) -> String {
    log_tail_from(path, 0, n_lines)
}

/// Like [`log_tail`], but ignores the first `offset` bytes (output of an earlier run).
pub(crate) fn log_tail_from(path: &Path, offset: u64, n_lines: usize) -> String {
    let read = || -> io::Result<String> {
        let mut file = fs::File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let first = lines.len().saturating_sub(n_lines);
            lines[first..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

/// The length of a file, or 0 if it does not exist yet.
pub(crate) fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|metadata| metadata.len()).unwrap_or(0)
}

/// Waits up to `timeout` for `child` to exit; false if it still runs. Blocking; for `Drop`.
pub(crate) fn wait_for_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// A helper process that runs a cleanup script once this process is gone.
///
/// Destructors do not run for statics (the per-process shared PostgreSQL server lives in one) nor
/// when a test process is killed, and a server left behind keeps its port, memory and folder. The
/// watchdog is a tiny `sh` that blocks reading a pipe whose only writer is this process. The
/// kernel closes that pipe however this process ends, even on SIGKILL, so the shell then sees
/// end-of-file and runs its cleanup (stop the server, remove its folder). It sits in its own
/// process group so that a Ctrl-C or a test runner's group kill aimed at the test process does
/// not take it down before it has cleaned up. Our pipes are close-on-exec, so no other child
/// inherits the write end and keeps the watchdog waiting. Orderly shutdown goes through
/// [`Watchdog::disarm`] instead, so the cleanup does not race with `Drop`.
#[derive(Debug)]
pub(crate) struct Watchdog {
    shell: Child,
}

impl Watchdog {
    /// Starts a watchdog that runs `script` (with `args` as `$1`, `$2`, …) when we are gone.
    pub(crate) fn arm(script: &str, args: &[&OsStr]) -> anyhow::Result<Watchdog> {
        let shell = Command::new("sh")
            .arg("-c")
            .arg(format!("while read -r _; do :; done; {script}"))
            .arg("dashi-testkit-watchdog")
            .args(args)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("starting the cleanup watchdog (sh)")?;
        Ok(Watchdog { shell })
    }

    /// Stops the watchdog without running its cleanup; the owner cleans up itself.
    pub(crate) fn disarm(mut self) {
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }
}
