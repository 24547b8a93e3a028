//! Query Results runner over an in-memory `ResultSource` written for these tests (the worker's
//! real source reads the results store and re-runs queries; it lives in the worker crate).
//! The source serves fixed tables, or generates rows lazily for the 1M-row test, and samples
//! the process's resident memory as rows flow.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use dashi_core::{Cell, Classify, Column, ColumnType, Fault, RowSink, SinkError};
use dashi_runners::{Error, Freshness, LoadedResult, ResultSource, RunRequest, RunnerContext};
use futures_util::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{open, run};

fn column(name: &str, column_type: ColumnType) -> Column {
    Column {
        name: name.to_owned(),
        friendly_name: name.to_owned(),
        column_type,
    }
}

/// A stored result: its columns and rows.
type Table = (Vec<Column>, Vec<Vec<Cell>>);

/// Results kept in memory by (query id, freshness), plus one generated table.
#[derive(Default)]
struct Memory {
    tables: HashMap<(i64, Freshness), Table>,
    /// Query id and row count of a table generated on the fly.
    generated: Option<(i64, i64)>,
    loads: Mutex<Vec<(i64, Freshness)>>,
}

/// Resident memory in bytes, from `/proc/self/status`.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kilobytes: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS value");
    kilobytes * 1024
}

/// The highest resident memory seen by any sample.
static PEAK_RESIDENT: AtomicU64 = AtomicU64::new(0);

fn sample_memory() {
    PEAK_RESIDENT.fetch_max(resident_bytes(), Ordering::Relaxed);
}

#[async_trait::async_trait]
impl ResultSource for Memory {
    async fn load(
        &self,
        query_id: i64,
        freshness: Freshness,
        _cancel: &CancellationToken,
    ) -> dashi_runners::Result<LoadedResult> {
        self.loads
            .lock()
            .expect("loads")
            .push((query_id, freshness));
        if let Some((generated_id, n_rows)) = self.generated
            && generated_id == query_id
        {
            let columns = vec![
                column("id", ColumnType::Integer),
                column("score", ColumnType::Float),
                column("label", ColumnType::String),
            ];
            let rows = futures_util::stream::iter(0..n_rows).map(|id| {
                if id % 50_000 == 0 {
                    sample_memory();
                }
                Ok(vec![
                    Cell::Int(id),
                    Cell::Float(id as f64 / 4.0),
                    Cell::Text(format!("label number {id:>12}")),
                ])
            });
            return Ok(LoadedResult {
                columns,
                rows: Box::pin(rows),
            });
        }
        match self.tables.get(&(query_id, freshness)) {
            Some((columns, rows)) => {
                let rows: Vec<dashi_runners::Result<Vec<Cell>>> =
                    rows.iter().cloned().map(Ok).collect();
                Ok(LoadedResult {
                    columns: columns.clone(),
                    rows: Box::pin(futures_util::stream::iter(rows)),
                })
            }
            None => Err(Error::Reference {
                message: format!("Query id {query_id} not found."),
                fault: Fault::NotFound,
            }),
        }
    }
}

fn context(memory: Memory) -> RunnerContext {
    RunnerContext {
        result_source: Some(std::sync::Arc::new(memory)),
        ..RunnerContext::default()
    }
}

fn people() -> Table {
    let columns = vec![
        column("id", ColumnType::Integer),
        column("full name", ColumnType::String),
        column("seen.at", ColumnType::Datetime),
        column("tags", ColumnType::String),
    ];
    let seen = chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
        .and_then(|d| d.and_hms_opt(3, 4, 5))
        .expect("time");
    let rows = vec![
        vec![
            Cell::Int(1),
            Cell::Text("Ada".into()),
            Cell::NaiveDateTime(seen),
            Cell::Json(json!(["x", "y"])),
        ],
        vec![
            Cell::Int(2),
            Cell::Text("Alan".into()),
            Cell::Null,
            Cell::Null,
        ],
    ];
    (columns, rows)
}

