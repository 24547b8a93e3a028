//! Query Results (`results`): SQL over other queries' results, in an in-memory SQLite database
//! built for each run.
//!
//! As in Redash, `query_<id>` after FROM or JOIN re-runs that query now and `cached_query_<id>`
//! uses its latest stored result; each becomes a table of that name. Rows come from the
//! [`ResultSource`] one at a time and go into SQLite in one transaction through one prepared
//! statement, so an input of millions of rows is held once (in SQLite), never as a list. The
//! user's query then streams out like any SQLite query.
//!
//! Output types: a column passed through from a loaded table keeps its Redash type (the table
//! is declared with it); an expression gets the type of its first value. Redash guesses over
//! every value, which would need the whole result before the first row could be sent.

use std::collections::BTreeSet;
use std::sync::Arc;

use dashi_core::{Cell, Column, ColumnType, RowSink};
use futures_util::StreamExt;
use regex::Regex;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::blocking;
use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::guard::{self, Engine, Query};
use crate::runner::{Freshness, ResultSource, Runner, RunnerContext, Schema};
use crate::sqlite;

pub(crate) const QUERY_RESULTS: Kind = Kind {
    type_name: "results",
    display_name: "Query Results",
    syntax: "sql",
    supports_auto_limit: false,
    placeholders: None,
    options: options_schema,
    open,
};

/// Rows in flight from the result source to the SQLite thread.
const CHANNEL_ROWS: usize = 1024;

fn options_schema() -> Value {
    json!({"type": "object", "properties": {}})
}

fn open(_options: &Map<String, Value>, context: &RunnerContext) -> Result<Box<dyn Runner>> {
    Ok(guard::guarded(
        QueryResults {
            source: context.result_source.clone(),
        },
        false,
    ))
}

struct QueryResults {
    source: Option<Arc<dyn ResultSource>>,
}

/// A table to load: `query_<id>` or `cached_query_<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Reference {
    query_id: i64,
    freshness: Freshness,
}

impl Reference {
    fn table_name(&self) -> String {
        match self.freshness {
            Freshness::Cached => format!("cached_query_{}", self.query_id),
            Freshness::Rerun => format!("query_{}", self.query_id),
        }
    }
}

/// Redash compat: references are found with a pattern on the text (FROM or JOIN, then the
/// table name), not by parsing, so they work in any SQLite syntax.
fn references(sql: &str) -> Result<BTreeSet<Reference>> {
    let pattern = Regex::new(r"(?i)(?:join|from)\s+(cached_)?query_(\d+)\b")
        .map_err(|error| Error::Internal(format!("reference pattern: {error}")))?;
    let mut found = BTreeSet::new();
    for capture in pattern.captures_iter(sql) {
        let freshness = if capture.get(1).is_some() {
            Freshness::Cached
        } else {
            Freshness::Rerun
        };
        let query_id = capture[2]
            .parse::<i64>()
            .map_err(|_| Error::BadQuery(format!("query id {} is out of range", &capture[2])))?;
        found.insert(Reference {
            query_id,
            freshness,
        });
    }
    Ok(found)
}

/// Redash compat: `:`, `.`, `"` and whitespace become `_`, and the name is quoted.
fn column_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if matches!(c, ':' | '.' | '"') || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("\"{cleaned}\"")
}

/// The declared SQLite type that reads back as the same Redash type (see `sqlite::declared_type`).
fn declared(column_type: ColumnType) -> &'static str {
    match column_type {
        ColumnType::Integer => "INTEGER",
        ColumnType::Float => "REAL",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::String => "TEXT",
        ColumnType::Datetime => "DATETIME",
        ColumnType::Date => "DATE",
        ColumnType::Null => "",
    }
}

fn sql_value(cell: Cell) -> SqlValue {
    match cell {
        Cell::Null => SqlValue::Null,
        Cell::Bool(flag) => SqlValue::Integer(i64::from(flag)),
        Cell::Int(integer) => SqlValue::Integer(integer),
        Cell::Float(float) => SqlValue::Real(float),
        Cell::Text(text) => SqlValue::Text(text),
        Cell::Date(date) => SqlValue::Text(date.format("%Y-%m-%d").to_string()),
        Cell::NaiveDateTime(naive) => {
            SqlValue::Text(naive.format("%Y-%m-%d %H:%M:%S%.f").to_string())
        }
        Cell::DateTime(datetime) => SqlValue::Text(datetime.to_rfc3339()),
        // Redash compat: lists and objects are stored as JSON text.
        Cell::Json(value) => SqlValue::Text(value.to_string()),
    }
}

/// What the loading side sends the SQLite thread.
enum Input {
    Table {
        name: String,
        columns: Vec<Column>,
    },
    Row(Vec<Cell>),
    /// Every table is loaded; run the query.
    Done,
}

#[async_trait::async_trait]
impl Engine for QueryResults {
    async fn run(
        &self,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        if !query.params.is_empty() {
            return Err(Error::Unsupported("Query Results does not bind parameters"));
        }
        let source = self.source.clone().ok_or_else(|| {
            Error::Internal("no result source was given to the Query Results runner".to_owned())
        })?;
        let references = references(query.sql)?;
        let sql = query.sql.to_owned();
        let (sender, receiver) = mpsc::channel::<Input>(CHANNEL_ROWS);
        let load = load_tables(source.as_ref(), &references, sender, cancel);
        let work = move |feed: &blocking::Feed| -> Result<()> {
            let connection = Connection::open_in_memory()
                .map_err(|error| Error::Internal(format!("in-memory SQLite: {error}")))?;
            let interrupt = connection.get_interrupt_handle();
            feed.on_cancel(move || interrupt.interrupt());
            let cancelled = feed.cancelled_flag();
            connection
                .progress_handler(
                    1000,
                    Some(move || cancelled.load(std::sync::atomic::Ordering::Relaxed)),
                )
                .map_err(sqlite::query_error)?;
            fill(&connection, receiver)?;
            sqlite::stream_query(&connection, &sql, &[], feed)
        };
        let (loaded, ran) = tokio::join!(load, blocking::drive(work, sink, cancel));
        // A load failure explains why the SQLite side stopped early; report it first.
        loaded?;
        ran
    }

