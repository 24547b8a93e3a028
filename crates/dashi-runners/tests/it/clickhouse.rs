//! ClickHouse runner against recorded responses, not a real server.
//!
//! No current ClickHouse server can be installed here: Debian's `clickhouse-server` is the 2018
//! release, and PyPI's `chdb` (the engine embedded in a 180 MB wheel) would need an HTTP shim of
//! our own in front of it. So an axum listener on 127.0.0.1 answers with bodies written from
//! ClickHouse's documented HTTP interface: `JSONCompactEachRowWithNamesAndTypes` (names line,
//! types line, quoted 64-bit integers), `Code: N. DB::Exception: …` error bodies, and an
//! exception written into a body after rows. It records every request, so the tests check what
//! the runner sends: database, query id, credentials in headers, `KILL QUERY` on cancel.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use dashi_core::{Cell, Classify, Fault};
use dashi_runners::{Error, RunRequest, Runner, RunnerContext};
use futures_util::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{Collected, eventually, open, run};

#[derive(Debug, Clone)]
struct Recorded {
    sql: String,
    params: HashMap<String, String>,
    user: String,
}

type Log = Arc<Mutex<Vec<Recorded>>>;

const ROWS: &str = concat!(
    "[\"n\",\"s\",\"f\",\"d\",\"dt\",\"b\",\"arr\",\"maybe\",\"a\",\"a\"]\n",
    "[\"UInt64\",\"String\",\"Float64\",\"Date\",\"DateTime\",\"Bool\",\"Array(UInt8)\",\"Nullable(Int32)\",\"UInt8\",\"UInt8\"]\n",
    "[\"0\",\"zero\",0.5,\"2024-01-02\",\"2024-01-02 03:04:05\",true,[1,2],null,1,2]\n",
    "[\"18446744073709551615\",\"max\",1e300,\"1970-01-01\",\"1970-01-01 00:00:00\",false,[],7,1,2]\n",
);

const SCHEMA: &str = concat!(
    "[\"database\",\"table\",\"name\",\"type\"]\n",
    "[\"String\",\"String\",\"String\",\"String\"]\n",
    "[\"default\",\"events\",\"id\",\"UInt64\"]\n",
    "[\"default\",\"events\",\"at\",\"DateTime\"]\n",
    "[\"logs\",\"lines\",\"text\",\"String\"]\n",
);

const UNKNOWN_TABLE: &str = "Code: 60. DB::Exception: Table default.missing does not exist. \
                             (UNKNOWN_TABLE) (version 24.8.4.13 (official build))\n";

async fn answer(
    State(log): State<Log>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    sql: String,
) -> Response {
    let user = headers
        .get("X-ClickHouse-User")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let key = headers
        .get("X-ClickHouse-Key")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    log.lock().expect("log").push(Recorded {
        sql: sql.clone(),
        params,
        user,
    });
    if key != "secret" {
        return (
            StatusCode::FORBIDDEN,
            "Code: 516. DB::Exception: default: Authentication failed: password is incorrect. (AUTHENTICATION_FAILED) (version 24.8.4.13 (official build))\n",
        )
            .into_response();
    }
    if sql.starts_with("KILL QUERY") {
        return "".into_response();
    }
    if sql.contains("missing") {
        return (StatusCode::NOT_FOUND, UNKNOWN_TABLE).into_response();
    }
    if sql.contains("system.columns") {
        return SCHEMA.into_response();
    }
    if sql.contains("sleep") {
        // The header lines, then nothing until the client goes away.
        let head =
            futures_util::stream::iter([Ok::<_, Infallible>("[\"s\"]\n[\"UInt8\"]\n".to_owned())]);
        return Body::from_stream(head.chain(futures_util::stream::pending())).into_response();
    }
    if sql.contains("throwIf") {
        return format!("[\"x\"]\n[\"UInt8\"]\n[1]\n{UNKNOWN_TABLE}").into_response();
    }
    if sql.starts_with("CREATE") {
        return "".into_response();
    }
    ROWS.into_response()
}

async fn serve() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/", post(answer))
        .with_state(Arc::clone(&log));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), log)
}

fn runner(url: &str) -> Box<dyn Runner> {
    open(
        "clickhouse",
        json!({"url": url, "user": "reader", "password": "secret", "dbname": "default"}),
        &RunnerContext::default(),
    )
}

