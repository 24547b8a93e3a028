//! SQLite files (`sqlite`): opened read-only per run, stepped on the blocking pool.
//!
//! Column types come from the declared type of the column (`INTEGER`, `REAL`, `DATETIME`…),
//! and for expressions without one from the first row's value. Cancel interrupts the running
//! statement inside SQLite.

use std::path::PathBuf;

use dashi_core::{Cell, Column, ColumnType, Placeholders, RowSink};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::blocking::{self, Feed};
use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::guard::{self, Engine, Query};
use crate::guess;
use crate::option::Options;
use crate::runner::{BoundParam, Runner, RunnerContext, Schema, SchemaColumn, Table};

pub(crate) const SQLITE: Kind = Kind {
    type_name: "sqlite",
    display_name: "Sqlite",
    syntax: "sql",
    supports_auto_limit: true,
    placeholders: Some(Placeholders::NumberedQuestion),
    options: options_schema,
    open,
};

fn options_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"dbpath": {"type": "string", "title": "Database Path"}},
        "required": ["dbpath"],
    })
}

fn open(options: &Map<String, Value>, _context: &RunnerContext) -> Result<Box<dyn Runner>> {
    let path = PathBuf::from(Options(options).required_text("dbpath")?);
    Ok(guard::guarded(Sqlite { path }, SQLITE.supports_auto_limit))
}

struct Sqlite {
    path: PathBuf,
}

impl Sqlite {
    fn connect(path: &std::path::Path) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(path, flags).map_err(|error| {
            Error::unreachable(format!("the SQLite file {}", path.display()), error)
        })
    }

    /// Runs `work` with a connection on the blocking pool.
    async fn with_connection<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let path = self.path.clone();
        let outcome = tokio::task::spawn_blocking(move || work(&Sqlite::connect(&path)?)).await;
        outcome
            .map_err(|join_error| Error::Internal(format!("SQLite thread failed: {join_error}")))?
    }
}

#[async_trait::async_trait]
impl Engine for Sqlite {
    async fn run(
        &self,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let path = self.path.clone();
        let sql = query.sql.to_owned();
        let params = query.params.to_vec();
        blocking::drive(
            move |feed| {
                let connection = Sqlite::connect(&path)?;
                // The interrupt stops a running statement at once; the progress handler catches
                // a cancel that came before the statement started.
                let interrupt = connection.get_interrupt_handle();
                feed.on_cancel(move || interrupt.interrupt());
                let cancelled = feed.cancelled_flag();
                connection
                    .progress_handler(
                        1000,
                        Some(move || cancelled.load(std::sync::atomic::Ordering::Relaxed)),
                    )
                    .map_err(query_error)?;
                stream_query(&connection, &sql, &params, feed)
            },
            sink,
            cancel,
        )
        .await
    }

    async fn schema(&self) -> Result<Schema> {
        self.with_connection(read_schema).await
    }

    async fn test_connection(&self) -> Result<()> {
        self.with_connection(|connection| {
            connection
                .query_row("SELECT 1", [], |_| Ok(()))
                .map_err(query_error)
        })
        .await
    }
}

/// Steps `sql` and feeds its rows; the columns go out once the first row (if any) is known.
pub(crate) fn stream_query(
    connection: &Connection,
    sql: &str,
    params: &[BoundParam],
    feed: &Feed,
) -> Result<()> {
    let mut statement = connection.prepare(sql).map_err(query_error)?;
    let declared: Vec<(String, Option<ColumnType>)> = statement
        .columns()
        .iter()
        .map(|column| {
            (
                column.name().to_owned(),
                column.decl_type().map(declared_type),
            )
        })
        .collect();
    let values: Vec<SqlValue> = params.iter().map(sql_value).collect();
    let mut rows = statement
        .query(rusqlite::params_from_iter(values))
        .map_err(query_error)?;
    let first = rows.next().map_err(query_error)?;
    let column_types: Vec<ColumnType> = declared
        .iter()
        .enumerate()
        .map(|(index, (_, declared))| match (declared, first) {
            (Some(declared), _) => *declared,
            (None, Some(row)) => row
                .get_ref(index)
                .map(value_type)
                .unwrap_or(ColumnType::Null),
            (None, None) => ColumnType::Null,
        })
        .collect();
    let columns = declared
        .iter()
        .zip(&column_types)
        .map(|((name, _), column_type)| Column {
            name: name.clone(),
            friendly_name: name.clone(),
            column_type: *column_type,
        })
        .collect();
    feed.columns(columns)?;
    let mut row = first;
    while let Some(current) = row {
        let mut cells = Vec::with_capacity(column_types.len());
        for (index, column_type) in column_types.iter().enumerate() {
            let value = current.get_ref(index).map_err(query_error)?;
            cells.push(cell(value, *column_type));
        }
        feed.row(cells)?;
        row = rows.next().map_err(query_error)?;
    }
    Ok(())
}

