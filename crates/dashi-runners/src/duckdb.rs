//! DuckDB files (`duckdb`), behind the crate's `duckdb` feature: the bundled C++ library takes
//! a quarter of an hour or more to build, so default builds and tests leave it out.
//!
//! Like SQLite: one connection per run on the blocking pool, rows through a bounded channel,
//! cancel through DuckDB's interrupt. Files open read-only; `:memory:` gives an empty database.
//! Extensions are never downloaded at run time (no autoinstall or autoload); the `extensions`
//! option loads ones already installed on the machine.

use std::path::PathBuf;

use chrono::{DateTime, Days, NaiveDate, TimeDelta};
use dashi_core::{Cell, Column, ColumnType, Placeholders, RowSink};
use duckdb::arrow::datatypes::DataType;
use duckdb::types::{TimeUnit, Value as DuckValue, ValueRef};
use duckdb::{AccessMode, Config, Connection};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::blocking::{self, Feed};
use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::guard::{self, Engine, Query};
use crate::option::Options;
use crate::runner::{BoundParam, Runner, RunnerContext, Schema, SchemaColumn, Table};

pub(crate) const DUCKDB: Kind = Kind {
    type_name: "duckdb",
    display_name: "DuckDB",
    syntax: "sql",
    supports_auto_limit: true,
    placeholders: Some(Placeholders::Dollar),
    options: options_schema,
    open,
};

fn options_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "dbpath": {"type": "string", "title": "Database Path", "default": ":memory:"},
            "extensions": {"type": "string", "title": "Extensions (comma separated)"},
        },
        "order": ["dbpath", "extensions"],
        "required": ["dbpath"],
    })
}

fn open(options: &Map<String, Value>, _context: &RunnerContext) -> Result<Box<dyn Runner>> {
    let options = Options(options);
    let path = options
        .text("dbpath")?
        .unwrap_or_else(|| ":memory:".to_owned());
    let extensions: Vec<String> = options
        .text("extensions")?
        .unwrap_or_default()
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    for name in &extensions {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::invalid_option(
                "extensions",
                "names are letters, digits and `_`",
            ));
        }
    }
    Ok(guard::guarded(
        DuckDb { path, extensions },
        DUCKDB.supports_auto_limit,
    ))
}

struct DuckDb {
    path: String,
    extensions: Vec<String>,
}

fn connect(path: &str, extensions: &[String]) -> Result<Connection> {
    let invalid = |error: duckdb::Error| Error::Internal(format!("DuckDB settings: {error}"));
    let mut config = Config::default()
        .enable_autoload_extension(false)
        .map_err(invalid)?
        .with("autoinstall_known_extensions", "false")
        .map_err(invalid)?;
    let connection = if path == ":memory:" {
        Connection::open_in_memory_with_flags(config)
    } else {
        config = config.access_mode(AccessMode::ReadOnly).map_err(invalid)?;
        Connection::open_with_flags(PathBuf::from(path), config)
    }
    .map_err(|error| Error::unreachable(format!("the DuckDB file {path}"), error))?;
    for name in extensions {
        connection
            .execute_batch(&format!("LOAD {name}"))
            .map_err(query_error)?;
    }
    Ok(connection)
}

#[async_trait::async_trait]
impl Engine for DuckDb {
    async fn run(
        &self,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let path = self.path.clone();
        let extensions = self.extensions.clone();
        let sql = query.sql.to_owned();
        let params = query.params.to_vec();
        blocking::drive(
            move |feed| {
                let connection = connect(&path, &extensions)?;
                let interrupt = connection.interrupt_handle();
                feed.on_cancel(move || interrupt.interrupt());
                if feed
                    .cancelled_flag()
                    .load(std::sync::atomic::Ordering::Relaxed)
                {
                    return Err(Error::Cancelled);
                }
                stream_query(&connection, &sql, &params, feed)
            },
            sink,
            cancel,
        )
        .await
    }

