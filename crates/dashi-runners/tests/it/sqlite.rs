//! SQLite runner on files the test creates: declared and guessed types, read-only opening,
//! bound parameters.

use dashi_core::Cell;
use dashi_runners::{BoundParam, Error, RunRequest, Runner, RunnerContext};
use serde_json::json;
use tempfile::TempDir;

use crate::{open, run, run_request};

/// A database file with a `people` table, and a runner on it.
pub fn fixture() -> (TempDir, Box<dyn Runner>) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("data.db");
    let connection = rusqlite::Connection::open(&path).expect("create SQLite file");
    connection
        .execute_batch(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL, active BOOLEAN, \
                                  born DATE, seen DATETIME);
             INSERT INTO people VALUES (1, 'ada', 9.5, 1, '1815-12-10', '2024-01-02 03:04:05');
             INSERT INTO people VALUES (2, 'alan', NULL, 0, NULL, NULL);",
        )
        .expect("fill SQLite file");
    drop(connection);
    let runner = open("sqlite", json!({"dbpath": path}), &RunnerContext::default());
    (dir, runner)
}

#[tokio::test]
async fn declared_types_map_to_redash_types() {
    let (_dir, runner) = fixture();
    let result = run(&*runner, "SELECT * FROM people ORDER BY id")
        .await
        .expect("query runs");
    assert_eq!(
        result.types(),
        ["integer", "string", "float", "boolean", "date", "datetime"]
    );
    let seen = chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
        .and_then(|d| d.and_hms_opt(3, 4, 5))
        .expect("time");
    assert_eq!(
        result.rows[0],
        [
            Cell::Int(1),
            Cell::Text("ada".into()),
            Cell::Float(9.5),
            Cell::Bool(true),
            Cell::Date(chrono::NaiveDate::from_ymd_opt(1815, 12, 10).expect("date")),
            Cell::NaiveDateTime(seen),
        ]
    );
    assert_eq!(result.rows[1][2], Cell::Null);
}

#[tokio::test]
async fn expression_types_come_from_the_first_row() {
    let (_dir, runner) = fixture();
    let result = run(
        &*runner,
        "SELECT count(*) AS n, avg(score) AS mean, 'x' AS label FROM people",
    )
    .await
    .expect("query runs");
    assert_eq!(result.types(), ["integer", "float", "string"]);
}

#[tokio::test]
async fn files_are_opened_read_only() {
    let (_dir, runner) = fixture();
    let error = run(&*runner, "DELETE FROM people")
        .await
        .expect_err("read-only");
    assert!(
        matches!(&error, Error::Query { message } if message.contains("readonly")),
        "{error}"
    );
}

#[tokio::test]
async fn parameters_are_bound_positionally() {
    let (_dir, runner) = fixture();
    let request = RunRequest {
        sql: "SELECT name FROM people WHERE id = ? AND name <> ?".to_owned(),
        params: vec![BoundParam::Int(2), BoundParam::Text("nobody".to_owned())],
        ..RunRequest::default()
    };
    let result = run_request(&*runner, &request).await.expect("query runs");
    assert_eq!(result.rows, [vec![Cell::Text("alan".into())]]);
}

#[tokio::test]
async fn a_missing_file_is_unavailable() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let runner = open(
        "sqlite",
        json!({"dbpath": dir.path().join("absent.db")}),
        &RunnerContext::default(),
    );
    let error = runner.test_connection().await.expect_err("no file");
    assert_eq!(
        dashi_core::Classify::fault(&error),
        dashi_core::Fault::Unavailable,
        "{error}"
    );
}
