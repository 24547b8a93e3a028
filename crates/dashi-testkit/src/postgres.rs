//! A PostgreSQL server owned by this test process, from the Debian `postgresql` package.
//!
//! `initdb` and `postgres` refuse to run as root, and tests here usually do: then the data folder
//! belongs to the `postgres` account and every server binary runs through `runuser -u postgres`.
//! The server trades durability for speed (`fsync=off` and friends): a test database never needs
//! to survive a machine crash, only a server restart, which a clean shutdown still guarantees.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

use crate::process::{self, Watchdog};

/// How long a server may take to accept connections after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a shutdown may take before we escalate (fast, then immediate) or give up.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts to find a port nobody else grabs between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 8;
/// Lines of the server log quoted in error messages.
const LOG_LINES: usize = 30;

/// A PostgreSQL server this process owns, listening on 127.0.0.1 at [`PgServer::port`].
///
/// Fault tests may [`stop`](PgServer::stop) and [`restart`](PgServer::restart) it; the port and
/// the data survive a restart. Dropping it stops the server (fast shutdown) and removes its
/// folder. Authentication is `trust`: any client on the machine may connect as `postgres`.
#[derive(Debug)]
pub struct PgServer {
    binaries: Binaries,
    port: u16,
    data_dir: PathBuf,
    log_path: PathBuf,
    /// The running server (`postgres`, or `runuser` waiting on it); `None` while stopped.
    postmaster: Option<Child>,
    watchdog: Option<Watchdog>,
    /// Removed on drop, after the server has stopped; keep it the last field.
    dir: TempDir,
}

