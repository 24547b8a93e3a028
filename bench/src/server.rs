//! The `dashi` process under test: building it, starting it on a fresh data folder, setting it up
//! and driving it through Redash's API as a client would.
//!
//! Everything goes over real HTTP on loopback with the admin's API key, so a measurement includes
//! what a Redash client pays: the POST, polling the job, and reading the streamed body to its end.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::usage::Process;

/// How long `dashi` may take to log its address after start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one query may run before the benchmark gives up on it.
const JOB_TIMEOUT: Duration = Duration::from_secs(600);
/// How often the job is polled; small next to a run of a million rows.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// How long a graceful stop may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Log lines kept to explain a failure.
const LOG_LINES: usize = 40;
/// Redash's job status of a finished and of a failed job.
const JOB_SUCCEEDED: i64 = 3;
const JOB_FAILED: i64 = 4;

/// Builds `dashi` in release mode with the cargo that runs this benchmark and returns its path.
pub(crate) fn build_release() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "dashi", "--message-format=json-render-diagnostics"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        bail!("cargo build --release -p dashi failed ({})", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == "dashi")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .context("cargo built no `dashi` executable")
}

/// The end of one query run: when the job finished and which result it stored.
pub(crate) struct Run {
    pub(crate) elapsed: Duration,
    pub(crate) result_id: i64,
}

/// One body read to its end.
pub(crate) struct Download {
    pub(crate) elapsed: Duration,
    pub(crate) n_bytes: u64,
    pub(crate) n_lines: u64,
}

/// What the metadata database says about a stored result.
pub(crate) struct StoredResult {
    pub(crate) row_count: i64,
    /// Compressed size of the stored rows, in bytes.
    pub(crate) byte_size: i64,
}

/// A running `dashi` (every role in one process), set up with one admin.
pub(crate) struct Dashi {
    child: Child,
    base_url: String,
    http: reqwest::Client,
    api_key: String,
    log: Arc<Mutex<VecDeque<String>>>,
    data_dir: TempDir,
}

impl Dashi {
    /// Starts `binary` on a fresh data folder and a free port, creates the organization and its
    /// admin through `/setup`, and keeps the admin's API key for every later call.
    pub(crate) async fn start(binary: &Path) -> anyhow::Result<Dashi> {
        let data_dir = tempfile::Builder::new().prefix("dashi-bench-").tempdir().context("creating a data folder")?;
        let mut child = Command::new(binary)
            .env_clear()
            .env("DASHI_DATA_DIR", data_dir.path())
            .env("DASHI_BIND", "127.0.0.1:0")
            .env("DASHI_LOG_FORMAT", "json")
            .env("DASHI_LOG_LEVEL", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stderr = child.stderr.take().context("dashi's stderr is piped")?;
        let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_LINES)));
        let (address_sender, address) = tokio::sync::oneshot::channel();
        tokio::spawn(drain_log(stderr, Arc::clone(&log), address_sender));
        let address = match tokio::time::timeout(START_TIMEOUT, address).await {
            Ok(Ok(address)) => address,
            Ok(Err(_)) => bail!("dashi exited before listening; it wrote:\n{}", tail(&log)),
            Err(_) => bail!("dashi did not listen within {START_TIMEOUT:?}; it wrote:\n{}", tail(&log)),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        let mut dashi = Dashi { child, base_url: format!("http://{address}"), http, api_key: String::new(), log, data_dir };
        dashi.api_key = dashi.set_up().await?;
        Ok(dashi)
    }

    /// The process, for its memory and CPU time.
    pub(crate) fn process(&self) -> anyhow::Result<Process> {
        let pid = self.child.id().context("dashi has exited")?;
        Ok(Process { pid })
    }

    /// Adds a `pg` data source for `dbname` on the local server at `port`; returns its id.
    pub(crate) async fn add_postgres(&self, port: u16, dbname: &str) -> anyhow::Result<i64> {
        let body = json!({
            "name": "warehouse",
            "type": "pg",
            "options": {"host": "127.0.0.1", "port": port, "user": "postgres", "dbname": dbname},
        });
        let created = self.post_json("/api/data_sources", &body).await?;
        created["id"].as_i64().with_context(|| format!("no data source id in {created}"))
    }

    /// Runs `sql` ad hoc with `max_age: 0` and waits for its job: the time from sending the POST
    /// to seeing the job succeed.
    pub(crate) async fn run(&self, sql: &str, data_source_id: i64) -> anyhow::Result<Run> {
        let clock = Instant::now();
        let body = json!({"query": sql, "data_source_id": data_source_id, "max_age": 0});
        let started = self.post_json("/api/query_results", &body).await?;
        let job_id = started["job"]["id"].as_str().with_context(|| format!("no job in {started}"))?;
        let deadline = clock + JOB_TIMEOUT;
        loop {
            let polled = self.get_json(&format!("/api/jobs/{job_id}")).await?;
            let job = &polled["job"];
            match job["status"].as_i64() {
                Some(JOB_SUCCEEDED) => {
                    let elapsed = clock.elapsed();
                    let result_id = job["query_result_id"].as_i64().with_context(|| format!("no result in {job}"))?;
                    return Ok(Run { elapsed, result_id });
                }
                Some(JOB_FAILED) => bail!("the job failed: {}", job["error"]),
                Some(_) => {}
                None => bail!("unexpected job answer: {polled}"),
            }
            if Instant::now() > deadline {
                bail!("the job did not finish within {JOB_TIMEOUT:?}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Downloads `path` to its last byte, counting bytes and newlines as they arrive.
    pub(crate) async fn download(&self, path: &str) -> anyhow::Result<Download> {
        let clock = Instant::now();
        let mut response = self.authorized(self.http.get(self.url(path))).send().await.with_context(|| format!("GET {path}"))?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            bail!("GET {path} answered {status}: {text}");
        }
        let mut n_bytes = 0u64;
        let mut n_lines = 0u64;
        while let Some(chunk) = response.chunk().await.with_context(|| format!("reading GET {path}"))? {
            n_bytes += chunk.len() as u64;
            n_lines += chunk.iter().filter(|byte| **byte == b'\n').count() as u64;
        }
        Ok(Download { elapsed: clock.elapsed(), n_bytes, n_lines })
    }

    /// Row count and compressed size of a result, from the metadata database in the data folder.
    pub(crate) async fn stored_result(&self, result_id: i64) -> anyhow::Result<StoredResult> {
        let options = SqliteConnectOptions::new().filename(self.data_dir.path().join("dashi.db")).read_only(true);
        let mut connection = SqliteConnection::connect_with(&options).await.context("opening dashi's metadata database")?;
        let (row_count, byte_size): (i64, i64) =
            sqlx::query_as("SELECT row_count, byte_size FROM query_results WHERE id = ?")
                .bind(result_id)
                .fetch_one(&mut connection)
                .await
                .with_context(|| format!("reading result {result_id} from the metadata database"))?;
        connection.close().await.context("closing the metadata database")?;
        Ok(StoredResult { row_count, byte_size })
    }

    /// Stops the process with SIGTERM, killing it if it does not stop in time, and removes its
    /// data folder.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id().and_then(|pid| i32::try_from(pid).ok()) {
            kill(Pid::from_raw(pid), Signal::SIGTERM).context("sending SIGTERM to dashi")?;
            if tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await.is_err() {
                self.child.kill().await.context("killing dashi")?;
            }
        }
        self.data_dir.close().context("removing the data folder")
    }

    /// Creates the organization and admin, then reads the admin's API key with the session the
    /// setup signed in.
    async fn set_up(&self) -> anyhow::Result<String> {
        let form = "name=Bench&email=bench%40example.com&password=bench-password&org_name=Bench";
        let response = self
            .http
            .post(self.url("/setup"))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .context("POST /setup")?;
        if !response.status().is_redirection() {
            bail!("POST /setup answered {}: {}", response.status(), response.text().await.unwrap_or_default());
        }
        let cookies: Vec<&str> = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok()?.split(';').next())
            .collect();
        let cookie = cookies.join("; ");
        let with_session = |path: &str| self.http.get(self.url(path)).header(reqwest::header::COOKIE, cookie.as_str());
        let session = read_json(with_session("/api/session"), "/api/session").await?;
        let user_id = session["user"]["id"].as_i64().with_context(|| format!("no user id in {session}"))?;
        let user_path = format!("/api/users/{user_id}");
        let user = read_json(with_session(&user_path), &user_path).await?;
        user["api_key"].as_str().map(str::to_owned).with_context(|| format!("no api_key in {user}"))
    }

    async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        read_json(self.authorized(self.http.get(self.url(path))), path).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self
            .http
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        read_json(self.authorized(request), path).await
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.header(reqwest::header::AUTHORIZATION, format!("Key {}", self.api_key))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The last lines `dashi` logged, to explain a failure.
    pub(crate) fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

