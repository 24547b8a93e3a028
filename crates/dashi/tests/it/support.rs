//! Starting `dashi`, reading its JSON log lines, talking HTTP to it and stopping it.
//!
//! Every child runs with a cleared environment (so a developer's `DASHI_*` variables cannot leak
//! in), JSON logs, and `127.0.0.1:0` addresses: the process picks a free port and logs it, which
//! avoids port races between tests. Waits poll with a deadline instead of sleeping.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long a process may take to start, answer or stop before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How long a graceful stop may take after SIGTERM.
pub const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// `dashi` with a clean environment pointed at `data_dir`, logging JSON to stderr.
pub fn dashi(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dashi"));
    command
        .env_clear()
        .env("DASHI_DATA_DIR", data_dir)
        .env("DASHI_BIND", "127.0.0.1:0")
        .env("DASHI_LOG_FORMAT", "json")
        .env("DASHI_LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// A running `dashi` and the log lines it has written so far.
pub struct Running {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Starts `command` with stderr captured.
    pub fn start(mut command: Command) -> Running {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start dashi");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines, seen: Vec::new() }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the child is running")
    }

    /// Waits for the log event whose message is `message` and returns its fields.
    pub async fn wait_for_log(&mut self, message: &str) -> Value {
        let found = timeout(DEADLINE, async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line.clone());
                let Ok(event) = serde_json::from_str::<Value>(&line) else { continue };
                if event["fields"]["message"] == message {
                    return Some(event["fields"].clone());
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(fields)) => fields,
            Ok(None) => panic!("dashi exited before logging {message:?}; it wrote:\n{}", self.seen.join("\n")),
            Err(_) => panic!("no {message:?} within {DEADLINE:?}; dashi wrote:\n{}", self.seen.join("\n")),
        }
    }

    /// Waits for the log event `message` and returns its `addr` field.
    pub async fn address_from_log(&mut self, message: &str) -> String {
        let fields = self.wait_for_log(message).await;
        fields["addr"].as_str().expect("the event has an addr field").to_owned()
    }

    /// Sends SIGTERM and returns the exit status, failing if the stop takes too long.
    pub async fn terminate(mut self) -> ExitStatus {
        let pid = i32::try_from(self.pid()).expect("pids fit in i32");
        kill(Pid::from_raw(pid), Signal::SIGTERM).expect("send SIGTERM");
        match timeout(STOP_DEADLINE, self.child.wait()).await {
            Ok(status) => status.expect("wait for dashi"),
            Err(_) => panic!("dashi did not stop within {STOP_DEADLINE:?} of SIGTERM"),
        }
    }
}

/// Runs `command` to completion and returns its status, stdout and stderr.
pub async fn finish(mut command: Command) -> (ExitStatus, String, String) {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let output = timeout(DEADLINE, command.output())
        .await
        .expect("dashi finished within the deadline")
        .expect("run dashi");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status, stdout, stderr)
}

/// A minimal HTTP/1.1 GET: the status code and the body.
pub async fn get(address: &str, path: &str) -> (u16, String) {
    exchange(address, format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")).await
}

/// A minimal HTTP/1.1 POST of a form: the status code and the body.
pub async fn post_form(address: &str, path: &str, form: &str) -> (u16, String) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    exchange(address, request).await
}

/// Sends one request on a fresh connection and reads the answer until the server closes it.
pub async fn exchange(address: &str, request: String) -> (u16, String) {
    let talk = async {
        let mut stream = TcpStream::connect(address).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        std::io::Result::Ok(String::from_utf8_lossy(&response).into_owned())
    };
    let response = timeout(DEADLINE, talk).await.expect("HTTP answer within the deadline").expect("HTTP exchange");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response has a head");
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status code");
    (status, body.to_owned())
}

/// Polls `GET path` until `accept` likes the answer, failing after the deadline.
pub async fn poll_until(address: &str, path: &str, accept: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let polled = timeout(DEADLINE, async {
        let mut interval = tokio::time::interval(Duration::from_millis(100));
        loop {
            interval.tick().await;
            let (status, body) = get(address, path).await;
            if accept(status, &body) {
                return (status, body);
            }
        }
    })
    .await;
    polled.unwrap_or_else(|_| panic!("GET {path} never gave the expected answer within {DEADLINE:?}"))
}

/// `dashi status --json` on this data folder.
pub async fn status(data_dir: &Path) -> Value {
    let mut command = dashi(data_dir);
    command.args(["status", "--json"]);
    let (status, stdout, stderr) = finish(command).await;
    assert!(status.success(), "dashi status failed: {stderr}");
    serde_json::from_str(&stdout).expect("dashi status --json prints JSON")
}

/// Runs `command` with `input` on stdin and returns its status, stdout and stderr.
pub async fn finish_with_input(mut command: Command, input: &str) -> (ExitStatus, String, String) {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("start dashi");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.as_bytes()).await.expect("write stdin");
    drop(stdin);
    let output = timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("dashi finished within the deadline")
        .expect("run dashi");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status, stdout, stderr)
}
