//! The conformance suite every kind with a live server here must pass: PostgreSQL and MariaDB
//! from `dashi-testkit`, and SQLite files. Types round-trip with Redash's names, duplicate
//! names are numbered, cancel and timeout stop the query in the server, the schema lists a
//! known table, bad SQL carries the database's message, an unreachable host is Unavailable and
//! bad options are Invalid.

use std::time::{Duration, Instant};

use dashi_core::{Classify, Fault};
use dashi_runners::{Error, RunRequest, Runner, RunnerContext};
use dashi_testkit::TestDb;
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

use crate::{Collected, closed_port, eventually, open, open_result, run};

/// How soon a cancelled query must be gone from the server.
const GONE_WITHIN: Duration = Duration::from_secs(5);

/// One data source under test, with a `known` table of one row.
struct Live {
    kind: &'static str,
    runner: Box<dyn Runner>,
    options: Value,
    /// A statement that runs for 30 s unless stopped.
    slow_sql: &'static str,
    /// What the database reports as the types of `SELECT * FROM known`.
    known_types: [&'static str; 6],
    /// Part of the database's message for a missing table.
    missing_table_message: &'static str,
    watch: Watch,
    _dir: Option<TempDir>,
}

/// How to see whether the slow statement still runs in the server.
enum Watch {
    Postgres(String),
    MariaDb,
    Sqlite,
}

impl Watch {
    async fn running(&self, needle: &str) -> usize {
        match self {
            Watch::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("watch PostgreSQL");
                tokio::spawn(connection);
                let row = client
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity \
                         WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1",
                        &[&format!("%{needle}%")],
                    )
                    .await
                    .expect("read pg_stat_activity");
                row.get::<_, i64>(0) as usize
            }
            Watch::MariaDb => {
                let mut admin = crate::mysql::admin().await;
                let count: Option<i64> = admin
                    .exec_first(
                        "SELECT count(*) FROM information_schema.processlist \
                         WHERE command = 'Query' AND id <> CONNECTION_ID() AND info LIKE ?",
                        (format!("%{needle}%"),),
                    )
                    .await
                    .expect("read the process list");
                let _ = admin.disconnect().await;
                count.unwrap_or(0) as usize
            }
            // An in-process library: the statement is over when the run has returned.
            Watch::Sqlite => 0,
        }
    }
}

async fn postgres() -> Live {
    let db = TestDb::postgres().await;
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE TABLE known (i integer, f double precision, b boolean, s text, d date, t timestamp);
             INSERT INTO known VALUES (1, 1.5, true, 'x', '2024-01-02', '2024-01-02 03:04:05');",
        )
        .await
        .expect("create the known table");
    let options = crate::postgres::options(&db.url);
    Live {
        kind: "pg",
        runner: open("pg", options.clone(), &RunnerContext::default()),
        options,
        slow_sql: "SELECT pg_sleep(30) AS slept",
        known_types: ["integer", "float", "boolean", "string", "date", "datetime"],
        missing_table_message: "relation \"missing_table\" does not exist",
        watch: Watch::Postgres(db.url),
        _dir: None,
    }
}

async fn mariadb() -> Live {
    let options = crate::mysql::database().await;
    let db = options["db"].as_str().expect("database name").to_owned();
    let mut admin = crate::mysql::admin().await;
    admin
        .query_drop(format!(
            "CREATE TABLE {db}.known (i INT, f DOUBLE, b BIT(1), s TEXT, d DATE, t DATETIME);
             INSERT INTO {db}.known VALUES (1, 1.5, b'1', 'x', '2024-01-02', '2024-01-02 03:04:05');"
        ))
        .await
        .expect("create the known table");
    let _ = admin.disconnect().await;
    Live {
        kind: "mysql",
        runner: open("mysql", options.clone(), &RunnerContext::default()),
        options,
        slow_sql: "SELECT SLEEP(30) AS slept",
        known_types: ["integer", "float", "boolean", "string", "date", "datetime"],
        missing_table_message: "missing_table' doesn't exist",
        watch: Watch::MariaDb,
        _dir: None,
    }
}

