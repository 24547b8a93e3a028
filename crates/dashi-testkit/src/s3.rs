//! An S3-compatible server owned by this test process: moto's `moto_server`.
//!
//! No real S3 server (MinIO, Ceph, Garage) is packaged where the tests run, so the results-bucket
//! tests talk to moto, an emulator of the S3 REST API that speaks the same signed HTTP requests.
//! `cargo xtask test` installs it into a virtual environment and names the program in
//! [`MOTO_SERVER_VAR`]. Buckets live in the server's memory and vanish with it.

use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::{self, Watchdog};

/// The variable naming the `moto_server` program (set by `cargo xtask test`).
pub const MOTO_SERVER_VAR: &str = "DASHI_TEST_MOTO_SERVER";

/// How long the server may take to answer HTTP after it was started (Python imports are slow).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts to find a port nobody else grabs between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 8;
/// Lines of the server log quoted in error messages.
const LOG_LINES: usize = 30;

/// An S3 endpoint on 127.0.0.1 at [`S3Server::endpoint`]. Dropping it kills the server.
#[derive(Debug)]
pub struct S3Server {
    port: u16,
    server: Option<Child>,
    watchdog: Option<Watchdog>,
    /// Removed on drop, after the server is gone; keep it the last field.
    _dir: TempDir,
}

impl S3Server {
    /// Starts `moto_server` on a free port and waits until it answers HTTP.
    pub async fn start() -> anyhow::Result<S3Server> {
        let program = find_moto_server()?;
        let dir = tempfile::Builder::new().prefix("dashi-s3-").tempdir().context("creating a folder for moto")?;
        let log_path = dir.path().join("moto.log");
        for attempt in 1..=PORT_ATTEMPTS {
            let port = process::free_port().context("finding a free port for moto")?;
            let log_offset = process::file_len(&log_path);
            let log = fs::OpenOptions::new().create(true).append(true).open(&log_path).context("opening the moto log")?;
            let log_for_stderr = log.try_clone().context("opening the moto log")?;
            let mut server = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_for_stderr)
                .spawn()
                .with_context(|| format!("starting {}", program.display()))?;
            let watchdog = Watchdog::arm(r#"kill -KILL "$1" 2>/dev/null"#, &[OsStr::new(&server.id().to_string())]);
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
                if let Some(status) = server.try_wait().context("watching moto_server")? {
                    watchdog.disarm();
                    let log = process::log_tail_from(&log_path, log_offset, LOG_LINES);
                    if log.contains("Address already in use") && attempt < PORT_ATTEMPTS {
                        break;
                    }
                    bail!("moto_server exited during start-up ({status}); log:\n{log}");
                }
                if http(port, "GET", "/").await.is_ok() {
                    return Ok(S3Server { port, server: Some(server), watchdog: Some(watchdog), _dir: dir });
                }
                if Instant::now() >= deadline {
                    let _ = server.kill();
                    let _ = server.wait();
                    watchdog.disarm();
                    let log = process::log_tail_from(&log_path, log_offset, LOG_LINES);
                    bail!("moto_server did not answer on port {port} within {START_TIMEOUT:?}; log:\n{log}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        bail!("moto_server found no free port in {PORT_ATTEMPTS} attempts")
    }

    /// `http://127.0.0.1:<port>`: the endpoint to give an S3 client (path-style requests).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto accepts unsigned requests).
    pub async fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        let status = http(self.port, "PUT", &format!("/{name}")).await?;
        if status != 200 {
            bail!("creating bucket {name}: HTTP {status}");
        }
        Ok(())
    }

    /// The keys of every object in `bucket` (up to 1,000, enough for a test).
    pub async fn list_keys(&self, bucket: &str) -> anyhow::Result<Vec<String>> {
        let body = http_body(self.port, "GET", &format!("/{bucket}")).await?;
        Ok(body.split("<Key>").skip(1).filter_map(|rest| rest.split("</Key>").next()).map(str::to_owned).collect())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
    }
}

/// One HTTP/1.0 request without a body; the status code.
async fn http(port: u16, method: &str, path: &str) -> anyhow::Result<u16> {
    let response = exchange(port, method, path).await?;
    let status = response.split_whitespace().nth(1).context("no HTTP status line")?;
    status.parse().with_context(|| format!("bad HTTP status {status:?}"))
}

/// One HTTP/1.0 GET-like request; the body of a 200 answer.
async fn http_body(port: u16, method: &str, path: &str) -> anyhow::Result<String> {
    let response = exchange(port, method, path).await?;
    let (head, body) = response.split_once("\r\n\r\n").context("no end of HTTP headers")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        bail!("{method} {path}: {}", head.lines().next().unwrap_or_default());
    }
    Ok(body.to_owned())
}

async fn exchange(port: u16, method: &str, path: &str) -> anyhow::Result<String> {
    let request = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let head = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n");
        stream.write_all(head.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(String::from_utf8_lossy(&response).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(10), request).await.context("no HTTP answer within 10 s")?
}

/// The `moto_server` program: [`MOTO_SERVER_VAR`], else the first on `PATH`.
fn find_moto_server() -> anyhow::Result<PathBuf> {
    if let Some(program) = std::env::var_os(MOTO_SERVER_VAR) {
        return Ok(PathBuf::from(program));
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).map(|dir| dir.join("moto_server")).collect::<Vec<_>>())
        .find(|candidate| candidate.is_file())
        .with_context(|| {
            format!(
                "moto_server not found: `cargo xtask test` installs it from tests/python-requirements.txt \
                 and sets {MOTO_SERVER_VAR}"
            )
        })
}
