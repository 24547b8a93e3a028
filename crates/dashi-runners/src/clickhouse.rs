//! ClickHouse (`clickhouse`) over its HTTP interface.
//!
//! Each run is one POST with its own `query_id`, answered in `JSONCompactEachRowWithNamesAndTypes`:
//! a line of names, a line of ClickHouse types, then one JSON array per row, read line by line
//! as the body arrives. Cancel (and timeout) sends `KILL QUERY WHERE query_id = …` on a second
//! request and drops the first; a timeout is also passed as `max_execution_time`.
//!
//! ClickHouse is a database the administrator configured, so, as in Redash, its URL is not
//! subject to the private-address block of URL data sources.

use std::time::Duration;

use dashi_core::{Cell, Column, ColumnType, RowSink};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::guard::{self, Engine, Query};
use crate::guess;
use crate::http::{self, ClientSettings};
use crate::option::Options;
use crate::runner::{Runner, RunnerContext, Schema, SchemaColumn, Table};
use crate::tls::Verify;

pub(crate) const CLICKHOUSE: Kind = Kind {
    type_name: "clickhouse",
    display_name: "ClickHouse",
    syntax: "sql",
    supports_auto_limit: true,
    placeholders: None,
    options: options_schema,
    open,
};

const FORMAT: &str = "JSONCompactEachRowWithNamesAndTypes";
/// The longest error body quoted back to the user.
const MAX_ERROR_BYTES: usize = 64 * 1024;

fn options_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "url": {"type": "string", "default": "http://127.0.0.1:8123"},
            "user": {"type": "string", "default": "default"},
            "password": {"type": "string"},
            "dbname": {"type": "string", "title": "Database Name"},
            "timeout": {"type": "number", "title": "Request Timeout", "default": 30},
            "verify": {"type": "boolean", "title": "Verify SSL certificate", "default": true},
        },
        "order": ["url", "user", "password", "dbname"],
        "required": ["dbname"],
        "extra_options": ["timeout", "verify"],
        "secret": ["password"],
    })
}

fn open(options: &Map<String, Value>, _context: &RunnerContext) -> Result<Box<dyn Runner>> {
    let options = Options(options);
    let url_text = options
        .text("url")?
        .unwrap_or_else(|| "http://127.0.0.1:8123".to_owned());
    let url =
        url::Url::parse(&url_text).map_err(|_| Error::invalid_option("url", "is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid_option("url", "must be an http or https URL"));
    }
    let verify = if options.flag("verify")?.unwrap_or(true) {
        Verify::Full
    } else {
        Verify::Nothing
    };
    let timeout = Duration::from_secs(options.number("timeout", 86_400)?.unwrap_or(30).max(1));
    let client = http::client(ClientSettings {
        allow_private_addresses: true,
        verify,
        connect_timeout: timeout,
    })?;
    let clickhouse = ClickHouse {
        target: http::display_target(&url),
        url,
        user: options
            .text("user")?
            .unwrap_or_else(|| "default".to_owned()),
        password: options.text("password")?.unwrap_or_default(),
        database: options.required_text("dbname")?,
        client,
    };
    Ok(guard::guarded(clickhouse, CLICKHOUSE.supports_auto_limit))
}

struct ClickHouse {
    url: url::Url,
    target: String,
    user: String,
    password: String,
    database: String,
    client: reqwest::Client,
}

impl ClickHouse {
    /// Sends `sql` as query `query_id` and checks the status; the body is left to the caller.
    async fn send(
        &self,
        sql: &str,
        query_id: &str,
        format: &str,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response> {
        let mut url = self.url.clone();
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("database", &self.database);
            pairs.append_pair("query_id", query_id);
            pairs.append_pair("default_format", format);
            if let Some(timeout) = timeout {
                pairs.append_pair("max_execution_time", &timeout.as_secs().max(1).to_string());
            }
        }
        let response = self
            .client
            .post(url)
            .header("X-ClickHouse-User", &self.user)
            .header("X-ClickHouse-Key", &self.password)
            .body(sql.to_owned())
            .send()
            .await
            .map_err(|error| http::request_error(&self.target, error))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Err(server_error(&self.target, status, &body))
    }

    async fn kill(&self, query_id: &str) {
        // The id is ours (a UUID), so it can be written into the statement.
        let sql = format!("KILL QUERY WHERE query_id = '{query_id}'");
        let kill_id = uuid::Uuid::new_v4().to_string();
        match self.send(&sql, &kill_id, "TabSeparated", None).await {
            Ok(response) => {
                let _ = response.bytes().await;
            }
            Err(error) => tracing::warn!(%error, "ClickHouse KILL QUERY failed"),
        }
    }

    async fn stream(
        &self,
        sql: &str,
        query_id: &str,
        timeout: Option<Duration>,
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        let response = self.send(sql, query_id, FORMAT, timeout).await?;
        let mut body = response.bytes_stream();
        let mut lines = Lines::default();
        let mut header: Header = Header::default();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| http::request_error(&self.target, error))?;
            lines.push(&chunk);
            while let Some(line) = lines.next_line() {
                header.take(&line, sink)?;
            }
        }
        if let Some(line) = lines.rest() {
            header.take(&line, sink)?;
        }
        if !header.has_columns() {
            // A statement with no result set (DDL) answers with an empty body.
            sink.columns(&[])?;
        }
        Ok(())
    }
}