fn sqlite() -> Live {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("known.db");
    let connection = rusqlite::Connection::open(&path).expect("create SQLite file");
    connection
        .execute_batch(
            "CREATE TABLE known (i INTEGER, f REAL, b BOOLEAN, s TEXT, d DATE, t DATETIME);
             INSERT INTO known VALUES (1, 1.5, 1, 'x', '2024-01-02', '2024-01-02 03:04:05');",
        )
        .expect("create the known table");
    drop(connection);
    let options = json!({"dbpath": path});
    Live {
        kind: "sqlite",
        runner: open("sqlite", options.clone(), &RunnerContext::default()),
        options,
        // Counts forever: only an interrupt ends it.
        slow_sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        known_types: ["integer", "float", "boolean", "string", "date", "datetime"],
        missing_table_message: "no such table: missing_table",
        watch: Watch::Sqlite,
        _dir: Some(dir),
    }
}

async fn every_live_source() -> Vec<Live> {
    vec![postgres().await, mariadb().await, sqlite()]
}

#[tokio::test]
async fn types_round_trip_with_redash_names() {
    for live in every_live_source().await {
        let result = run(&*live.runner, "SELECT i, f, b, s, d, t FROM known")
            .await
            .expect("query runs");
        assert_eq!(result.types(), live.known_types, "{}", live.kind);
        assert_eq!(result.rows.len(), 1, "{}", live.kind);
        assert_eq!(result.rows[0][0], dashi_core::Cell::Int(1), "{}", live.kind);
        assert_eq!(
            result.rows[0][2],
            dashi_core::Cell::Bool(true),
            "{}",
            live.kind
        );
    }
}

#[tokio::test]
async fn duplicate_column_names_are_numbered() {
    for live in every_live_source().await {
        let result = run(&*live.runner, "SELECT 1 AS a, 2 AS a, 3 AS b, 4 AS a")
            .await
            .expect("query runs");
        assert_eq!(result.names(), ["a", "a1", "b", "a2"], "{}", live.kind);
        let friendly: Vec<&str> = result
            .columns
            .iter()
            .map(|column| column.friendly_name.as_str())
            .collect();
        assert_eq!(friendly, ["a", "a1", "b", "a2"], "{}", live.kind);
    }
}

/// Starts the slow statement, waits until the server runs it, then lets `stop` end it (a
/// cancel or a timeout); returns the run's error and how long the run took after `stop`.
async fn run_slow_until(live: &Live, timeout: Option<Duration>, cancel_after_start: bool) -> Error {
    let cancel = CancellationToken::new();
    let request = RunRequest {
        sql: live.slow_sql.to_owned(),
        timeout,
        ..RunRequest::default()
    };
    let runner = &*live.runner;
    let run = async {
        let mut collected = Collected::default();
        runner.run(&request, &mut collected, &cancel).await
    };
    let stopper = async {
        let needle = &live.slow_sql[..16];
        // SQLite runs in this process: there is nothing to watch, so it is cancelled at once
        // (while or before its statement steps; both must end as a cancel).
        let started = matches!(live.watch, Watch::Sqlite)
            || eventually(Duration::from_secs(10), || async {
                live.watch.running(needle).await > 0
            })
            .await;
        if cancel_after_start {
            cancel.cancel();
        }
        started
    };
    let (outcome, started) = tokio::join!(run, stopper);
    assert!(
        started,
        "{}: the slow statement never showed in the server",
        live.kind
    );
    match outcome {
        Ok(summary) => panic!("{}: the slow statement finished: {summary:?}", live.kind),
        Err(error) => error,
    }
}

#[tokio::test]
async fn cancel_stops_the_query_in_the_server() {
    for live in every_live_source().await {
        let started = Instant::now();
        let error = run_slow_until(&live, None, true).await;
        assert!(matches!(error, Error::Cancelled), "{}: {error}", live.kind);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}: cancel took {:?}",
            live.kind,
            started.elapsed()
        );
        let needle = &live.slow_sql[..16];
        let gone = eventually(GONE_WITHIN, || async {
            live.watch.running(needle).await == 0
        })
        .await;
        assert!(
            gone,
            "{}: the statement still runs in the server after cancel",
            live.kind
        );
    }
}