    async fn schema(&self) -> Result<Schema> {
        let path = self.path.clone();
        let extensions = self.extensions.clone();
        let read = move || -> Result<Schema> {
            let connection = connect(&path, &extensions)?;
            let mut statement = connection
                .prepare(
                    "SELECT table_schema, table_name, column_name, data_type \
                     FROM information_schema.columns \
                     WHERE table_schema NOT IN ('information_schema', 'pg_catalog') \
                     ORDER BY table_schema, table_name, ordinal_position",
                )
                .map_err(query_error)?;
            let rows = statement
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get(2)?,
                        row.get(3)?,
                    ))
                })
                .map_err(query_error)?;
            let mut tables: Vec<Table> = Vec::new();
            for row in rows {
                let (schema, table, column, type_name): (String, String, String, String) =
                    row.map_err(query_error)?;
                let name = if schema == "main" {
                    table
                } else {
                    format!("{schema}.{table}")
                };
                let column = SchemaColumn {
                    name: column,
                    type_name,
                };
                match tables.last_mut() {
                    Some(last) if last.name == name => last.columns.push(column),
                    _ => tables.push(Table {
                        name,
                        columns: vec![column],
                    }),
                }
            }
            Ok(Schema { tables })
        };
        tokio::task::spawn_blocking(read)
            .await
            .map_err(|join_error| Error::Internal(format!("DuckDB thread failed: {join_error}")))?
    }

    async fn test_connection(&self) -> Result<()> {
        let path = self.path.clone();
        let extensions = self.extensions.clone();
        tokio::task::spawn_blocking(move || {
            connect(&path, &extensions)?
                .execute_batch("SELECT 1")
                .map_err(query_error)
        })
        .await
        .map_err(|join_error| Error::Internal(format!("DuckDB thread failed: {join_error}")))?
    }
}