/// Splits a byte stream into lines without holding more than one partial line.
#[derive(Default)]
struct Lines {
    buffer: Vec<u8>,
}

impl Lines {
    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    fn next_line(&mut self) -> Option<Vec<u8>> {
        let end = self.buffer.iter().position(|byte| *byte == b'\n')?;
        let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
        line.pop();
        Some(line)
    }

    fn rest(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.buffer);
        (!rest.iter().all(u8::is_ascii_whitespace)).then_some(rest)
    }
}

/// The names and types lines, then rows.
#[derive(Default)]
struct Header {
    names: Option<Vec<String>>,
    types: Option<Vec<ColumnType>>,
}

impl Header {
    fn has_columns(&self) -> bool {
        self.types.is_some()
    }

    fn take(&mut self, line: &[u8], sink: &mut dyn RowSink) -> Result<()> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let values: Vec<Value> = match serde_json::from_slice(line) {
            Ok(values) => values,
            // ClickHouse reports an error found after the first rows inside the body.
            Err(_) => {
                return Err(Error::query(exception_message(&String::from_utf8_lossy(
                    line,
                ))));
            }
        };
        match (&self.names, &self.types) {
            (None, _) => {
                self.names = Some(
                    values
                        .iter()
                        .map(|value| value.as_str().unwrap_or_default().to_owned())
                        .collect(),
                );
            }
            (Some(names), None) => {
                let types: Vec<ColumnType> = values
                    .iter()
                    .map(|value| column_type(value.as_str().unwrap_or_default()))
                    .collect();
                let columns: Vec<Column> = names
                    .iter()
                    .zip(&types)
                    .map(|(name, column_type)| Column {
                        name: name.clone(),
                        friendly_name: name.clone(),
                        column_type: *column_type,
                    })
                    .collect();
                sink.columns(&columns)?;
                self.types = Some(types);
            }
            (Some(_), Some(types)) => {
                let cells: Vec<Cell> = values
                    .into_iter()
                    .zip(types)
                    .map(|(value, column_type)| cell(value, *column_type))
                    .collect();
                sink.row(&cells)?;
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Engine for ClickHouse {
    async fn run(
        &self,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        if !query.params.is_empty() {
            return Err(Error::Unsupported(
                "ClickHouse runs do not bind positional parameters",
            ));
        }
        let query_id = uuid::Uuid::new_v4().to_string();
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            outcome = self.stream(query.sql, &query_id, query.timeout, sink) => Some(outcome),
        };
        match outcome {
            Some(outcome) => outcome,
            None => {
                self.kill(&query_id).await;
                Err(Error::Cancelled)
            }
        }
    }

    async fn schema(&self) -> Result<Schema> {
        let sql = "SELECT database, table, name, type FROM system.columns \
                   WHERE database NOT IN ('system', 'information_schema', 'INFORMATION_SCHEMA') \
                   ORDER BY database, table, position";
        let mut collector = SchemaRows::default();
        self.stream(sql, &uuid::Uuid::new_v4().to_string(), None, &mut collector)
            .await?;
        Ok(Schema {
            tables: collector.tables,
        })
    }

    async fn test_connection(&self) -> Result<()> {
        let response = self
            .send("SELECT 1", &uuid::Uuid::new_v4().to_string(), FORMAT, None)
            .await?;
        let _ = response
            .bytes()
            .await
            .map_err(|error| http::request_error(&self.target, error))?;
        Ok(())
    }
}

/// Groups `database, table, name, type` rows into tables named `database.table`, as Redash.
#[derive(Default)]
struct SchemaRows {
    tables: Vec<Table>,
}

impl RowSink for SchemaRows {
    fn columns(&mut self, _columns: &[Column]) -> Result<(), dashi_core::SinkError> {
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), dashi_core::SinkError> {
        let text = |index: usize| match cells.get(index) {
            Some(Cell::Text(text)) => text.clone(),
            _ => String::new(),
        };
        let name = format!("{}.{}", text(0), text(1));
        let column = SchemaColumn {
            name: text(2),
            type_name: text(3),
        };
        match self.tables.last_mut() {
            Some(last) if last.name == name => last.columns.push(column),
            _ => self.tables.push(Table {
                name,
                columns: vec![column],
            }),
        }
        Ok(())
    }
}

/// Redash's column types for ClickHouse types (wrappers such as `Nullable(…)` looked through).
fn column_type(clickhouse_type: &str) -> ColumnType {
    let mut inner = clickhouse_type.trim();
    for wrapper in ["Nullable(", "LowCardinality("] {
        while let Some(rest) = inner
            .strip_prefix(wrapper)
            .and_then(|rest| rest.strip_suffix(')'))
        {
            inner = rest;
        }
    }
    if inner.starts_with("Int") || inner.starts_with("UInt") {
        ColumnType::Integer
    } else if inner.starts_with("Float") || inner.starts_with("Decimal") {
        ColumnType::Float
    } else if inner == "Bool" {
        ColumnType::Boolean
    } else if inner == "Date" || inner == "Date32" {
        ColumnType::Date
    } else if inner.starts_with("DateTime") {
        ColumnType::Datetime
    } else {
        ColumnType::String
    }
}

/// One JSON value of a row. 64-bit integers and decimals may come quoted.
fn cell(value: Value, column_type: ColumnType) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(flag) => Cell::Bool(flag),
        Value::Number(number) => match (number.as_i64(), column_type) {
            (Some(integer), ColumnType::Integer) => Cell::Int(integer),
            _ => number.as_f64().map_or(Cell::Null, Cell::Float),
        },
        Value::String(text) => match column_type {
            // A UInt64 beyond i64 stays exact text.
            ColumnType::Integer if text.parse::<i64>().is_err() => Cell::Text(text),
            ColumnType::String | ColumnType::Null | ColumnType::Boolean => Cell::Text(text),
            other => guess::text_cell(&text, other),
        },
        structured => Cell::Json(structured),
    }
}

