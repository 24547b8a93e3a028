//! PostgreSQL runner against a real server from `dashi-testkit`: binary decoding of each type,
//! the text fallback, several statements, bound parameters and auto limit. Cancel, timeout,
//! schema and errors are in `conformance`.

use chrono::{NaiveDate, NaiveDateTime};
use dashi_core::Cell;
use dashi_runners::{BoundParam, RunRequest, Runner, RunnerContext};
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::{open, run, run_request};

/// The `pg` options for a test database URL (`postgres://user@host:port/db`).
pub fn options(database_url: &str) -> Value {
    let url = url::Url::parse(database_url).expect("test database URL");
    json!({
        "host": url.host_str().expect("host"),
        "port": url.port().unwrap_or(5432),
        "user": url.username(),
        "dbname": url.path().trim_start_matches('/'),
        "sslmode": "disable",
    })
}

/// A runner on a fresh test database, and its URL.
pub async fn runner() -> (Box<dyn Runner>, String) {
    let db = TestDb::postgres().await;
    (
        open("pg", options(&db.url), &RunnerContext::default()),
        db.url,
    )
}

#[tokio::test]
async fn values_decode_by_type() {
    let (runner, _) = runner().await;
    let result = run(
        &*runner,
        "SELECT 1::int2 AS a, 2::int4 AS b, 3::int8 AS c, 1.5::float4 AS d, 2.25::float8 AS e, \
         12.345::numeric AS f, true AS g, 'x'::text AS h, 'y'::varchar AS i, 'z'::name AS j, \
         DATE '2024-02-29' AS k, TIMESTAMP '2024-02-29 10:11:12.5' AS l, \
         TIMESTAMPTZ '2024-02-29 10:11:12+02' AS m, '{\"k\": [1, 2]}'::json AS n, \
         '{\"k\": true}'::jsonb AS o, ARRAY[1, 2, NULL] AS p, ARRAY[['a','b'],['c','d']] AS q, \
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS r, NULL::int AS s, \
         '1e200'::numeric * '1e200'::numeric AS t, 'NaN'::float8 AS u, '01:02:03'::time AS v, \
         INTERVAL '1 day 2 hours' AS w, '\\x0aff'::bytea AS x, '192.168.0.1/24'::inet AS y",
    )
    .await
    .expect("query runs");
    assert_eq!(
        result.types(),
        [
            "integer", "integer", "integer", "float", "float", "float", "boolean", "string",
            "string", "string", "date", "datetime", "datetime", "string", "string", "string",
            "string", "string", "integer", "float", "float", "string", "string", "string",
            "string",
        ]
    );
    let date = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
    let naive: NaiveDateTime = date.and_hms_milli_opt(10, 11, 12, 500).expect("time");
    let utc = chrono::DateTime::parse_from_rfc3339("2024-02-29T08:11:12+00:00").expect("instant");
    assert_eq!(
        result.rows,
        [vec![
            Cell::Int(1),
            Cell::Int(2),
            Cell::Int(3),
            Cell::Float(1.5),
            Cell::Float(2.25),
            Cell::Float(12.345),
            Cell::Bool(true),
            Cell::Text("x".into()),
            Cell::Text("y".into()),
            Cell::Text("z".into()),
            Cell::Date(date),
            Cell::NaiveDateTime(naive),
            Cell::DateTime(utc),
            Cell::Json(json!({"k": [1, 2]})),
            Cell::Json(json!({"k": true})),
            Cell::Json(json!([1, 2, null])),
            Cell::Json(json!([["a", "b"], ["c", "d"]])),
            Cell::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
            Cell::Null,
            Cell::Text(format!("1{}", "0".repeat(400))),
            Cell::Null,
            Cell::Text("01:02:03".into()),
            Cell::Text("1 day 02:00:00".into()),
            Cell::Text("0aff".into()),
            Cell::Text("192.168.0.1/24".into()),
        ]]
    );
}

#[tokio::test]
async fn unknown_types_arrive_as_text() {
    let (runner, _) = runner().await;
    let result = run(&*runner, "SELECT point(1, 2) AS p, 7 AS n")
        .await
        .expect("query runs");
    assert_eq!(result.types(), ["string", "integer"]);
    assert_eq!(
        result.rows,
        [vec![Cell::Text("(1,2)".into()), Cell::Int(7)]]
    );
}

#[tokio::test]
async fn several_statements_return_the_one_with_rows() {
    let (runner, _) = runner().await;
    let result = run(
        &*runner,
        "SET search_path TO public; SELECT 1 AS one, 'a' AS two;",
    )
    .await
    .expect("query runs");
    assert_eq!(result.names(), ["one", "two"]);
    assert_eq!(result.types(), ["integer", "string"]);
    assert_eq!(result.rows, [vec![Cell::Int(1), Cell::Text("a".into())]]);
}

#[tokio::test]
async fn typed_parameters_are_bound() {
    let (runner, _) = runner().await;
    let request = RunRequest {
        sql: "SELECT $1::int4 + 1 AS n, $2 || '!' AS t, $3::date AS d, $4::int AS missing"
            .to_owned(),
        params: vec![
            BoundParam::Int(41),
            BoundParam::Text("hi".to_owned()),
            BoundParam::Date(NaiveDate::from_ymd_opt(2024, 1, 2).expect("date")),
            BoundParam::Null,
        ],
        ..RunRequest::default()
    };
    let result = run_request(&*runner, &request).await.expect("query runs");
    assert_eq!(
        result.rows,
        [vec![
            Cell::Int(42),
            Cell::Text("hi!".into()),
            Cell::Date(NaiveDate::from_ymd_opt(2024, 1, 2).expect("date")),
            Cell::Null,
        ]]
    );
}

#[tokio::test]
async fn auto_limit_caps_a_plain_select_only() {
    let (runner, _) = runner().await;
    let limited = RunRequest {
        sql: "SELECT n FROM generate_series(1, 5000) AS n;".to_owned(),
        row_limit: Some(1000),
        ..RunRequest::default()
    };
    assert_eq!(
        run_request(&*runner, &limited)
            .await
            .expect("runs")
            .rows
            .len(),
        1000
    );
    let explicit = RunRequest {
        sql: "SELECT n FROM generate_series(1, 5000) AS n LIMIT 2000".to_owned(),
        row_limit: Some(1000),
        ..RunRequest::default()
    };
    assert_eq!(
        run_request(&*runner, &explicit)
            .await
            .expect("runs")
            .rows
            .len(),
        2000
    );
}

#[tokio::test]
async fn empty_result_still_has_columns() {
    let (runner, _) = runner().await;
    let result = run(&*runner, "SELECT 1 AS a WHERE false")
        .await
        .expect("query runs");
    assert_eq!(result.names(), ["a"]);
    assert_eq!(result.n_column_calls, 1);
    assert!(result.rows.is_empty());
}

#[tokio::test]
async fn sslmode_prefer_falls_back_and_require_insists() {
    let db = TestDb::postgres().await;
    let mut options = options(&db.url);
    options["sslmode"] = json!("prefer");
    let prefer = open("pg", options.clone(), &RunnerContext::default());
    prefer
        .test_connection()
        .await
        .expect("the test server has no TLS; prefer goes without");
    options["sslmode"] = json!("require");
    let require = open("pg", options, &RunnerContext::default());
    let error = require
        .test_connection()
        .await
        .expect_err("no TLS on the server");
    assert_eq!(
        dashi_core::Classify::fault(&error),
        dashi_core::Fault::Unavailable,
        "{error}"
    );
}