fn stream_query(
    connection: &Connection,
    sql: &str,
    params: &[BoundParam],
    feed: &Feed,
) -> Result<()> {
    let mut statement = connection.prepare(sql).map_err(query_error)?;
    let values: Vec<DuckValue> = params.iter().map(duck_value).collect();
    let mut rows = statement
        .query(duckdb::params_from_iter(values))
        .map_err(query_error)?;
    let (names, types, zones): (Vec<String>, Vec<ColumnType>, Vec<bool>) = match rows.as_ref() {
        Some(statement) => {
            let names = statement.column_names();
            let data_types: Vec<DataType> = (0..names.len())
                .map(|index| statement.column_type(index))
                .collect();
            let types = data_types.iter().map(column_type).collect();
            let zones = data_types
                .iter()
                .map(|data_type| matches!(data_type, DataType::Timestamp(_, Some(_))))
                .collect();
            (names, types, zones)
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let columns = names
        .iter()
        .zip(&types)
        .map(|(name, column_type)| Column {
            name: name.clone(),
            friendly_name: name.clone(),
            column_type: *column_type,
        })
        .collect();
    feed.columns(columns)?;
    while let Some(row) = rows.next().map_err(query_error)? {
        let mut cells = Vec::with_capacity(types.len());
        for (index, has_zone) in zones.iter().enumerate() {
            let value = row.get_ref(index).map_err(query_error)?;
            cells.push(cell(value, *has_zone));
        }
        feed.row(cells)?;
    }
    Ok(())
}

/// Redash's column types for DuckDB's (Arrow) result types.
fn column_type(data_type: &DataType) -> ColumnType {
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ColumnType::Integer,
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => ColumnType::Float,
        DataType::Boolean => ColumnType::Boolean,
        DataType::Date32 | DataType::Date64 => ColumnType::Date,
        DataType::Timestamp(..) => ColumnType::Datetime,
        DataType::Null => ColumnType::Null,
        _ => ColumnType::String,
    }
}

fn float_cell(value: f64) -> Cell {
    if value.is_finite() {
        Cell::Float(value)
    } else {
        Cell::Null
    }
}

fn micros(unit: TimeUnit, value: i64) -> i64 {
    match unit {
        TimeUnit::Second => value.saturating_mul(1_000_000),
        TimeUnit::Millisecond => value.saturating_mul(1_000),
        TimeUnit::Microsecond => value,
        TimeUnit::Nanosecond => value / 1_000,
    }
}

fn cell(value: ValueRef<'_>, has_zone: bool) -> Cell {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Boolean(flag) => Cell::Bool(flag),
        ValueRef::TinyInt(n) => Cell::Int(i64::from(n)),
        ValueRef::SmallInt(n) => Cell::Int(i64::from(n)),
        ValueRef::Int(n) => Cell::Int(i64::from(n)),
        ValueRef::BigInt(n) => Cell::Int(n),
        ValueRef::UTinyInt(n) => Cell::Int(i64::from(n)),
        ValueRef::USmallInt(n) => Cell::Int(i64::from(n)),
        ValueRef::UInt(n) => Cell::Int(i64::from(n)),
        ValueRef::UBigInt(n) => {
            i64::try_from(n).map_or_else(|_| Cell::Text(n.to_string()), Cell::Int)
        }
        ValueRef::HugeInt(n) => {
            i64::try_from(n).map_or_else(|_| Cell::Text(n.to_string()), Cell::Int)
        }
        ValueRef::UHugeInt(n) => {
            i64::try_from(n).map_or_else(|_| Cell::Text(n.to_string()), Cell::Int)
        }
        ValueRef::Float(f) => float_cell(f64::from(f)),
        ValueRef::Double(f) => float_cell(f),
        ValueRef::Decimal(decimal) => {
            let text = decimal.to_string();
            match text.parse::<f64>() {
                Ok(value) if value.is_finite() => Cell::Float(value),
                _ => Cell::Text(text),
            }
        }
        ValueRef::Timestamp(unit, value) => {
            let epoch = DateTime::UNIX_EPOCH.naive_utc();
            match epoch.checked_add_signed(TimeDelta::microseconds(micros(unit, value))) {
                None => Cell::Text(value.to_string()),
                Some(naive) if has_zone => Cell::DateTime(naive.and_utc().fixed_offset()),
                Some(naive) => Cell::NaiveDateTime(naive),
            }
        }
        ValueRef::Date32(days) => {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            let date = if days >= 0 {
                epoch.checked_add_days(Days::new(u64::from(days.unsigned_abs())))
            } else {
                epoch.checked_sub_days(Days::new(u64::from(days.unsigned_abs())))
            };
            date.map_or_else(|| Cell::Text(days.to_string()), Cell::Date)
        }
        ValueRef::Time64(unit, value) => {
            let total = micros(unit, value);
            let seconds = total.div_euclid(1_000_000);
            let fraction = total.rem_euclid(1_000_000);
            let mut text = format!(
                "{:02}:{:02}:{:02}",
                seconds / 3600,
                seconds / 60 % 60,
                seconds % 60
            );
            if fraction != 0 {
                text.push_str(format!(".{fraction:06}").trim_end_matches('0'));
            }
            Cell::Text(text)
        }
        ValueRef::Interval {
            months,
            days,
            nanos,
        } => Cell::Text(format!(
            "{months} months {days} days {} microseconds",
            nanos / 1_000
        )),
        ValueRef::Text(bytes) => Cell::Text(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) | ValueRef::Geometry(bytes) => {
            Cell::Text(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
        }
        nested => match json(nested.to_owned()) {
            Value::String(text) => Cell::Text(text),
            structured => Cell::Json(structured),
        },
    }
}

/// A nested value (list, struct, map, enum, union) as JSON.
fn json(value: DuckValue) -> Value {
    match value {
        DuckValue::Null => Value::Null,
        DuckValue::Boolean(flag) => Value::Bool(flag),
        DuckValue::Enum(text) | DuckValue::Text(text) => Value::String(text),
        DuckValue::List(items) | DuckValue::Array(items) => {
            Value::Array(items.into_iter().map(json).collect())
        }
        DuckValue::Struct(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), json(value.clone())))
                .collect(),
        ),
        DuckValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, value)| {
                    let key = match json(key.clone()) {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    (key, json(value.clone()))
                })
                .collect(),
        ),
        DuckValue::Union(inner) => json(*inner),
        scalar => match cell(ValueRef::from(&scalar), false) {
            Cell::Null => Value::Null,
            Cell::Bool(flag) => Value::Bool(flag),
            Cell::Int(n) => Value::from(n),
            Cell::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            Cell::Text(text) => Value::String(text),
            Cell::Date(date) => Value::String(date.format("%Y-%m-%d").to_string()),
            Cell::NaiveDateTime(naive) => {
                Value::String(naive.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
            }
            Cell::DateTime(datetime) => Value::String(datetime.to_rfc3339()),
            Cell::Json(value) => value,
        },
    }
}