    async fn schema(&self) -> Result<Schema> {
        Err(Error::Unsupported(
            "Data source type does not support retrieving schema",
        ))
    }

    async fn test_connection(&self) -> Result<()> {
        Ok(())
    }
}

/// Pulls each referenced result from the source and sends it to the SQLite thread.
async fn load_tables(
    source: &dyn ResultSource,
    references: &BTreeSet<Reference>,
    sender: mpsc::Sender<Input>,
    cancel: &CancellationToken,
) -> Result<()> {
    // A closed channel means the SQLite side stopped (cancel or failure); it reports why.
    let send = |input: Input| {
        let sender = sender.clone();
        async move { sender.send(input).await.is_ok() }
    };
    for reference in references {
        let loaded = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            loaded = source.load(reference.query_id, reference.freshness, cancel) => loaded?,
        };
        if !send(Input::Table {
            name: reference.table_name(),
            columns: loaded.columns,
        })
        .await
        {
            return Ok(());
        }
        let mut rows = loaded.rows;
        loop {
            let row = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(Error::Cancelled),
                row = rows.next() => row,
            };
            let Some(row) = row else { break };
            if !send(Input::Row(row?)).await {
                return Ok(());
            }
        }
    }
    send(Input::Done).await;
    Ok(())
}

/// Creates and fills the tables from `receiver`, each in one transaction with one prepared
/// insert, until `Input::Done`.
fn fill(connection: &Connection, mut receiver: mpsc::Receiver<Input>) -> Result<()> {
    let create_error = |table: &str, error: rusqlite::Error| {
        Error::BadQuery(format!(
            "Error creating table {table}: {}",
            sqlite::query_error(error)
        ))
    };
    // The table being filled, its width and its open transaction (an unchecked one, as the
    // connection is shared with the progress handler and interrupt set up by the caller).
    let mut current: Option<(String, usize, rusqlite::Transaction<'_>)> = None;
    loop {
        let Some(input) = receiver.blocking_recv() else {
            // The loading side stopped (cancel or a load error, which it reports).
            return Err(Error::Cancelled);
        };
        match input {
            Input::Table { name, columns } => {
                if let Some((_, _, transaction)) = current.take() {
                    transaction.commit().map_err(sqlite::query_error)?;
                }
                let definitions: Vec<String> = columns
                    .iter()
                    .map(|column| {
                        format!(
                            "{} {}",
                            column_name(&column.name),
                            declared(column.column_type)
                        )
                    })
                    .collect();
                let transaction = connection
                    .unchecked_transaction()
                    .map_err(sqlite::query_error)?;
                transaction
                    .execute_batch(&format!("CREATE TABLE {name} ({})", definitions.join(", ")))
                    .map_err(|error| create_error(&name, error))?;
                let n_columns = columns.len();
                let placeholders = vec!["?"; n_columns].join(", ");
                transaction
                    .prepare_cached(&format!("INSERT INTO {name} VALUES ({placeholders})"))
                    .map_err(|error| create_error(&name, error))?;
                current = Some((name, n_columns, transaction));
            }
            Input::Row(cells) => {
                let Some((name, n_columns, transaction)) = current.as_ref() else {
                    return Err(Error::Internal("a row arrived before its table".to_owned()));
                };
                if cells.len() != *n_columns {
                    return Err(Error::Protocol(format!(
                        "a row of {name} has {} cells for {n_columns} columns",
                        cells.len()
                    )));
                }
                let placeholders = vec!["?"; *n_columns].join(", ");
                let mut insert = transaction
                    .prepare_cached(&format!("INSERT INTO {name} VALUES ({placeholders})"))
                    .map_err(sqlite::query_error)?;
                insert
                    .execute(rusqlite::params_from_iter(cells.into_iter().map(sql_value)))
                    .map_err(sqlite::query_error)?;
            }
            Input::Done => {
                if let Some((_, _, transaction)) = current.take() {
                    transaction.commit().map_err(sqlite::query_error)?;
                }
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_from_and_join() {
        let found = references(
            "select * from query_12 a join cached_query_7 b on a.x = b.x \
             left JOIN\n query_12 c using (x) where y in (select 1 from query_3)",
        )
        .expect("valid ids");
        let found: Vec<(i64, Freshness)> =
            found.iter().map(|r| (r.query_id, r.freshness)).collect();
        assert_eq!(
            found,
            [
                (3, Freshness::Rerun),
                (7, Freshness::Cached),
                (12, Freshness::Rerun)
            ]
        );
        assert!(
            references("select query_5 from t")
                .expect("none")
                .is_empty()
        );
        assert!(references("select * from query_99999999999999999999").is_err());
    }

    #[test]
    fn column_names_are_sanitised_as_redash_does() {
        assert_eq!(column_name("a.b: c\"d"), "\"a_b__c_d\"");
    }
}
