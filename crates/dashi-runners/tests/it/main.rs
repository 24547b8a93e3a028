//! Integration tests of the runners against real servers (PostgreSQL, MariaDB), SQLite files,
//! HTTP listeners on loopback and, for Query Results, an in-memory result source.
//!
//! Shared here: a sink that keeps what it is given (tests only; runners never collect) and
//! helpers to open runners and run text.

mod binding;
mod clickhouse;
mod conformance;
mod mysql;
mod postgres;
mod query_results;
mod sqlite;
mod url;

use std::time::{Duration, Instant};

use dashi_core::{Cell, Column, RowSink, SinkError};
use dashi_runners::{RunRequest, RunSummary, Runner, RunnerContext};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Everything a run produced.
#[derive(Debug, Default)]
pub struct Collected {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub n_column_calls: usize,
}

impl Collected {
    pub fn names(&self) -> Vec<&str> {
        self.columns
            .iter()
            .map(|column| column.name.as_str())
            .collect()
    }

    pub fn types(&self) -> Vec<&'static str> {
        self.columns
            .iter()
            .map(|column| column.column_type.as_str())
            .collect()
    }
}

impl RowSink for Collected {
    fn columns(&mut self, columns: &[Column]) -> Result<(), SinkError> {
        self.n_column_calls += 1;
        self.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), SinkError> {
        assert_eq!(
            cells.len(),
            self.columns.len(),
            "a row must have one cell per column"
        );
        self.rows.push(cells.to_vec());
        Ok(())
    }
}

/// Opens a runner of `type_name`, panicking on bad options (tests that expect an error use
/// [`open_error`]).
pub fn open(type_name: &str, options: Value, context: &RunnerContext) -> Box<dyn Runner> {
    match open_result(type_name, options, context) {
        Ok(runner) => runner,
        Err(error) => panic!("opening {type_name}: {error}"),
    }
}

pub fn open_result(
    type_name: &str,
    options: Value,
    context: &RunnerContext,
) -> dashi_runners::Result<Box<dyn Runner>> {
    let kind = dashi_runners::kind(type_name).unwrap_or_else(|| panic!("no kind {type_name}"));
    let options = options.as_object().cloned().unwrap_or_default();
    (kind.open)(&options, context)
}

/// Runs `sql` to completion and returns what the sink received.
pub async fn run(runner: &dyn Runner, sql: &str) -> dashi_runners::Result<Collected> {
    run_request(
        runner,
        &RunRequest {
            sql: sql.to_owned(),
            ..RunRequest::default()
        },
    )
    .await
}

pub async fn run_request(
    runner: &dyn Runner,
    request: &RunRequest,
) -> dashi_runners::Result<Collected> {
    let mut collected = Collected::default();
    let summary: RunSummary = runner
        .run(request, &mut collected, &CancellationToken::new())
        .await?;
    assert_eq!(
        summary.rows,
        collected.rows.len() as u64,
        "summary counts every row"
    );
    Ok(collected)
}

/// Polls `check` every 20 ms until it returns true or `limit` passes; true if it did.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}