impl PgServer {
    /// Creates a fresh cluster in a temporary folder and starts it on a free port.
    ///
    /// Fails with a message naming the missing Debian package when PostgreSQL is not installed,
    /// and with the server log's tail when it does not come up.
    pub async fn start() -> anyhow::Result<PgServer> {
        let binaries = Binaries::find()?;
        let dir = tempfile::Builder::new()
            .prefix("dashi-pg-")
            .tempdir()
            .context("creating a temporary folder for PostgreSQL")?;
        if let Some(user) = binaries.run_as {
            std::os::unix::fs::chown(dir.path(), Some(user.uid), Some(user.gid))
                .context("giving the PostgreSQL folder to the postgres user")?;
        }
        let data_dir = dir.path().join("data");
        let log_path = dir.path().join("postgres.log");

        let mut initdb = binaries.command("initdb");
        initdb
            .arg("-D")
            .arg(&data_dir)
            .args(["-A", "trust", "-U", "postgres", "-N", "--no-instructions"])
            .args(["-E", "UTF8", "--no-locale"])
            .current_dir(dir.path());
        let output =
            tokio::process::Command::from(initdb).output().await.context("running initdb")?;
        if !output.status.success() {
            bail!(
                "initdb failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }

        let watchdog = binaries.arm_watchdog(&data_dir, dir.path())?;
        let mut server = PgServer {
            binaries,
            port: 0,
            data_dir,
            log_path,
            postmaster: None,
            watchdog: Some(watchdog),
            dir,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            server.port = process::free_port().context("finding a free port for PostgreSQL")?;
            match server.launch().await {
                Ok(()) => return Ok(server),
                Err(Launch::PortTaken) if attempt < PORT_ATTEMPTS => continue,
                Err(Launch::PortTaken) => {
                    bail!("PostgreSQL found no free port in {PORT_ATTEMPTS} attempts")
                }
                Err(Launch::Failed(error)) => return Err(error),
            }
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`: the superuser on the maintenance database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The TCP port on 127.0.0.1; it stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server with a fast shutdown (open sessions are disconnected, committed data
    /// kept). Does nothing if it is already stopped.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if self.postmaster.is_none() {
            return Ok(());
        }
        let fast = tokio::process::Command::from(self.pg_ctl_stop("fast"))
            .output()
            .await
            .context("running pg_ctl stop")?;
        if self.wait_for_exit(STOP_TIMEOUT).await? {
            return Ok(());
        }
        // A fast shutdown should never hang with fsync off; if it does, leave no server behind.
        let _ = tokio::process::Command::from(self.pg_ctl_stop("immediate")).output().await;
        let stopped = self.wait_for_exit(STOP_TIMEOUT).await?;
        bail!(
            "PostgreSQL did not stop within {STOP_TIMEOUT:?} (pg_ctl: {}{}); an immediate \
             shutdown {}; log:\n{}",
            String::from_utf8_lossy(&fast.stdout),
            String::from_utf8_lossy(&fast.stderr),
            if stopped { "stopped it" } else { "did not stop it either" },
            process::log_tail(&self.log_path, LOG_LINES)
        )
    }

    /// Stops the server (if running) and starts it again on the same port with the same data.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        match self.launch().await {
            Ok(()) => Ok(()),
            Err(Launch::PortTaken) => bail!(
                "PostgreSQL cannot restart: another process took port {} while it was stopped",
                self.port
            ),
            Err(Launch::Failed(error)) => Err(error),
        }
    }

    /// Starts the postmaster on `self.port` and waits until it accepts connections.
    async fn launch(&mut self) -> Result<(), Launch> {
        let log_offset = process::file_len(&self.log_path);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .context("opening the PostgreSQL log")?;
        let log_for_stderr = log.try_clone().context("opening the PostgreSQL log")?;
        let port = self.port.to_string();
        let mut command = self.binaries.command("postgres");
        command
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-p", &port, "-k"])
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200", "-c", "logging_collector=off"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr);
        self.postmaster = Some(command.spawn().context("starting postgres")?);

        let url = self.admin_url();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.exit_status()? {
                let log = process::log_tail_from(&self.log_path, log_offset, LOG_LINES);
                if log.contains("Address already in use") {
                    return Err(Launch::PortTaken);
                }
                return Err(Launch::Failed(anyhow::anyhow!(
                    "postgres exited during start-up ({status}); log:\n{log}"
                )));
            }
            let attempt = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url));
            let last_error = match attempt.await {
                Ok(Ok(connection)) => {
                    let _ = connection.close().await;
                    return Ok(());
                }
                Ok(Err(error)) => error.to_string(),
                Err(_) => "connection attempt timed out".to_owned(),
            };
            if Instant::now() >= deadline {
                let _ = tokio::process::Command::from(self.pg_ctl_stop("immediate")).output().await;
                let _ = self.wait_for_exit(STOP_TIMEOUT).await;
                let log = process::log_tail_from(&self.log_path, log_offset, LOG_LINES);
                return Err(Launch::Failed(anyhow::anyhow!(
                    "PostgreSQL did not accept connections on port {} within {START_TIMEOUT:?} \
                     (last error: {last_error}); log:\n{log}",
                    self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The postmaster's exit status once it has exited (and is forgotten), `None` while it runs
    /// or when none was started.
    fn exit_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        let Some(postmaster) = self.postmaster.as_mut() else {
            return Ok(None);
        };
        let status = postmaster.try_wait().context("watching postgres")?;
        if status.is_some() {
            self.postmaster = None;
        }
        Ok(status)
    }

    /// Waits until the postmaster has exited; false if it still runs after `timeout`.
    async fn wait_for_exit(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        let deadline = Instant::now() + timeout;
        while self.postmaster.is_some() {
            if self.exit_status()?.is_some() {
                break;
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(true)
    }

    fn pg_ctl_stop(&self, mode: &str) -> Command {
        let mut command = self.binaries.command("pg_ctl");
        command
            .arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", mode, "-w", "-t", "30"])
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let quiet = |mut command: Command| {
            let _ = command.stdout(Stdio::null()).stderr(Stdio::null()).status();
        };
        let mut stopped = true;
        if let Some(mut postmaster) = self.postmaster.take() {
            quiet(self.pg_ctl_stop("fast"));
            stopped = process::wait_for_exit(&mut postmaster, STOP_TIMEOUT);
            if !stopped {
                quiet(self.pg_ctl_stop("immediate"));
                stopped = process::wait_for_exit(&mut postmaster, STOP_TIMEOUT);
            }
        }
        // If the server is somehow still up, the watchdog is dropped armed: that closes its pipe
        // and it tries once more to stop the server.
        if stopped && let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
    }
}

/// Why a start attempt failed: a port race is retried with another port, anything else is not.
enum Launch {
    PortTaken,
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Launch {
    fn from(error: anyhow::Error) -> Launch {
        Launch::Failed(error)
    }
}

/// Where the server binaries are and whom they run as.
#[derive(Debug, Clone)]
struct Binaries {
    /// `/usr/lib/postgresql/<newest major>/bin`.
    bin_dir: PathBuf,
    /// The `postgres` account when we are root (PostgreSQL refuses to run as root).
    run_as: Option<process::SystemUser>,
}

impl Binaries {
    fn find() -> anyhow::Result<Binaries> {
        let bin_dir = newest_bin_dir(Path::new("/usr/lib/postgresql"))?;
        let run_as = if process::is_root()? {
            let user = process::system_user("postgres")?.context(
                "running as root, PostgreSQL must run as the `postgres` user, which does not \
                 exist: install the Debian package `postgresql` (apt-get install -y postgresql)",
            )?;
            Some(user)
        } else {
            None
        };
        Ok(Binaries { bin_dir, run_as })
    }

    /// A command for `program` from the PostgreSQL binaries, as the right user.
    fn command(&self, program: &str) -> Command {
        let path = self.bin_dir.join(program);
        match self.run_as {
            Some(_) => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(path);
                command
            }
            None => Command::new(path),
        }
    }

    /// A watchdog that stops the cluster in `data_dir` and removes `dir` if this process dies.
    fn arm_watchdog(&self, data_dir: &Path, dir: &Path) -> anyhow::Result<Watchdog> {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let stop = r#""$1" stop -D "$2" -m immediate -w -t 30"#;
        let script = match self.run_as {
            Some(_) => format!(r#"runuser -u postgres -- {stop}; rm -rf "$3""#),
            None => format!(r#"{stop}; rm -rf "$3""#),
        };
        Watchdog::arm(&script, &[pg_ctl.as_os_str(), data_dir.as_os_str(), OsStr::new(dir)])
    }
}

/// The `bin` folder of the newest PostgreSQL major version installed under `root`.
fn newest_bin_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let missing = || {
        format!(
            "no PostgreSQL server binaries under {}/<version>/bin: install the Debian package \
             `postgresql` (apt-get install -y postgresql)",
            root.display()
        )
    };
    let entries = fs::read_dir(root).with_context(missing)?;
    let mut newest: Option<(u32, PathBuf)> = None;
    for entry in entries {
        let entry = entry.with_context(missing)?;
        let Some(major) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let bin_dir = entry.path().join("bin");
        if !bin_dir.join("postgres").is_file() || !bin_dir.join("initdb").is_file() {
            continue;
        }
        if newest.as_ref().is_none_or(|(best, _)| major > *best) {
            newest = Some((major, bin_dir));
        }
    }
    newest.map(|(_, bin_dir)| bin_dir).with_context(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_bin_dir_prefers_the_highest_major_version() {
        let root = tempfile::tempdir().expect("temporary folder");
        for version in ["9", "15", "13", "not-a-version"] {
            let bin_dir = root.path().join(version).join("bin");
            fs::create_dir_all(&bin_dir).expect("create bin folder");
            fs::write(bin_dir.join("postgres"), "").expect("write postgres");
            fs::write(bin_dir.join("initdb"), "").expect("write initdb");
        }
        // A newer major without server binaries (client-only package) is skipped.
        fs::create_dir_all(root.path().join("16").join("bin")).expect("create client-only folder");

        let found = newest_bin_dir(root.path()).expect("a bin folder");
        assert_eq!(found, root.path().join("15").join("bin"));
    }

    #[test]
    fn missing_postgres_names_the_debian_package() {
        let root = tempfile::tempdir().expect("temporary folder");
        let error = newest_bin_dir(&root.path().join("absent")).expect_err("nothing installed");
        assert!(format!("{error:#}").contains("`postgresql`"), "{error:#}");
    }
}