fn duck_value(param: &BoundParam) -> DuckValue {
    match param {
        BoundParam::Null => DuckValue::Null,
        BoundParam::Bool(flag) => DuckValue::Boolean(*flag),
        BoundParam::Int(n) => DuckValue::BigInt(*n),
        BoundParam::Float(f) => DuckValue::Double(*f),
        BoundParam::Text(text) => DuckValue::Text(text.clone()),
        BoundParam::Date(date) => DuckValue::Text(date.format("%Y-%m-%d").to_string()),
        BoundParam::DateTime(datetime) => {
            DuckValue::Text(datetime.format("%Y-%m-%d %H:%M:%S%.f").to_string())
        }
    }
}

/// DuckDB's message; an interrupted query is a cancel.
fn query_error(error: duckdb::Error) -> Error {
    let message = error.to_string();
    if message.contains("INTERRUPT") || message.contains("Interrupted") {
        Error::Cancelled
    } else {
        Error::query(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(path: &std::path::Path) -> Box<dyn Runner> {
        let options = json!({"dbpath": path});
        match open(
            options.as_object().expect("object"),
            &RunnerContext::default(),
        ) {
            Ok(runner) => runner,
            Err(error) => panic!("open: {error}"),
        }
    }

    #[derive(Default)]
    struct Rows {
        columns: Vec<Column>,
        rows: Vec<Vec<Cell>>,
    }

    impl RowSink for Rows {
        fn columns(&mut self, columns: &[Column]) -> Result<(), dashi_core::SinkError> {
            self.columns = columns.to_vec();
            Ok(())
        }

        fn row(&mut self, cells: &[Cell]) -> Result<(), dashi_core::SinkError> {
            self.rows.push(cells.to_vec());
            Ok(())
        }
    }

    #[tokio::test]
    async fn types_schema_and_cancel() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("data.duckdb");
        {
            let connection = Connection::open(&path).expect("create file");
            connection
                .execute_batch(
                    "CREATE TABLE known (i INTEGER, f DOUBLE, b BOOLEAN, s VARCHAR, d DATE, t TIMESTAMP, l INTEGER[]);
                     INSERT INTO known VALUES (1, 1.5, true, 'x', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05', [1, 2]);",
                )
                .expect("fill file");
        }
        let runner = runner(&path);
        let mut rows = Rows::default();
        let request = crate::RunRequest {
            sql: "SELECT *, 1 AS i FROM known".to_owned(),
            ..Default::default()
        };
        runner
            .run(&request, &mut rows, &CancellationToken::new())
            .await
            .expect("query runs");
        let types: Vec<&str> = rows
            .columns
            .iter()
            .map(|column| column.column_type.as_str())
            .collect();
        assert_eq!(
            types,
            [
                "integer", "float", "boolean", "string", "date", "datetime", "string", "integer"
            ]
        );
        let names: Vec<&str> = rows
            .columns
            .iter()
            .map(|column| column.name.as_str())
            .collect();
        assert_eq!(names, ["i", "f", "b", "s", "d", "t", "l", "i1"]);
        assert_eq!(rows.rows[0][6], Cell::Json(json!([1, 2])));

        let schema = runner.schema().await.expect("schema");
        assert_eq!(schema.tables[0].name, "known");

        let cancel = CancellationToken::new();
        cancel.cancel();
        let slow = crate::RunRequest {
            sql: "SELECT count(*) FROM range(1000000000000) a".to_owned(),
            ..Default::default()
        };
        let error = runner
            .run(&slow, &mut Rows::default(), &cancel)
            .await
            .expect_err("cancelled");
        assert!(matches!(error, Error::Cancelled), "{error}");

        let error = runner
            .run(
                &crate::RunRequest {
                    sql: "SELECT * FROM missing".to_owned(),
                    ..Default::default()
                },
                &mut Rows::default(),
                &CancellationToken::new(),
            )
            .await
            .expect_err("no such table");
        assert!(error.to_string().contains("missing"), "{error}");
    }
}
