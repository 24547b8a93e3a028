//! MySQL and MariaDB (`mysql`), over mysql_async.
//!
//! Text without parameters runs through the text protocol (several statements allowed, as in
//! Redash); with parameters it is prepared and bound. Rows stream out of the result set as the
//! server sends them. Cancel runs `KILL QUERY <connection id>` from a second connection, so the
//! server stops the statement; a timeout also sets the session's statement time limit.

use std::time::Duration;

use chrono::NaiveDate;
use dashi_core::{Cell, Column, ColumnType, Placeholders, RowSink};
use mysql_async::consts::ColumnType as MyType;
use mysql_async::prelude::Queryable;
use mysql_async::{ClientIdentity, Conn, Opts, OptsBuilder, Params, SslOpts, Value as MyValue};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::guard::{self, Engine, Query};
use crate::guess;
use crate::option::Options;
use crate::runner::{BoundParam, Runner, RunnerContext, Schema, SchemaColumn, Table};

pub(crate) const MYSQL: Kind = Kind {
    type_name: "mysql",
    display_name: "MySQL",
    syntax: "sql",
    supports_auto_limit: true,
    placeholders: Some(Placeholders::Question),
    options: options_schema,
    open,
};

fn options_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "host": {"type": "string", "default": "127.0.0.1"},
            "user": {"type": "string"},
            "passwd": {"type": "string", "title": "Password"},
            "db": {"type": "string", "title": "Database name"},
            "port": {"type": "number", "default": 3306},
            "connect_timeout": {"type": "number", "default": 60, "title": "Connection Timeout"},
            "charset": {"type": "string", "default": "utf8mb4"},
            "use_unicode": {"type": "boolean", "default": true},
            "autocommit": {"type": "boolean", "default": false},
            "ssl_mode": {
                "type": "string",
                "title": "SSL Mode",
                "default": "preferred",
                "extendedEnum": [
                    {"value": "disabled", "name": "Disabled"},
                    {"value": "preferred", "name": "Preferred"},
                    {"value": "required", "name": "Required"},
                    {"value": "verify-ca", "name": "Verify CA"},
                    {"value": "verify-identity", "name": "Verify Identity"},
                ],
            },
            "use_ssl": {"type": "boolean", "title": "Use SSL"},
            "ssl_cacert": {"type": "string", "title": "Path to CA certificate file to verify peer against (SSL)"},
            "ssl_cert": {"type": "string", "title": "Path to client certificate file (SSL)"},
            "ssl_key": {"type": "string", "title": "Path to private key file (SSL)"},
        },
        "order": [
            "host", "port", "user", "passwd", "db", "connect_timeout", "charset", "use_unicode",
            "autocommit",
        ],
        "required": ["db"],
        "secret": ["passwd"],
        "extra_options": ["ssl_mode", "use_ssl", "ssl_cacert", "ssl_cert", "ssl_key"],
    })
}

fn open(options: &Map<String, Value>, _context: &RunnerContext) -> Result<Box<dyn Runner>> {
    Ok(guard::guarded(
        Mysql::from_options(options)?,
        MYSQL.supports_auto_limit,
    ))
}

struct Mysql {
    opts: Opts,
    connect_timeout: Duration,
    database: String,
    /// `host:port/db`, for messages.
    target: String,
}

