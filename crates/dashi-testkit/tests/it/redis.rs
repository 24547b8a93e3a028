//! `RedisServer`: a private Redis server that answers PING until it is killed.

use std::time::Duration;

use dashi_testkit::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends one inline command over plain TCP and returns the raw reply, read until it is at least
/// `expected_len` bytes long (RESP replies may arrive in pieces).
async fn command(port: u16, line: &str, expected_len: usize) -> std::io::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(format!("{line}\r\n").as_bytes()).await?;
        let mut reply = Vec::new();
        let mut buffer = [0_u8; 256];
        while reply.len() < expected_len {
            let n_read = stream.read(&mut buffer).await?;
            if n_read == 0 {
                break;
            }
            reply.extend_from_slice(&buffer[..n_read]);
        }
        Ok(String::from_utf8_lossy(&reply).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("no reply within 5 s")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answers_ping_on_its_port() {
    let server = RedisServer::start().await.expect("Redis starts");
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}/0", server.port()));
    let pong = "+PONG\r\n";
    assert_eq!(command(server.port(), "PING", pong.len()).await.expect("reply"), pong);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_persists_nothing() {
    let server = RedisServer::start().await.expect("Redis starts");
    let no_snapshots = "*2\r\n$4\r\nsave\r\n$0\r\n\r\n";
    let reply = command(server.port(), "CONFIG GET save", no_snapshots.len()).await;
    assert_eq!(reply.expect("reply"), no_snapshots);
    let no_log = "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n";
    let reply = command(server.port(), "CONFIG GET appendonly", no_log.len()).await;
    assert_eq!(reply.expect("reply"), no_log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_refuses_connections() {
    let mut server = RedisServer::start().await.expect("Redis starts");
    let port = server.port();
    server.kill();
    server.kill();
    assert!(command(port, "PING", 1).await.is_err(), "a killed server must refuse connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_server_kills_it() {
    let server = RedisServer::start().await.expect("Redis starts");
    let port = server.port();
    drop(server);
    assert!(command(port, "PING", 1).await.is_err(), "a dropped server must be gone");
}
