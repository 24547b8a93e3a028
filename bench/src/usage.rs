//! What another process costs, read from `/proc/<pid>`: resident memory, its peak, and CPU time.
//!
//! Linux only. The peak (`VmHWM`) can be reset through `/proc/<pid>/clear_refs`, which lets the
//! benchmark attribute the peak to a phase (running or downloading); where the kernel refuses,
//! the phases are not told apart but the overall peak is still right.

use std::fs;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::unistd::{SysconfVar, sysconf};

/// One process, named by its id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Process {
    pub(crate) pid: u32,
}

impl Process {
    /// Resident memory now, in bytes (`VmRSS`).
    pub(crate) fn rss(self) -> anyhow::Result<u64> {
        self.status_bytes("VmRSS:")
    }

    /// Resident memory now split into anonymous memory (heap, stacks) and file-backed pages (mostly
    /// the binary itself), in bytes (`RssAnon`, `RssFile`).
    pub(crate) fn rss_parts(self) -> anyhow::Result<(u64, u64)> {
        Ok((self.status_bytes("RssAnon:")?, self.status_bytes("RssFile:")?))
    }

    /// The highest resident memory since start or the last [`Process::reset_peak`] (`VmHWM`).
    pub(crate) fn peak_rss(self) -> anyhow::Result<u64> {
        self.status_bytes("VmHWM:")
    }

    /// Sets the peak back to the current resident memory; false when the kernel refuses.
    pub(crate) fn reset_peak(self) -> bool {
        // Writing 5 resets VmHWM and nothing else (Linux 4.0+).
        fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// User plus system CPU time of all its threads, living and exited.
    pub(crate) fn cpu_time(self) -> anyhow::Result<Duration> {
        let path = format!("/proc/{}/stat", self.pid);
        let stat = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let ticks = cpu_ticks(&stat).with_context(|| format!("unexpected {path}: {stat}"))?;
        let per_second = sysconf(SysconfVar::CLK_TCK)
            .context("reading the clock tick rate")?
            .and_then(|rate| u64::try_from(rate).ok())
            .filter(|rate| *rate > 0)
            .context("the system reports no clock tick rate")?;
        Ok(Duration::from_secs_f64(ticks as f64 / per_second as f64))
    }

    fn status_bytes(self, field: &str) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let status = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        match status_kib(&status, field) {
            Some(kib) => Ok(kib * 1024),
            None => bail!("{path} has no {field} line"),
        }
    }
}

/// The value in KiB of a `Name:   123 kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// `utime + stime` from `/proc/<pid>/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`: utime and stime are fields 14 and 15.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_kib_reads_the_named_line() {
        let status = "Name:\tdashi\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(204_800));
        assert_eq!(status_kib(status, "VmRSS:"), Some(102_400));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn cpu_ticks_counts_fields_after_an_odd_command_name() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 1 2 3";
        assert_eq!(cpu_ticks(stat), Some(325));
    }

    #[test]
    fn this_process_has_a_peak_at_least_its_resident_memory() {
        let this = Process { pid: std::process::id() };
        let resident = this.rss().expect("VmRSS");
        let (anonymous, file_backed) = this.rss_parts().expect("RssAnon and RssFile");
        assert!(anonymous + file_backed <= resident + 1024 * 1024, "{anonymous} + {file_backed} vs {resident}");
        assert!(this.peak_rss().expect("VmHWM") >= resident);
        assert!(this.cpu_time().is_ok());
    }
}