impl Mysql {
    fn from_options(options: &Map<String, Value>) -> Result<Mysql> {
        let options = Options(options);
        let host = options
            .text("host")?
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = options
            .number("port", u64::from(u16::MAX))?
            .map_or(3306, |port| port as u16);
        let database = options.required_text("db")?;
        let connect_timeout = Duration::from_secs(
            options
                .number("connect_timeout", 3600)?
                .unwrap_or(60)
                .max(1),
        );
        let use_ssl = options.flag("use_ssl")?.unwrap_or(false);
        let ssl_mode = options
            .text("ssl_mode")?
            .unwrap_or_else(|| "preferred".to_owned());
        let base = SslOpts::default();
        // `preferred` cannot fall back to plain text with this driver; it connects without TLS
        // unless `use_ssl` asks for it, which is what Redash's default set-up amounts to for
        // servers without TLS.
        let ssl = match (ssl_mode.as_str(), use_ssl) {
            ("disabled", _) | ("preferred", false) => None,
            ("required", _) | ("preferred", true) => Some(
                base.with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
            ("verify-ca", _) => Some(base.with_danger_skip_domain_validation(true)),
            ("verify-identity", _) => Some(base),
            _ => {
                return Err(Error::invalid_option(
                    "ssl_mode",
                    "must be disabled, preferred, required, verify-ca or verify-identity",
                ));
            }
        };
        let ssl = match ssl {
            None => None,
            Some(ssl) => {
                let ssl = match options.text("ssl_cacert")? {
                    Some(path) => ssl.with_root_certs(vec![std::path::PathBuf::from(path).into()]),
                    None => ssl,
                };
                Some(
                    match (options.text("ssl_cert")?, options.text("ssl_key")?) {
                        (Some(cert), Some(key)) => {
                            ssl.with_client_identity(Some(ClientIdentity::new(
                                std::path::PathBuf::from(cert).into(),
                                std::path::PathBuf::from(key).into(),
                            )))
                        }
                        (None, None) => ssl,
                        _ => return Err(Error::invalid_option("ssl_cert", "needs ssl_key too")),
                    },
                )
            }
        };
        let builder = OptsBuilder::default()
            .ip_or_hostname(host.clone())
            .tcp_port(port)
            .user(options.text("user")?)
            .pass(options.text("passwd")?)
            .db_name(Some(database.clone()))
            .prefer_socket(false)
            .ssl_opts(ssl);
        Ok(Mysql {
            opts: Opts::from(builder),
            connect_timeout,
            database,
            target: format!("{host}:{port}/"),
        })
    }

    async fn connect(&self) -> Result<Conn> {
        let target = || format!("MySQL at {}{}", self.target, self.database);
        match tokio::time::timeout(self.connect_timeout, Conn::new(self.opts.clone())).await {
            Err(_) => Err(Error::unreachable(target(), "connection timed out")),
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(mysql_async::Error::Server(server)))
                if matches!(server.code, 1044 | 1045 | 1698) =>
            {
                Err(Error::Login {
                    message: server.message,
                })
            }
            Ok(Err(mysql_async::Error::Server(server))) => Err(Error::query(server.message)),
            Ok(Err(error)) => Err(Error::unreachable(target(), error)),
        }
    }

    /// Stops connection `id`'s statement from a second connection.
    async fn kill_query(&self, id: u32) {
        let killed = async {
            let mut killer = self.connect().await?;
            killer
                .query_drop(format!("KILL QUERY {id}"))
                .await
                .map_err(query_error)?;
            killer.disconnect().await.map_err(query_error)
        };
        if let Err(error) = killed.await {
            tracing::warn!(%error, "KILL QUERY failed");
        }
    }

    async fn stream(
        &self,
        conn: &mut Conn,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        if let Some(timeout) = query.timeout {
            // MariaDB counts seconds, MySQL milliseconds (and only for SELECT); set what applies.
            let statement = if conn.server_version() >= (10, 0, 0) {
                format!(
                    "SET SESSION max_statement_time = {:.3}",
                    timeout.as_secs_f64()
                )
            } else {
                format!(
                    "SET SESSION max_execution_time = {}",
                    timeout.as_millis().max(1)
                )
            };
            conn.query_drop(statement).await.map_err(query_error)?;
        }
        let id = conn.id();
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            outcome = read_rows(conn, query, sink) => Some(outcome),
        };
        match outcome {
            Some(outcome) => outcome,
            None => {
                self.kill_query(id).await;
                Err(Error::Cancelled)
            }
        }
    }
}

