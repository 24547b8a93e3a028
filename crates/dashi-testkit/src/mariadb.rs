//! A MariaDB server owned by this test process, from the Debian `mariadb-server` package.
//!
//! The data folder is made by `mariadb-install-db` in a temporary folder; the server listens on
//! 127.0.0.1 at a random free port, with durability traded for speed. As root, both run as the
//! `mysql` account (mariadbd drops to it itself). An init file creates the account tests use,
//! `dashi`/`dashi` with every privilege from any host, so nothing needs the root socket.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::process::{self, Watchdog};

/// How long a server may take to greet clients after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts to find a port nobody else grabs between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 8;
/// Lines of the server log quoted in error messages.
const LOG_LINES: usize = 30;
/// The account the init file creates.
const USER: &str = "dashi";
const PASSWORD: &str = "dashi";

/// A MariaDB server this process owns, listening on 127.0.0.1 at [`MariaDbServer::port`].
///
/// Dropping it kills the server and removes its folder.
#[derive(Debug)]
pub struct MariaDbServer {
    port: u16,
    server: Option<Child>,
    watchdog: Option<Watchdog>,
    /// Removed on drop, after the server is gone; keep it the last field.
    _dir: TempDir,
}

impl MariaDbServer {
    /// Creates a data folder and starts `mariadbd` on a free port, waiting for its greeting.
    ///
    /// Fails with a message naming the Debian package when MariaDB is not installed, and with
    /// the server log's tail when it does not come up.
    pub async fn start() -> anyhow::Result<MariaDbServer> {
        let binaries = Binaries::find()?;
        let dir = tempfile::Builder::new()
            .prefix("dashi-mariadb-")
            .tempdir()
            .context("creating a temporary folder for MariaDB")?;
        let data_dir = dir.path().join("data");
        let log_path = dir.path().join("mariadb.log");
        let init_path = dir.path().join("init.sql");
        fs::write(
            &init_path,
            format!(
                "CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';\n\
                 GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%' WITH GRANT OPTION;\n"
            ),
        )
        .context("writing the MariaDB init file")?;
        if let Some(user) = binaries.run_as {
            for path in [dir.path(), init_path.as_path()] {
                std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
                    .context("giving the MariaDB folder to the mysql user")?;
            }
        }

        let mut install = Command::new(&binaries.install_db);
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data_dir.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ])
            .current_dir(dir.path());
        if binaries.run_as.is_some() {
            install.arg("--user=mysql");
        }
        let output = tokio::process::Command::from(install)
            .output()
            .await
            .context("running mariadb-install-db")?;
        if !output.status.success() {
            bail!(
                "mariadb-install-db failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }

        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = process::free_port().context("finding a free port for MariaDB")?;
            let log_offset = process::file_len(&log_path);
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .context("opening the MariaDB log")?;
            let log_for_stderr = log.try_clone().context("opening the MariaDB log")?;
            let mut command = Command::new(&binaries.server);
            command
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data_dir.display()))
                .arg(format!(
                    "--socket={}",
                    dir.path().join("mariadb.sock").display()
                ))
                .arg(format!(
                    "--pid-file={}",
                    dir.path().join("mariadb.pid").display()
                ))
                .arg(format!("--init-file={}", init_path.display()))
                .arg(format!("--port={port}"))
                .args([
                    "--bind-address=127.0.0.1",
                    "--skip-name-resolve",
                    "--skip-log-bin",
                ])
                .args([
                    "--innodb-buffer-pool-size=32M",
                    "--innodb-flush-log-at-trx-commit=0",
                ])
                .args(["--innodb-doublewrite=0", "--max-connections=200"])
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_for_stderr);
            if binaries.run_as.is_some() {
                command.arg("--user=mysql");
            }
            let mut server = command
                .spawn()
                .with_context(|| format!("starting {}", binaries.server.display()))?;
            let watchdog = Watchdog::arm(
                r#"kill -KILL "$1" 2>/dev/null; rm -rf "$2""#,
                &[OsStr::new(&server.id().to_string()), dir.path().as_os_str()],
            );
            let watchdog = match watchdog {
                Ok(watchdog) => watchdog,
                Err(error) => {
                    let _ = server.kill();
                    let _ = server.wait();
                    return Err(error);
                }
            };

            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if let Some(status) = server.try_wait().context("watching mariadbd")? {
                    watchdog.disarm();
                    let log = process::log_tail_from(&log_path, log_offset, LOG_LINES);
                    let port_taken = log.contains("Address already in use")
                        || log.contains("Can't start server: Bind");
                    if port_taken && attempt < PORT_ATTEMPTS {
                        break;
                    }
                    bail!("mariadbd exited during start-up ({status}); log:\n{log}");
                }
                let last_error = match greeting(port).await {
                    Ok(()) => {
                        return Ok(MariaDbServer {
                            port,
                            server: Some(server),
                            watchdog: Some(watchdog),
                            _dir: dir,
                        });
                    }
                    Err(error) => format!("{error:#}"),
                };
                if Instant::now() >= deadline {
                    let _ = server.kill();
                    let _ = server.wait();
                    watchdog.disarm();
                    let log = process::log_tail_from(&log_path, log_offset, LOG_LINES);
                    bail!(
                        "MariaDB did not greet on port {port} within {START_TIMEOUT:?} \
                         (last error: {last_error}); log:\n{log}"
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// `mysql://dashi:dashi@127.0.0.1:<port>`: an account with every privilege, no database.
    pub fn url(&self) -> String {
        format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The account with every privilege.
    pub fn user(&self) -> &'static str {
        USER
    }

    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// Kills the server with SIGKILL and waits for it to exit. Does nothing if it is dead.
    pub fn kill(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads the server's first handshake packet (protocol version 10), sent before any login:
/// the server is ready once it greets.
async fn greeting(port: u16) -> anyhow::Result<()> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let mut header = [0_u8; 5];
        stream.read_exact(&mut header).await?;
        // Three bytes of length, one of sequence, then the protocol version (or 0xff: error).
        if header[4] != 10 {
            bail!("unexpected greeting byte {:#x}", header[4]);
        }
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .context("no greeting within 2 s")?
}

#[derive(Debug)]
struct Binaries {
    server: PathBuf,
    install_db: PathBuf,
    /// The `mysql` account when we are root (mariadbd refuses to run as root unless told).
    run_as: Option<process::SystemUser>,
}

impl Binaries {
    fn find() -> anyhow::Result<Binaries> {
        let missing = "MariaDB not found: install the Debian package `mariadb-server` \
                       (apt-get install -y mariadb-server)";
        let server =
            first_executable(&["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]).context(missing)?;
        let install_db =
            first_executable(&["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"])
                .context(missing)?;
        let run_as = if process::is_root()? {
            Some(process::system_user("mysql")?.context(
                "running as root, MariaDB must run as the `mysql` user, which does not exist: \
                 install the Debian package `mariadb-server`",
            )?)
        } else {
            None
        };
        Ok(Binaries {
            server,
            install_db,
            run_as,
        })
    }
}

fn first_executable(candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}