/// Sends `request` and parses a successful answer as JSON.
async fn read_json(request: reqwest::RequestBuilder, path: &str) -> anyhow::Result<Value> {
    let response = request.send().await.with_context(|| format!("calling {path}"))?;
    let status = response.status();
    let bytes = response.bytes().await.with_context(|| format!("reading the answer of {path}"))?;
    if !status.is_success() {
        bail!("{path} answered {status}: {}", String::from_utf8_lossy(&bytes));
    }
    serde_json::from_slice(&bytes).map_err(|error| anyhow!("{path} answered something other than JSON: {error}"))
}

/// Reads `dashi`'s log lines until it exits: hands over the listening address once, and keeps the
/// last lines. Reading on is also what keeps a chatty log from filling the pipe and stalling it.
async fn drain_log(
    stderr: tokio::process::ChildStderr,
    log: Arc<Mutex<VecDeque<String>>>,
    address: tokio::sync::oneshot::Sender<String>,
) {
    let mut address = Some(address);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if address.is_some()
            && let Some(listening) = listening_address(&line)
            && let Some(sender) = address.take()
        {
            let _ = sender.send(listening);
        }
        let mut kept = log.lock().expect("no thread panics while holding the log");
        if kept.len() == LOG_LINES {
            kept.pop_front();
        }
        kept.push_back(line);
    }
}

/// The `addr` of the `server listening` event, when `line` is that event.
fn listening_address(line: &str) -> Option<String> {
    let event: Value = serde_json::from_str(line).ok()?;
    if event["fields"]["message"] != "server listening" {
        return None;
    }
    event["fields"]["addr"].as_str().map(str::to_owned)
}

fn tail(log: &Mutex<VecDeque<String>>) -> String {
    let kept = log.lock().expect("no thread panics while holding the log");
    kept.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_address_comes_from_the_server_event_only() {
        let listening = r#"{"level":"INFO","fields":{"message":"server listening","addr":"127.0.0.1:40123"}}"#;
        let other = r#"{"level":"INFO","fields":{"message":"health listening","addr":"127.0.0.1:1"}}"#;
        assert_eq!(listening_address(listening).as_deref(), Some("127.0.0.1:40123"));
        assert_eq!(listening_address(other), None);
        assert_eq!(listening_address("not json"), None);
    }
}