async fn read_rows(conn: &mut Conn, query: Query<'_>, sink: &mut dyn RowSink) -> Result<()> {
    if query.params.is_empty() {
        let mut result = conn.query_iter(query.sql).await.map_err(query_error)?;
        let mut sets_with_rows = 0;
        loop {
            let columns = result.columns().unwrap_or_default();
            if !columns.is_empty() {
                sets_with_rows += 1;
                if sets_with_rows > 1 {
                    return Err(Error::BadQuery(
                        "only one statement of a query may return rows".to_owned(),
                    ));
                }
                let types: Vec<ColumnType> = columns.iter().map(column_type).collect();
                sink.columns(&new_columns(&columns, &types))?;
                while let Some(row) = result.next().await.map_err(query_error)? {
                    sink.row(&row_cells(row, &columns, &types))?;
                }
            } else {
                while result.next().await.map_err(query_error)?.is_some() {}
            }
            if result.is_empty() {
                break;
            }
        }
        if sets_with_rows == 0 {
            return Err(Error::BadQuery(
                "Query completed but it returned no data.".to_owned(),
            ));
        }
        Ok(())
    } else {
        let params = Params::Positional(query.params.iter().map(my_value).collect());
        let mut result = conn
            .exec_iter(query.sql, params)
            .await
            .map_err(query_error)?;
        let columns = result.columns().unwrap_or_default();
        if columns.is_empty() {
            return Err(Error::BadQuery(
                "Query completed but it returned no data.".to_owned(),
            ));
        }
        let types: Vec<ColumnType> = columns.iter().map(column_type).collect();
        sink.columns(&new_columns(&columns, &types))?;
        while let Some(row) = result.next().await.map_err(query_error)? {
            sink.row(&row_cells(row, &columns, &types))?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Engine for Mysql {
    async fn run(
        &self,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let mut conn = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            conn = self.connect() => conn?,
        };
        let outcome = self.stream(&mut conn, query, sink, cancel).await;
        if outcome.is_ok() {
            let _ = conn.disconnect().await;
        }
        outcome
    }

    async fn schema(&self) -> Result<Schema> {
        let mut conn = self.connect().await?;
        let rows: Vec<(String, String, String, String)> = conn
            .query(
                "SELECT table_schema, table_name, column_name, column_type \
                 FROM information_schema.columns \
                 WHERE table_schema NOT IN ('information_schema', 'performance_schema', 'mysql', 'sys') \
                 ORDER BY table_schema, table_name, ordinal_position",
            )
            .await
            .map_err(query_error)?;
        let _ = conn.disconnect().await;
        let mut tables: Vec<Table> = Vec::new();
        for (schema, table, column, type_name) in rows {
            // Redash compat: tables of the configured database are listed by their bare name.
            let name = if schema == self.database {
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
    }

    async fn test_connection(&self) -> Result<()> {
        let mut conn = self.connect().await?;
        conn.query_drop("SELECT 1").await.map_err(query_error)?;
        let _ = conn.disconnect().await;
        Ok(())
    }
}

fn new_columns(columns: &[mysql_async::Column], types: &[ColumnType]) -> Vec<Column> {
    columns
        .iter()
        .zip(types)
        .map(|(column, column_type)| Column {
            name: column.name_str().into_owned(),
            friendly_name: column.name_str().into_owned(),
            column_type: *column_type,
        })
        .collect()
}

/// Redash's column types for MySQL's field types.
fn column_type(column: &mysql_async::Column) -> ColumnType {
    match column.column_type() {
        MyType::MYSQL_TYPE_TINY
        | MyType::MYSQL_TYPE_SHORT
        | MyType::MYSQL_TYPE_LONG
        | MyType::MYSQL_TYPE_INT24
        | MyType::MYSQL_TYPE_LONGLONG
        | MyType::MYSQL_TYPE_YEAR => ColumnType::Integer,
        MyType::MYSQL_TYPE_BIT if column.column_length() == 1 => ColumnType::Boolean,
        MyType::MYSQL_TYPE_BIT => ColumnType::Integer,
        MyType::MYSQL_TYPE_FLOAT
        | MyType::MYSQL_TYPE_DOUBLE
        | MyType::MYSQL_TYPE_DECIMAL
        | MyType::MYSQL_TYPE_NEWDECIMAL => ColumnType::Float,
        MyType::MYSQL_TYPE_DATE | MyType::MYSQL_TYPE_NEWDATE => ColumnType::Date,
        MyType::MYSQL_TYPE_DATETIME
        | MyType::MYSQL_TYPE_DATETIME2
        | MyType::MYSQL_TYPE_TIMESTAMP
        | MyType::MYSQL_TYPE_TIMESTAMP2 => ColumnType::Datetime,
        MyType::MYSQL_TYPE_NULL => ColumnType::Null,
        _ => ColumnType::String,
    }
}

fn row_cells(
    row: mysql_async::Row,
    columns: &[mysql_async::Column],
    types: &[ColumnType],
) -> Vec<Cell> {
    row.unwrap_raw()
        .into_iter()
        .zip(columns.iter().zip(types))
        .map(|(value, (column, column_type))| {
            cell(value.unwrap_or(MyValue::NULL), column, *column_type)
        })
        .collect()
}

/// A value from either protocol: text-protocol values are all bytes and are parsed by the
/// column's type; binary-protocol values come typed.
fn cell(value: MyValue, column: &mysql_async::Column, column_type: ColumnType) -> Cell {
    match value {
        MyValue::NULL => Cell::Null,
        MyValue::Int(integer) => match column_type {
            ColumnType::Boolean => Cell::Bool(integer != 0),
            _ => Cell::Int(integer),
        },
        MyValue::UInt(unsigned) => {
            i64::try_from(unsigned).map_or_else(|_| Cell::Text(unsigned.to_string()), Cell::Int)
        }
        MyValue::Float(float) => float_cell(f64::from(float)),
        MyValue::Double(double) => float_cell(double),
        MyValue::Date(year, month, day, hour, minute, second, micros) => {
            let date = NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day));
            match (date, column_type) {
                (None, _) => Cell::Null,
                (Some(date), ColumnType::Date) => Cell::Date(date),
                (Some(date), _) => date
                    .and_hms_micro_opt(
                        u32::from(hour),
                        u32::from(minute),
                        u32::from(second),
                        micros,
                    )
                    .map_or(Cell::Null, Cell::NaiveDateTime),
            }
        }
        MyValue::Time(negative, days, hours, minutes, seconds, micros) => {
            let hours = days * 24 + u32::from(hours);
            let sign = if negative { "-" } else { "" };
            let mut text = format!("{sign}{hours:02}:{minutes:02}:{seconds:02}");
            if micros != 0 {
                text.push_str(&format!(".{micros:06}"));
            }
            Cell::Text(text)
        }
        MyValue::Bytes(bytes) => bytes_cell(bytes, column, column_type),
    }
}

fn bytes_cell(bytes: Vec<u8>, column: &mysql_async::Column, column_type: ColumnType) -> Cell {
    if column.column_type() == MyType::MYSQL_TYPE_BIT {
        let value = bytes
            .iter()
            .fold(0_i64, |value, byte| (value << 8) | i64::from(*byte));
        return if column_type == ColumnType::Boolean {
            Cell::Bool(value != 0)
        } else {
            Cell::Int(value)
        };
    }
    // Binary strings that are not UTF-8 are shown as hex, as Redash shows bytes.
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            return Cell::Text(
                error
                    .as_bytes()
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect(),
            );
        }
    };
    if column.column_type() == MyType::MYSQL_TYPE_JSON {
        return serde_json::from_str(&text).map_or(Cell::Text(text), Cell::Json);
    }
    match column_type {
        ColumnType::Integer | ColumnType::Float | ColumnType::Date | ColumnType::Datetime => {
            match guess::text_cell(&text, column_type) {
                // A DECIMAL beyond f64 stays exact text; zero dates ("0000-00-00") are NULL.
                Cell::Text(_) if text.starts_with("0000-00-00") => Cell::Null,
                Cell::Float(float) if !float.is_finite() => Cell::Text(text),
                cell => cell,
            }
        }
        _ => Cell::Text(text),
    }
}

