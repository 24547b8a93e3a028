//! Parameters bound end to end: a query's definitions and values go through
//! `Parameters::apply` and `AppliedQuery::prepare` with the kind's own placeholders, and the
//! runner binds them on a real PostgreSQL, MariaDB and SQLite. Hostile text stays a value.

use std::collections::BTreeMap;

use dashi_core::{ApplyContext, Cell, Parameters};
use dashi_runners::{BoundParam, RunRequest, Runner, RunnerContext};
use serde_json::{Value, json};

use crate::{open, run, run_request};

const TEMPLATE: &str = "SELECT id FROM people WHERE name = {{name}} AND born >= {{since}} ORDER BY id LIMIT {{n}}";

const PEOPLE: &str = "CREATE TABLE people (id INTEGER, name VARCHAR(40), born DATE);
     INSERT INTO people VALUES (1, 'ada', '1815-12-10'), (2, 'o''hara', '1950-06-01'), (3, 'grace', '1906-12-09')";

/// The run of [`TEMPLATE`] with `values` as the server would send it to a `type_name` source.
fn prepared(type_name: &str, values: Value) -> RunRequest {
    let definitions = json!([
        {"name": "name", "type": "text"},
        {"name": "since", "type": "date"},
        {"name": "n", "type": "number"},
    ]);
    let parameters = Parameters::new(serde_json::from_value(definitions).expect("definitions"));
    let dropdowns = BTreeMap::new();
    let context = ApplyContext { now: chrono::Utc::now().naive_utc(), dropdowns: &dropdowns, fill_defaults: false };
    let values = values.as_object().cloned().expect("values object");
    let applied = parameters.apply(TEMPLATE, &values, &context).expect("values fit");
    let placeholders = dashi_runners::kind(type_name).expect("kind").placeholders;
    let bound = applied.prepare(placeholders);
    assert_eq!(bound.binds.len(), 3, "every value binds on {type_name}: {}", bound.text);
    RunRequest { sql: bound.text, params: bound.binds.iter().map(BoundParam::from).collect(), ..RunRequest::default() }
}

async fn ids(runner: &dyn Runner, type_name: &str, values: Value) -> Vec<Vec<Cell>> {
    run_request(runner, &prepared(type_name, values)).await.expect("query runs").rows
}

async fn check_binding(runner: &dyn Runner, type_name: &str) {
    let found = ids(runner, type_name, json!({"name": "o'hara", "since": "1900-01-01", "n": "5"})).await;
    assert_eq!(found, [vec![Cell::Int(2)]], "a quote in a value is just a character");
    assert!(ids(runner, type_name, json!({"name": "o'hara", "since": "1960-01-01", "n": 5})).await.is_empty());
    assert!(ids(runner, type_name, json!({"name": "o'hara", "since": "1900-01-01", "n": 0})).await.is_empty());
    for hostile in ["x' OR '1'='1", "x'; DROP TABLE people; --", "ada OR 1=1", "ada; DELETE FROM people"] {
        let rows = ids(runner, type_name, json!({"name": hostile, "since": "1800-01-01", "n": 5})).await;
        assert!(rows.is_empty(), "{hostile} matched {rows:?}");
    }
    let count = run(runner, "SELECT COUNT(*) FROM people").await.expect("the table is still there");
    assert_eq!(count.rows, [vec![Cell::Int(3)]]);
}

#[tokio::test]
async fn postgresql_binds_text_dates_and_numbers() {
    let (runner, _) = crate::postgres::runner().await;
    run(&*runner, &format!("{PEOPLE}; SELECT 1")).await.expect("fixture");
    check_binding(&*runner, "pg").await;
}

#[tokio::test]
async fn mariadb_binds_text_dates_and_numbers() {
    let (runner, _) = crate::mysql::runner().await;
    run(&*runner, &format!("{PEOPLE}; SELECT 1")).await.expect("fixture");
    check_binding(&*runner, "mysql").await;
}

#[tokio::test]
async fn sqlite_binds_text_dates_and_numbers() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("people.db");
    rusqlite::Connection::open(&path).expect("create").execute_batch(PEOPLE).expect("fixture");
    let runner = open("sqlite", json!({"dbpath": path}), &RunnerContext::default());
    check_binding(&*runner, "sqlite").await;
}
