//! `PgServer`: a private PostgreSQL server that keeps its data and port across restarts.

use std::time::Duration;

use dashi_testkit::PgServer;
use sqlx::{Connection, PgConnection};

async fn connect(server: &PgServer) -> PgConnection {
    PgConnection::connect(&server.admin_url()).await.expect("server accepts connections")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_accepts_connections_on_loopback() {
    let server = PgServer::start().await.expect("PostgreSQL starts");
    assert!(server.admin_url().contains(&format!("127.0.0.1:{}", server.port())));

    let mut connection = connect(&server).await;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut connection)
        .await
        .expect("server answers");
    assert!(!version.is_empty());
    let fsync: String =
        sqlx::query_scalar("SHOW fsync").fetch_one(&mut connection).await.expect("server answers");
    assert_eq!(fsync, "off", "the test server trades durability for speed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_port_and_committed_data() {
    let mut server = PgServer::start().await.expect("PostgreSQL starts");
    let port = server.port();
    let mut connection = connect(&server).await;
    sqlx::raw_sql(
        "CREATE TABLE survivors (name TEXT NOT NULL); INSERT INTO survivors VALUES ('a')",
    )
    .execute(&mut connection)
    .await
    .expect("write before restart");

    server.restart().await.expect("PostgreSQL restarts");
    assert_eq!(server.port(), port);
    // The old session was disconnected by the fast shutdown.
    assert!(sqlx::query("SELECT 1").execute(&mut connection).await.is_err());

    let mut connection = connect(&server).await;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM survivors")
        .fetch_all(&mut connection)
        .await
        .expect("read after restart");
    assert_eq!(names, ["a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_server_refuses_connections_until_restarted() {
    let mut server = PgServer::start().await.expect("PostgreSQL starts");
    server.stop().await.expect("PostgreSQL stops");
    server.stop().await.expect("stopping twice is harmless");

    let attempt =
        tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&server.admin_url()))
            .await
            .expect("a refused connection fails fast");
    assert!(attempt.is_err(), "a stopped server must refuse connections");

    server.restart().await.expect("a stopped server starts again");
    connect(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_server_stops_it() {
    let server = PgServer::start().await.expect("PostgreSQL starts");
    let url = server.admin_url();
    drop(server);

    let attempt = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&url))
        .await
        .expect("a refused connection fails fast");
    assert!(attempt.is_err(), "a dropped server must be gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_run_side_by_side() {
    let (first, second) = tokio::join!(PgServer::start(), PgServer::start());
    let (first, second) = (first.expect("first starts"), second.expect("second starts"));
    assert_ne!(first.port(), second.port());
    connect(&first).await;
    connect(&second).await;
}