fn float_cell(value: f64) -> Cell {
    if value.is_finite() {
        Cell::Float(value)
    } else {
        Cell::Null
    }
}

fn my_value(param: &BoundParam) -> MyValue {
    match param {
        BoundParam::Null => MyValue::NULL,
        BoundParam::Bool(flag) => MyValue::Int(i64::from(*flag)),
        BoundParam::Int(integer) => MyValue::Int(*integer),
        BoundParam::Float(float) => MyValue::Double(*float),
        BoundParam::Text(text) => MyValue::Bytes(text.clone().into_bytes()),
        BoundParam::Date(date) => MyValue::Bytes(date.format("%Y-%m-%d").to_string().into_bytes()),
        BoundParam::DateTime(datetime) => MyValue::Bytes(
            datetime
                .format("%Y-%m-%d %H:%M:%S%.f")
                .to_string()
                .into_bytes(),
        ),
    }
}

/// The server's message; an interrupted statement (KILL QUERY, statement time limit) is a cancel.
fn query_error(error: mysql_async::Error) -> Error {
    match error {
        // 1317: query execution was interrupted; 1969 (MariaDB) and 3024 (MySQL): time limit.
        mysql_async::Error::Server(server) if matches!(server.code, 1317 | 1969 | 3024) => {
            Error::Cancelled
        }
        mysql_async::Error::Server(server) => Error::query(server.message),
        mysql_async::Error::Io(io) => Error::unreachable("MySQL (connection lost)", io),
        other => Error::Protocol(other.to_string()),
    }
}