fn read_schema(connection: &Connection) -> Result<Schema> {
    let mut tables_statement = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .map_err(query_error)?;
    let names = tables_statement
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(query_error)?
        .collect::<rusqlite::Result<Vec<String>>>()
        .map_err(query_error)?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let mut columns_statement = connection
            .prepare("SELECT name, type FROM pragma_table_info(?1)")
            .map_err(query_error)?;
        let columns = columns_statement
            .query_map([&name], |row| {
                Ok(SchemaColumn {
                    name: row.get(0)?,
                    type_name: row.get(1)?,
                })
            })
            .map_err(query_error)?
            .collect::<rusqlite::Result<Vec<SchemaColumn>>>()
            .map_err(query_error)?;
        tables.push(Table { name, columns });
    }
    Ok(Schema { tables })
}

/// SQLite's affinity rules, plus the names people use for dates and booleans.
pub(crate) fn declared_type(declared: &str) -> ColumnType {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        ColumnType::Integer
    } else if upper.contains("BOOL") {
        ColumnType::Boolean
    } else if upper.contains("DATETIME") || upper.contains("TIMESTAMP") {
        ColumnType::Datetime
    } else if upper == "DATE" {
        ColumnType::Date
    } else if ["REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL"]
        .iter()
        .any(|word| upper.contains(word))
    {
        ColumnType::Float
    } else {
        ColumnType::String
    }
}

fn value_type(value: ValueRef<'_>) -> ColumnType {
    match value {
        ValueRef::Null => ColumnType::Null,
        ValueRef::Integer(_) => ColumnType::Integer,
        ValueRef::Real(_) => ColumnType::Float,
        ValueRef::Text(_) | ValueRef::Blob(_) => ColumnType::String,
    }
}

/// A stored value as a cell of its column's type, falling back to what SQLite holds.
pub(crate) fn cell(value: ValueRef<'_>, column_type: ColumnType) -> Cell {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(integer) if column_type == ColumnType::Boolean => {
            Cell::Bool(integer != 0)
        }
        ValueRef::Integer(integer) if column_type == ColumnType::Float => {
            Cell::Float(integer as f64)
        }
        ValueRef::Integer(integer) => Cell::Int(integer),
        ValueRef::Real(real) if real.is_finite() => Cell::Float(real),
        ValueRef::Real(_) => Cell::Null,
        ValueRef::Text(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            match column_type {
                ColumnType::Date
                | ColumnType::Datetime
                | ColumnType::Integer
                | ColumnType::Float => guess::text_cell(&text, column_type),
                _ => Cell::Text(text.into_owned()),
            }
        }
        ValueRef::Blob(bytes) => {
            Cell::Text(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
        }
    }
}

fn sql_value(param: &BoundParam) -> SqlValue {
    match param {
        BoundParam::Null => SqlValue::Null,
        BoundParam::Bool(flag) => SqlValue::Integer(i64::from(*flag)),
        BoundParam::Int(integer) => SqlValue::Integer(*integer),
        BoundParam::Float(float) => SqlValue::Real(*float),
        BoundParam::Text(text) => SqlValue::Text(text.clone()),
        BoundParam::Date(date) => SqlValue::Text(date.format("%Y-%m-%d").to_string()),
        BoundParam::DateTime(datetime) => {
            SqlValue::Text(datetime.format("%Y-%m-%d %H:%M:%S%.f").to_string())
        }
    }
}

/// SQLite's own message; an interrupted statement is a cancel.
pub(crate) fn query_error(error: rusqlite::Error) -> Error {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            Error::Cancelled
        }
        rusqlite::Error::SqliteFailure(_, Some(message)) => Error::query(message.clone()),
        _ => Error::query(error.to_string()),
    }
}