/// The `Code: N. DB::Exception: …` text without the trailing version note.
fn exception_message(body: &str) -> String {
    let body = body.trim();
    let cut = body.find(" (version ").map_or(body, |end| &body[..end]);
    cut.chars().take(MAX_ERROR_BYTES).collect()
}

fn server_error(target: &str, status: u16, body: &str) -> Error {
    let message = exception_message(body);
    // Code 516: authentication failed; 192/193/194: unknown user or wrong password.
    let is_login = ["Code: 516.", "Code: 192.", "Code: 193.", "Code: 194."]
        .iter()
        .any(|code| message.starts_with(code));
    if is_login || status == 401 || status == 403 {
        Error::Login { message }
    } else if message.starts_with("Code:") {
        Error::query(message)
    } else {
        Error::HttpStatus {
            target: target.to_owned(),
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clickhouse_types_map_to_redash_types() {
        let check =
            |name: &str, expected: ColumnType| assert_eq!(column_type(name), expected, "{name}");
        check("UInt64", ColumnType::Integer);
        check("Nullable(Int32)", ColumnType::Integer);
        check("LowCardinality(Nullable(String))", ColumnType::String);
        check("Float64", ColumnType::Float);
        check("Decimal(18, 4)", ColumnType::Float);
        check("Bool", ColumnType::Boolean);
        check("Date32", ColumnType::Date);
        check("DateTime64(3, 'UTC')", ColumnType::Datetime);
        check("Array(UInt8)", ColumnType::String);
    }

    #[test]
    fn lines_split_across_chunks() {
        let mut lines = Lines::default();
        lines.push(b"[\"a\"]\n[\"St");
        assert_eq!(lines.next_line().as_deref(), Some(&b"[\"a\"]"[..]));
        assert_eq!(lines.next_line(), None);
        lines.push(b"ring\"]\n[1]");
        assert_eq!(lines.next_line().as_deref(), Some(&b"[\"String\"]"[..]));
        assert_eq!(lines.rest().as_deref(), Some(&b"[1]"[..]));
    }

    #[test]
    fn exceptions_lose_the_version_note() {
        let body = "Code: 60. DB::Exception: Table default.missing does not exist. (UNKNOWN_TABLE) (version 24.8.4.13 (official build))\n";
        assert_eq!(
            exception_message(body),
            "Code: 60. DB::Exception: Table default.missing does not exist. (UNKNOWN_TABLE)"
        );
    }
}
