//! Listeners on 127.0.0.1 that record what is sent to them: an HTTP sink (webhooks, chat
//! services) and an SMTP sink (alert e-mail). Both speak just enough of their protocol for a
//! real client (reqwest, lettre) to deliver to them; nothing is faked on the sending side.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One HTTP request as received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: String,
    /// Path and query, as in the request line.
    pub target: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP/1.1 listener that answers each request with the next status of its script (then
/// 200 forever) and records every request.
pub struct HttpSink {
    pub url: String,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpSink {
    /// A sink answering 200 to everything.
    pub async fn start() -> HttpSink {
        HttpSink::with_statuses(Vec::new()).await
    }

    /// A sink answering `statuses` in order, then 200.
    pub async fn with_statuses(statuses: Vec<u16>) -> HttpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind an HTTP sink on loopback");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(statuses.into_iter()));
        let task = tokio::spawn({
            let received = received.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let received = received.clone();
                    let script = script.clone();
                    tokio::spawn(async move {
                        let _ = serve_http(stream, received, script).await;
                    });
                }
            }
        });
        HttpSink { url, received, task }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.received.lock().expect("never poisoned").clone()
    }

    /// Waits until at least `count` requests arrived (or `timeout` passed) and returns them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || tokio::time::Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_http(
    stream: TcpStream,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
    script: Arc<Mutex<std::vec::IntoIter<u16>>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, value)| value.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        received.lock().expect("never poisoned").push(ReceivedRequest { method, target, headers, body });
        let status = script.lock().expect("never poisoned").next().unwrap_or(200);
        let response =
            format!("HTTP/1.1 {status} Status\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{{}}");
        reader.get_mut().write_all(response.as_bytes()).await?;
    }
}

/// One message received over SMTP.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body), dot-unstuffed.
    pub data: String,
}

/// An SMTP listener that accepts every message (no TLS, no authentication) and records it.
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind an SMTP sink on loopback");
        let port = listener.local_addr().expect("bound address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let received = received.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let received = received.clone();
                    tokio::spawn(async move {
                        let _ = serve_smtp(stream, received).await;
                    });
                }
            }
        });
        SmtpSink { port, received, task }
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().expect("never poisoned").clone()
    }

    /// Waits until at least `count` messages arrived (or `timeout` passed) and returns them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || tokio::time::Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_smtp(stream: TcpStream, received: Arc<Mutex<Vec<ReceivedMail>>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    reader.get_mut().write_all(b"220 sink.test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("RSET") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command["MAIL FROM:".len()..]);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command["RCPT TO:".len()..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            reader.get_mut().write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
            let mut data = String::new();
            loop {
                let mut data_line = String::new();
                if reader.read_line(&mut data_line).await? == 0 {
                    return Ok(());
                }
                if data_line == ".\r\n" || data_line == ".\n" {
                    break;
                }
                data.push_str(data_line.strip_prefix('.').unwrap_or(&data_line));
            }
            received.lock().expect("never poisoned").push(ReceivedMail { from: from.clone(), to: to.clone(), data });
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            reader.get_mut().write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        reader.get_mut().write_all(reply).await?;
    }
}

/// `<a@b>` (with optional parameters after it) → `a@b`.
fn address(text: &str) -> String {
    let text = text.trim();
    match (text.find('<'), text.find('>')) {
        (Some(start), Some(end)) if start < end => text[start + 1..end].to_owned(),
        _ => text.split_whitespace().next().unwrap_or_default().to_owned(),
    }
}
