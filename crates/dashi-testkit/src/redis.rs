//! A Redis server owned by this test process, from the Debian `redis-server` package.
//!
//! Nothing is persisted (`--save ''`, no append-only file): tests that need Redis to lose its
//! data call FLUSHALL or [`RedisServer::kill`] it, and the data folder only holds the log.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::{self, Watchdog};

/// How long a server may take to answer PING after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts to find a port nobody else grabs between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 8;
/// Lines of the server log quoted in error messages.
const LOG_LINES: usize = 30;

/// A Redis server this process owns, listening on 127.0.0.1 at [`RedisServer::port`] (and with
/// TLS at [`RedisServer::tls_url`] when started by [`RedisServer::start_tls`]).
///
/// Dropping it kills the server and removes its folder.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    password: Option<String>,
    tls_port: Option<u16>,
    server: Option<Child>,
    watchdog: Option<Watchdog>,
    /// Removed on drop, after the server is gone; keep it the last field.
    _dir: TempDir,
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits until it answers PING.
    ///
    /// Fails with a message naming the Debian package when Redis is not installed, and with the
    /// server log's tail when it does not come up.
    pub async fn start() -> anyhow::Result<RedisServer> {
        RedisServer::start_with(None).await
    }

    /// Starts `redis-server` as managed services run it: a password, and TLS on a second port
    /// with a certificate for `localhost` signed by a CA of its own ([`RedisServer::ca_file`];
    /// clients trust it through `SSL_CERT_FILE`). The plain port stays open, with the same
    /// password, for tests to look inside. Needs the `openssl` command.
    pub async fn start_tls(password: &str) -> anyhow::Result<RedisServer> {
        RedisServer::start_with(Some(password)).await
    }

    async fn start_with(password: Option<&str>) -> anyhow::Result<RedisServer> {
        let program = find_redis_server()?;
        let dir = tempfile::Builder::new()
            .prefix("dashi-redis-")
            .tempdir()
            .context("creating a temporary folder for Redis")?;
        if password.is_some() {
            make_certificates(dir.path())?;
        }
        let log_path = dir.path().join("redis.log");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = process::free_port().context("finding a free port for Redis")?;
            let tls_port = match password {
                Some(_) => Some(process::free_port().context("finding a free port for Redis TLS")?),
                None => None,
            };
            let log_offset = process::file_len(&log_path);
            let log =
                fs::OpenOptions::new().create(true).append(true).open(&log_path).context("opening the Redis log")?;
            let log_for_stderr = log.try_clone().context("opening the Redis log")?;
            let mut command = Command::new(&program);
            command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]).args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ]);
            if let (Some(password), Some(tls_port)) = (password, tls_port) {
                command
                    .args(["--requirepass", password, "--tls-port", &tls_port.to_string()])
                    .args(["--tls-cert-file", "server.pem", "--tls-key-file", "server.key"])
                    .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"]);
            }
            let mut server = command
                .arg("--dir")
                .arg(dir.path())
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_for_stderr)
                .spawn()
                .with_context(|| format!("starting {}", program.display()))?;
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
                if let Some(status) = server.try_wait().context("watching redis-server")? {
                    watchdog.disarm();
                    let log = process::log_tail_from(&log_path, log_offset, LOG_LINES);
                    if log.contains("Address already in use") && attempt < PORT_ATTEMPTS {
                        break;
                    }
                    bail!("redis-server exited during start-up ({status}); log:\n{log}");
                }
                let last_error = match ping(port, password).await {
                    Ok(()) => {
                        return Ok(RedisServer {
                            port,
                            password: password.map(str::to_owned),
                            tls_port,
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
                        "Redis did not answer PING on port {port} within {START_TIMEOUT:?} \
                         (last error: {last_error}); log:\n{log}"
                    );
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// `redis://127.0.0.1:<port>/0` (with the password, if any).
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// `rediss://:<password>@localhost:<tls port>/0` of a server from [`RedisServer::start_tls`].
    pub fn tls_url(&self) -> Option<String> {
        let (password, port) = (self.password.as_ref()?, self.tls_port?);
        Some(format!("rediss://:{password}@localhost:{port}/0"))
    }

    /// The CA certificate that signed the TLS port's certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self._dir.path().join("ca.pem")
    }

    /// Whether `key` exists, asked on the plain port.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let reply = exchange(self.port, self.password.as_deref(), format!("EXISTS {key}\r\n").as_bytes()).await?;
        match reply.as_slice() {
            b":1\r\n" => Ok(true),
            b":0\r\n" => Ok(false),
            other => bail!("unexpected reply to EXISTS {:?}", String::from_utf8_lossy(other)),
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends `FLUSHALL`: Redis forgets every key, as after a restart without persistence or a
    /// move to a new empty managed instance.
    pub async fn flush_all(&self) -> anyhow::Result<()> {
        let reply = exchange(self.port, self.password.as_deref(), b"FLUSHALL\r\n").await?;
        if reply != b"+OK\r\n" {
            bail!("unexpected reply to FLUSHALL {:?}", String::from_utf8_lossy(&reply));
        }
        Ok(())
    }

    /// Kills the server with SIGKILL (all data is lost) and waits for it to exit. Clients see
    /// connections drop and new ones refused. Does nothing if it is already dead.
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

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends `PING` over a plain TCP connection and expects `+PONG`.
async fn ping(port: u16, password: Option<&str>) -> anyhow::Result<()> {
    let reply = exchange(port, password, b"PING\r\n").await?;
    if reply != b"+PONG\r\n" {
        bail!("unexpected reply {:?}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}

/// Sends one inline command over a fresh TCP connection (after `AUTH` when there is a password)
/// and returns its one-line reply.
async fn exchange(port: u16, password: Option<&str>, command: &[u8]) -> anyhow::Result<Vec<u8>> {
    let talk = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        if let Some(password) = password {
            stream.write_all(format!("AUTH {password}\r\n").as_bytes()).await?;
            let mut ok = [0_u8; 5];
            stream.read_exact(&mut ok).await?;
            if &ok != b"+OK\r\n" {
                bail!("AUTH was refused: {:?}", String::from_utf8_lossy(&ok));
            }
        }
        stream.write_all(command).await?;
        let mut reply = Vec::new();
        let mut buffer = [0_u8; 64];
        while !reply.ends_with(b"\r\n") {
            let n_read = stream.read(&mut buffer).await?;
            if n_read == 0 {
                bail!("connection closed before a reply");
            }
            reply.extend_from_slice(&buffer[..n_read]);
        }
        Ok(reply)
    };
    tokio::time::timeout(Duration::from_secs(2), talk).await.context("no reply from Redis within 2 s")?
}

/// Writes `ca.pem`, and `server.pem` with `server.key` for `localhost` and 127.0.0.1 signed by it.
fn make_certificates(dir: &Path) -> anyhow::Result<()> {
    let openssl = |args: &[&str]| -> anyhow::Result<()> {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .context("running openssl (install the Debian package `openssl`)")?;
        if !output.status.success() {
            bail!("openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    };
    fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").context("writing server.ext")?;
    let ca = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dashi test CA"];
    openssl(&[&ca[..], &["-keyout", "ca.key", "-out", "ca.pem"]].concat())?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ])?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ])
}

/// The `redis-server` program: the first one on `PATH`, else Debian's.
fn find_redis_server() -> anyhow::Result<PathBuf> {
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join("redis-server")).collect())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/bin/redis-server")])
        .find(|candidate| is_executable(candidate))
        .context(
            "redis-server not found: install the Debian package `redis-server` \
             (apt-get install -y redis-server)",
        )
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}