#[tokio::test]
async fn timeout_stops_the_query_in_the_server() {
    for live in every_live_source().await {
        let started = Instant::now();
        let error = run_slow_until(&live, Some(Duration::from_secs(1)), false).await;
        assert!(
            matches!(error, Error::TimedOut(limit) if limit == Duration::from_secs(1)),
            "{}: {error}",
            live.kind
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}: timeout took {:?}",
            live.kind,
            started.elapsed()
        );
        let needle = &live.slow_sql[..16];
        let gone = eventually(GONE_WITHIN, || async {
            live.watch.running(needle).await == 0
        })
        .await;
        assert!(
            gone,
            "{}: the statement still runs in the server after the timeout",
            live.kind
        );
    }
}

#[tokio::test]
async fn schema_lists_the_known_table() {
    for live in every_live_source().await {
        let schema = live.runner.schema().await.expect("schema");
        let known = schema.tables.iter().find(|table| table.name == "known");
        let known =
            known.unwrap_or_else(|| panic!("{}: no `known` table in {schema:?}", live.kind));
        let names: Vec<&str> = known
            .columns
            .iter()
            .map(|column| column.name.as_str())
            .collect();
        assert_eq!(names, ["i", "f", "b", "s", "d", "t"], "{}", live.kind);
        assert!(
            known
                .columns
                .iter()
                .all(|column| !column.type_name.is_empty()),
            "{}",
            live.kind
        );
        assert!(live.runner.test_connection().await.is_ok(), "{}", live.kind);
    }
}

#[tokio::test]
async fn bad_sql_carries_the_database_message() {
    for live in every_live_source().await {
        let error = run(&*live.runner, "SELECT * FROM missing_table")
            .await
            .expect_err("no such table");
        assert_eq!(error.fault(), Fault::Invalid, "{}: {error}", live.kind);
        assert!(
            error.to_string().contains(live.missing_table_message),
            "{}: {error} lacks {:?}",
            live.kind,
            live.missing_table_message
        );
    }
}

#[tokio::test]
async fn unreachable_host_is_unavailable() {
    for live in every_live_source().await {
        let mut options = live.options.clone();
        match live.kind {
            "sqlite" => options["dbpath"] = json!("/nonexistent/folder/known.db"),
            _ => options["port"] = json!(closed_port()),
        }
        let runner = open(live.kind, options, &RunnerContext::default());
        let error = run(&*runner, "SELECT 1")
            .await
            .expect_err("nothing listens");
        assert_eq!(error.fault(), Fault::Unavailable, "{}: {error}", live.kind);
        let error = runner.test_connection().await.expect_err("nothing listens");
        assert_eq!(error.fault(), Fault::Unavailable, "{}: {error}", live.kind);
    }
}

#[tokio::test]
async fn bad_options_are_invalid() {
    let check = |kind: &str, options: Value, option: &str| {
        let error = match open_result(kind, options, &RunnerContext::default()) {
            Ok(_) => panic!("{kind}: bad options were accepted"),
            Err(error) => error,
        };
        assert_eq!(error.fault(), Fault::Invalid, "{kind}: {error}");
        assert!(
            matches!(&error, Error::InvalidOption { option: named, .. } if named == option),
            "{kind}: {error}"
        );
    };
    check("pg", json!({"host": "127.0.0.1"}), "dbname");
    check("pg", json!({"dbname": "x", "port": "not a port"}), "port");
    check(
        "pg",
        json!({"dbname": "x", "sslmode": "sometimes"}),
        "sslmode",
    );
    check("redshift", json!({"dbname": "x", "port": 70000}), "port");
    check("mysql", json!({"host": "127.0.0.1"}), "db");
    check("mysql", json!({"db": "x", "ssl_mode": "maybe"}), "ssl_mode");
    check("sqlite", json!({}), "dbpath");
}