#[tokio::test]
async fn queries_join_fresh_and_cached_results() {
    let mut memory = Memory::default();
    memory.tables.insert((5, Freshness::Rerun), people());
    memory.tables.insert(
        (6, Freshness::Cached),
        (
            vec![
                column("id", ColumnType::Integer),
                column("score", ColumnType::Float),
            ],
            vec![vec![Cell::Int(2), Cell::Float(0.5)]],
        ),
    );
    let runner = open("results", json!({}), &context(memory));
    let result = run(
        &*runner,
        "SELECT p.id, p.full_name, p.seen_at, p.tags, s.score, count(*) OVER () AS n \
         FROM query_5 p LEFT JOIN cached_query_6 s ON s.id = p.id ORDER BY p.id",
    )
    .await
    .expect("query runs");
    assert_eq!(
        result.names(),
        ["id", "full_name", "seen_at", "tags", "score", "n"]
    );
    assert_eq!(
        result.types(),
        [
            "integer", "string", "datetime", "string", "float", "integer"
        ]
    );
    let seen = chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
        .and_then(|d| d.and_hms_opt(3, 4, 5))
        .expect("time");
    assert_eq!(result.rows[0][2], Cell::NaiveDateTime(seen));
    assert_eq!(result.rows[0][3], Cell::Text("[\"x\",\"y\"]".into()));
    assert_eq!(result.rows[1][4], Cell::Float(0.5));
}

#[tokio::test]
async fn a_missing_query_fails_with_the_source_message() {
    let runner = open("results", json!({}), &context(Memory::default()));
    let error = run(&*runner, "SELECT * FROM query_404")
        .await
        .expect_err("not found");
    assert_eq!(error.to_string(), "Query id 404 not found.");
    assert_eq!(error.fault(), Fault::NotFound);
    let error = run(&*runner, "SELECT * FROM nowhere")
        .await
        .expect_err("no such table");
    assert!(
        error.to_string().contains("no such table: nowhere"),
        "{error}"
    );
}

/// Counts rows and sums the first column without keeping them.
#[derive(Default)]
struct Counter {
    n_rows: u64,
    sum: i64,
}

impl RowSink for Counter {
    fn columns(&mut self, _columns: &[Column]) -> Result<(), SinkError> {
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), SinkError> {
        self.n_rows += 1;
        if let Some(Cell::Int(id)) = cells.first() {
            self.sum += id;
        }
        if self.n_rows.is_multiple_of(50_000) {
            sample_memory();
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_input_rows_stream_through_in_bounded_memory() {
    const N_ROWS: i64 = 1_000_000;
    let memory = Memory {
        generated: Some((1, N_ROWS)),
        ..Memory::default()
    };
    let runner = open("results", json!({}), &context(memory));
    let baseline = resident_bytes();
    PEAK_RESIDENT.store(baseline, Ordering::Relaxed);
    let request = RunRequest {
        sql: "SELECT id, label FROM query_1 WHERE id % 2 = 0".to_owned(),
        ..RunRequest::default()
    };
    let mut counter = Counter::default();
    let summary = runner
        .run(&request, &mut counter, &CancellationToken::new())
        .await
        .expect("query runs");
    sample_memory();
    assert_eq!(counter.n_rows, N_ROWS as u64 / 2);
    assert_eq!(summary.rows, N_ROWS as u64 / 2);
    assert_eq!(
        counter.sum,
        (0..N_ROWS).filter(|id| id % 2 == 0).sum::<i64>()
    );
    // The input lives once, in SQLite: about 55 MB measured for these rows. Holding it again as
    // cells (three 32-byte cells, a 24-byte row and the label's own allocation per row) would
    // add about 150 MB on top, so the limit sits between the two.
    let growth = PEAK_RESIDENT
        .load(Ordering::Relaxed)
        .saturating_sub(baseline);
    let limit = 128 * 1024 * 1024;
    assert!(
        growth < limit,
        "resident memory grew by {} MB for 1M rows",
        growth / (1024 * 1024)
    );
}