#[tokio::test]
async fn rows_stream_with_redash_types() {
    let (url, log) = serve().await;
    let result = run(&*runner(&url), "SELECT * FROM numbers(2)")
        .await
        .expect("query runs");
    assert_eq!(
        result.names(),
        ["n", "s", "f", "d", "dt", "b", "arr", "maybe", "a", "a1"]
    );
    assert_eq!(
        result.types(),
        [
            "integer", "string", "float", "date", "datetime", "boolean", "string", "integer",
            "integer", "integer"
        ]
    );
    let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).expect("date");
    assert_eq!(
        result.rows[0],
        [
            Cell::Int(0),
            Cell::Text("zero".into()),
            Cell::Float(0.5),
            Cell::Date(date),
            Cell::NaiveDateTime(date.and_hms_opt(3, 4, 5).expect("time")),
            Cell::Bool(true),
            Cell::Json(json!([1, 2])),
            Cell::Null,
            Cell::Int(1),
            Cell::Int(2),
        ]
    );
    assert_eq!(result.rows[1][0], Cell::Text("18446744073709551615".into()));
    let sent = log.lock().expect("log")[0].clone();
    assert_eq!(sent.user, "reader");
    assert_eq!(
        sent.params.get("database").map(String::as_str),
        Some("default")
    );
    assert_eq!(
        sent.params.get("default_format").map(String::as_str),
        Some("JSONCompactEachRowWithNamesAndTypes")
    );
    assert!(sent.params.get("query_id").is_some_and(|id| !id.is_empty()));
    assert!(
        !sent.params.contains_key("password"),
        "the password travels in a header"
    );
}

#[tokio::test]
async fn auto_limit_is_appended() {
    let (url, log) = serve().await;
    let request = RunRequest {
        sql: "SELECT * FROM numbers(5000)".to_owned(),
        row_limit: Some(1000),
        ..RunRequest::default()
    };
    crate::run_request(&*runner(&url), &request)
        .await
        .expect("query runs");
    assert_eq!(
        log.lock().expect("log")[0].sql,
        "SELECT * FROM numbers(5000) LIMIT 1000"
    );
}

#[tokio::test]
async fn errors_carry_clickhouse_messages() {
    let (url, _log) = serve().await;
    let error = run(&*runner(&url), "SELECT * FROM missing")
        .await
        .expect_err("unknown table");
    assert_eq!(error.fault(), Fault::Invalid);
    assert_eq!(
        error.to_string(),
        "Code: 60. DB::Exception: Table default.missing does not exist. (UNKNOWN_TABLE)"
    );

    let error = run(&*runner(&url), "SELECT throwIf(1)")
        .await
        .expect_err("error after rows");
    assert!(
        matches!(&error, Error::Query { message } if message.starts_with("Code: 60.")),
        "{error}"
    );

    let wrong = open(
        "clickhouse",
        json!({"url": url, "password": "nope", "dbname": "default"}),
        &RunnerContext::default(),
    );
    let error = wrong.test_connection().await.expect_err("bad password");
    assert!(matches!(error, Error::Login { .. }), "{error}");

    let port = crate::closed_port();
    let unreachable = runner(&format!("http://127.0.0.1:{port}"));
    let error = unreachable
        .test_connection()
        .await
        .expect_err("nothing listens");
    assert_eq!(error.fault(), Fault::Unavailable, "{error}");

    let bad = crate::open_result(
        "clickhouse",
        json!({"url": "not a url", "dbname": "x"}),
        &RunnerContext::default(),
    );
    assert!(matches!(bad, Err(Error::InvalidOption { .. })));
}

#[tokio::test]
async fn cancel_and_timeout_kill_the_query_by_id() {
    let (url, log) = serve().await;
    let runner = runner(&url);
    for timeout in [None, Some(Duration::from_millis(300))] {
        log.lock().expect("log").clear();
        let cancel = CancellationToken::new();
        let request = RunRequest {
            sql: "SELECT sleep(3)".to_owned(),
            timeout,
            ..RunRequest::default()
        };
        let mut collected = Collected::default();
        let run = runner.run(&request, &mut collected, &cancel);
        let stopper = async {
            if timeout.is_none() {
                let sent = eventually(Duration::from_secs(10), || async {
                    !log.lock().expect("log").is_empty()
                })
                .await;
                assert!(sent, "the query never reached the server");
                cancel.cancel();
            }
        };
        let (outcome, ()) = tokio::join!(run, stopper);
        match (outcome, timeout) {
            (Err(Error::Cancelled), None) | (Err(Error::TimedOut(_)), Some(_)) => {}
            (other, _) => panic!("unexpected outcome {other:?} for timeout {timeout:?}"),
        }
        let recorded = log.lock().expect("log").clone();
        let query_id = recorded[0]
            .params
            .get("query_id")
            .cloned()
            .expect("query id");
        assert!(
            recorded
                .iter()
                .any(|request| request.sql == format!("KILL QUERY WHERE query_id = '{query_id}'")),
            "no KILL QUERY for {query_id} in {recorded:?}"
        );
        if timeout.is_some() {
            assert_eq!(
                recorded[0]
                    .params
                    .get("max_execution_time")
                    .map(String::as_str),
                Some("1")
            );
        }
    }
}

#[tokio::test]
async fn schema_groups_columns_by_table() {
    let (url, _log) = serve().await;
    let schema = runner(&url).schema().await.expect("schema");
    let names: Vec<&str> = schema
        .tables
        .iter()
        .map(|table| table.name.as_str())
        .collect();
    assert_eq!(names, ["default.events", "logs.lines"]);
    assert_eq!(schema.tables[0].columns.len(), 2);
    assert_eq!(schema.tables[0].columns[1].type_name, "DateTime");
}
