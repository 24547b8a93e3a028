//! PostgreSQL (`pg`) and Redshift (`redshift`), over tokio-postgres.
//!
//! A run prepares the statement (giving column types), binds typed parameters and streams rows
//! in the binary format, decoding each value by its type OID. Text the extended protocol cannot
//! run (several statements, as Redash users write: `SET …; SELECT …`) and results holding types
//! we cannot decode in binary (extension types) go through the simple protocol, whose values
//! are text. Cancel sends PostgreSQL's cancel request, so the backend stops; a timeout also sets
//! `statement_timeout` for the session.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use dashi_core::{Cell, Column, ColumnType, Placeholders, RowSink};
use fallible_iterator::FallibleIterator;
use futures_util::{StreamExt, pin_mut};
use postgres_protocol::types as wire;
use serde_json::{Map, Value, json};
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{FromSql, IsNull, Kind as PgKind, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, Config, SimpleQueryMessage, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_util::sync::CancellationToken;

use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::guard::{self, Engine, Query};
use crate::guess;
use crate::option::Options;
use crate::runner::{BoundParam, Runner, RunnerContext, Schema, SchemaColumn, Table};
use crate::tls::{self, Verify};

pub(crate) const POSTGRES: Kind = Kind {
    type_name: "pg",
    display_name: "PostgreSQL",
    syntax: "sql",
    supports_auto_limit: true,
    placeholders: Some(Placeholders::Dollar),
    options: postgres_schema,
    open: open_postgres,
};

pub(crate) const REDSHIFT: Kind = Kind {
    type_name: "redshift",
    display_name: "Redshift",
    syntax: "sql",
    supports_auto_limit: true,
    placeholders: Some(Placeholders::Dollar),
    options: redshift_schema,
    open: open_redshift,
};

fn postgres_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "user": {"type": "string"},
            "password": {"type": "string"},
            "host": {"type": "string", "default": "127.0.0.1"},
            "port": {"type": "number", "default": 5432},
            "dbname": {"type": "string", "title": "Database Name"},
            "dsn": {"type": "string", "default": "application_name=redash", "title": "Parameters"},
            "sslmode": {
                "type": "string",
                "title": "SSL Mode",
                "default": "prefer",
                "extendedEnum": [
                    {"value": "disable", "name": "Disable"},
                    {"value": "allow", "name": "Allow"},
                    {"value": "prefer", "name": "Prefer"},
                    {"value": "require", "name": "Require"},
                    {"value": "verify-ca", "name": "Verify CA"},
                    {"value": "verify-full", "name": "Verify Full"},
                ],
            },
            "sslrootcertFile": {"type": "string", "title": "SSL Root Certificate"},
            "sslcertFile": {"type": "string", "title": "SSL Client Certificate"},
            "sslkeyFile": {"type": "string", "title": "SSL Client Key"},
        },
        "order": ["host", "port", "user", "password"],
        "required": ["dbname"],
        "secret": ["password", "sslrootcertFile", "sslcertFile", "sslkeyFile"],
        "extra_options": ["sslmode", "sslrootcertFile", "sslcertFile", "sslkeyFile"],
    })
}

fn redshift_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "user": {"type": "string"},
            "password": {"type": "string"},
            "host": {"type": "string"},
            "port": {"type": "number"},
            "dbname": {"type": "string", "title": "Database Name"},
            "sslmode": {"type": "string", "title": "SSL Mode", "default": "prefer"},
            "adhoc_query_group": {
                "type": "string",
                "title": "Query Group for Adhoc Queries",
                "default": "default",
            },
            "scheduled_query_group": {
                "type": "string",
                "title": "Query Group for Scheduled Queries",
                "default": "default",
            },
        },
        "order": [
            "host", "port", "user", "password", "dbname", "sslmode",
            "adhoc_query_group", "scheduled_query_group",
        ],
        "required": ["dbname", "user", "password", "host", "port"],
        "secret": ["password"],
    })
}

fn open_postgres(
    options: &Map<String, Value>,
    _context: &RunnerContext,
) -> Result<Box<dyn Runner>> {
    Ok(guard::guarded(Postgres::from_options(options, 5432)?, true))
}

fn open_redshift(
    options: &Map<String, Value>,
    _context: &RunnerContext,
) -> Result<Box<dyn Runner>> {
    Ok(guard::guarded(Postgres::from_options(options, 5439)?, true))
}

/// How long connecting may take unless the `dsn` option says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

struct Postgres {
    config: Config,
    tls: MakeRustlsConnect,
    /// `host:port/dbname`, for messages.
    target: String,
}

impl Postgres {
    fn from_options(options: &Map<String, Value>, default_port: u16) -> Result<Postgres> {
        let options = Options(options);
        let host = options
            .text("host")?
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = options
            .number("port", u64::from(u16::MAX))?
            .map_or(default_port, |port| port as u16);
        let dbname = options.required_text("dbname")?;
        let mut config = Config::new();
        config
            .host(&host)
            .port(port)
            .dbname(&dbname)
            .connect_timeout(CONNECT_TIMEOUT);
        config.application_name("redash");
        if let Some(user) = options.text("user")? {
            config.user(&user);
        }
        if let Some(password) = options.text("password")? {
            config.password(password);
        }
        if let Some(dsn) = options.text("dsn")? {
            apply_dsn(&mut config, &dsn)?;
        }
        let sslmode = options
            .text("sslmode")?
            .unwrap_or_else(|| "prefer".to_owned());
        let (mode, verify) = match sslmode.as_str() {
            "disable" => (SslMode::Disable, Verify::Nothing),
            "allow" | "prefer" => (SslMode::Prefer, Verify::Nothing),
            "require" => (SslMode::Require, Verify::Nothing),
            "verify-ca" => (SslMode::Require, Verify::Chain),
            "verify-full" => (SslMode::Require, Verify::Full),
            _ => {
                return Err(Error::invalid_option(
                    "sslmode",
                    "must be disable, allow, prefer, require, verify-ca or verify-full",
                ));
            }
        };
        config.ssl_mode(mode);
        // Redash compat: the certificate fields hold base64 of the PEM files' contents.
        let decode = |name: &str| -> Result<Option<Vec<u8>>> {
            match options.text(name)? {
                None => Ok(None),
                Some(encoded) => base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map(Some)
                    .map_err(|_| Error::invalid_option(name, "must be the base64 of a PEM file")),
            }
        };
        let material = tls::Material {
            roots_pem: decode("sslrootcertFile")?,
            client_pem: match (decode("sslcertFile")?, decode("sslkeyFile")?) {
                (Some(chain), Some(key)) => Some((chain, key)),
                (None, None) => None,
                _ => {
                    return Err(Error::invalid_option(
                        "sslcertFile",
                        "a client certificate needs both sslcertFile and sslkeyFile",
                    ));
                }
            },
        };
        let tls = MakeRustlsConnect::new(tls::client_config(verify, &material, "sslrootcertFile")?);
        Ok(Postgres {
            config,
            tls,
            target: format!("{host}:{port}/{dbname}"),
        })
    }

    async fn connect(&self) -> Result<Client> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|error| self.connect_error(error))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "PostgreSQL connection closed with an error");
            }
        });
        Ok(client)
    }

    fn connect_error(&self, error: tokio_postgres::Error) -> Error {
        match error.as_db_error() {
            Some(db) if db.code().code().starts_with("28") => Error::Login {
                message: db.message().to_owned(),
            },
            Some(db) => Error::query(db.message().to_owned()),
            None => Error::unreachable(format!("PostgreSQL at {}", self.target), error),
        }
    }

    async fn stream(
        &self,
        client: &Client,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        if let Some(timeout) = query.timeout {
            let millis = timeout.as_millis().max(1);
            client
                .batch_execute(&format!("SET statement_timeout = {millis}"))
                .await
                .map_err(query_error)?;
        }
        let types: Vec<Type> = query.params.iter().map(param_type).collect();
        let prepared = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            prepared = client.prepare_typed(query.sql, &types) => prepared,
        };
        let statement = match prepared {
            Ok(statement) => statement,
            Err(error) if query.params.is_empty() && is_multi_statement(&error) => {
                return self
                    .stream_text(client, query.sql, None, sink, cancel)
                    .await;
            }
            Err(error) => return Err(query_error(error)),
        };
        let columns = statement.columns();
        if !columns.iter().all(|column| is_decodable(column.type_())) && query.params.is_empty() {
            let known: Vec<Type> = columns
                .iter()
                .map(|column| column.type_().clone())
                .collect();
            return self
                .stream_text(client, query.sql, Some(known), sink, cancel)
                .await;
        }
        self.stream_binary(client, &statement, query.params, sink, cancel)
            .await
    }

    async fn stream_binary(
        &self,
        client: &Client,
        statement: &Statement,
        params: &[BoundParam],
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let types: Vec<Type> = statement
            .columns()
            .iter()
            .map(|column| column.type_().clone())
            .collect();
        let columns: Vec<Column> = statement
            .columns()
            .iter()
            .map(|column| new_column(column.name(), column_type(column.type_())))
            .collect();
        let started = self
            .cancellable(client, cancel, client.query_raw(statement, params.iter()))
            .await?;
        let rows = started.map_err(query_error)?;
        sink.columns(&columns)?;
        pin_mut!(rows);
        let mut cells = Vec::with_capacity(types.len());
        loop {
            let next = self.cancellable(client, cancel, rows.next()).await?;
            let Some(row) = next else { break };
            let row = row.map_err(query_error)?;
            cells.clear();
            for (index, column_type) in types.iter().enumerate() {
                let raw: RawValue<'_> = row.try_get(index).map_err(query_error)?;
                cells.push(match raw.0 {
                    None => Cell::Null,
                    Some(bytes) => decode(column_type, bytes).map_err(|error| {
                        Error::Protocol(format!(
                            "cannot decode a {} value: {error}",
                            column_type.name()
                        ))
                    })?,
                });
            }
            sink.row(&cells)?;
        }
        Ok(())
    }

    /// The simple protocol: several statements allowed, values as text. The first statement
    /// that returns rows is the result; a second one is refused rather than silently merged.
    async fn stream_text(
        &self,
        client: &Client,
        sql: &str,
        known_types: Option<Vec<Type>>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let messages = self
            .cancellable(client, cancel, client.simple_query_raw(sql))
            .await?;
        let messages = messages.map_err(query_error)?;
        pin_mut!(messages);
        let mut names: Option<Vec<String>> = None;
        let mut column_types: Option<Vec<ColumnType>> = None;
        let mut results_seen = 0;
        loop {
            let next = self.cancellable(client, cancel, messages.next()).await?;
            let Some(message) = next else { break };
            match message.map_err(query_error)? {
                SimpleQueryMessage::RowDescription(description) => {
                    results_seen += 1;
                    if results_seen > 1 {
                        return Err(Error::BadQuery(
                            "only one statement of a query may return rows".to_owned(),
                        ));
                    }
                    let described: Vec<String> = description
                        .iter()
                        .map(|column| column.name().to_owned())
                        .collect();
                    if let Some(known) = &known_types {
                        let types: Vec<ColumnType> = known.iter().map(column_type).collect();
                        let columns: Vec<Column> = described
                            .iter()
                            .zip(&types)
                            .map(|(name, kind)| new_column(name, *kind))
                            .collect();
                        sink.columns(&columns)?;
                        column_types = Some(types);
                    }
                    names = Some(described);
                }
                SimpleQueryMessage::Row(row) => {
                    let Some(names) = &names else { continue };
                    let texts: Vec<Option<&str>> =
                        (0..names.len()).map(|index| row.get(index)).collect();
                    if column_types.is_none() {
                        // No prepared types (several statements): guess from the first row.
                        let types: Vec<ColumnType> = texts
                            .iter()
                            .map(|text| text.map_or(ColumnType::Null, guess::text_type))
                            .map(|kind| {
                                if kind == ColumnType::Null {
                                    ColumnType::String
                                } else {
                                    kind
                                }
                            })
                            .collect();
                        let columns: Vec<Column> = names
                            .iter()
                            .zip(&types)
                            .map(|(name, kind)| new_column(name, *kind))
                            .collect();
                        sink.columns(&columns)?;
                        column_types = Some(types);
                    }
                    let types = column_types.as_deref().unwrap_or_default();
                    let cells: Vec<Cell> = texts
                        .iter()
                        .enumerate()
                        .map(|(index, text)| {
                            match (
                                text,
                                known_types.as_ref().and_then(|known| known.get(index)),
                            ) {
                                (None, _) => Cell::Null,
                                (Some(text), Some(pg_type)) => decode_text(pg_type, text),
                                (Some(text), None) => guess::text_cell(
                                    text,
                                    types.get(index).copied().unwrap_or(ColumnType::String),
                                ),
                            }
                        })
                        .collect();
                    sink.row(&cells)?;
                }
                SimpleQueryMessage::CommandComplete(_) => {
                    // A statement that returned no rows still shows its columns (an empty
                    // result), as the binary path does.
                    if let (Some(names), None) = (&names, &column_types) {
                        let columns: Vec<Column> = names
                            .iter()
                            .map(|name| new_column(name, ColumnType::String))
                            .collect();
                        sink.columns(&columns)?;
                        column_types = Some(vec![ColumnType::String; names.len()]);
                    }
                }
                _ => {}
            }
        }
        if results_seen == 0 {
            return Err(Error::BadQuery(
                "Query completed but it returned no data.".to_owned(),
            ));
        }
        Ok(())
    }

    /// Awaits `future` unless `cancel` fires first; then asks the server to cancel the running
    /// query (so it stops there too) and reports the cancel.
    async fn cancellable<F: std::future::Future>(
        &self,
        client: &Client,
        cancel: &CancellationToken,
        future: F,
    ) -> Result<F::Output> {
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                if let Err(error) = client.cancel_token().cancel_query(self.tls.clone()).await {
                    tracing::warn!(%error, "PostgreSQL cancel request failed");
                }
                Err(Error::Cancelled)
            }
            output = future => Ok(output),
        }
    }
}

#[async_trait::async_trait]
impl Engine for Postgres {
    async fn run(
        &self,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let client = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            client = self.connect() => client?,
        };
        self.stream(&client, query, sink, cancel).await
    }

    async fn schema(&self) -> Result<Schema> {
        let client = self.connect().await?;
        let rows = client
            .query(
                "SELECT table_schema::text, table_name::text, column_name::text, data_type::text \
                 FROM information_schema.columns \
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
                 ORDER BY table_schema, table_name, ordinal_position",
                &[],
            )
            .await
            .map_err(query_error)?;
        let mut tables: Vec<Table> = Vec::new();
        for row in rows {
            let schema: String = row.try_get(0).map_err(query_error)?;
            let table: String = row.try_get(1).map_err(query_error)?;
            // Redash compat: tables of `public` are listed by their bare name.
            let name = if schema == "public" {
                table
            } else {
                format!("{schema}.{table}")
            };
            let column = SchemaColumn {
                name: row.try_get(2).map_err(query_error)?,
                type_name: row.try_get(3).map_err(query_error)?,
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
        let client = self.connect().await?;
        client.batch_execute("SELECT 1").await.map_err(query_error)
    }
}

/// Reads the `dsn` option, libpq's `key=value` list; only keys that mean something here.
fn apply_dsn(config: &mut Config, dsn: &str) -> Result<()> {
    for pair in dsn.split_whitespace() {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Error::invalid_option("dsn", "must be key=value pairs"));
        };
        let value = value.trim_matches('\'');
        match key {
            "application_name" => {
                config.application_name(value);
            }
            "connect_timeout" => {
                let seconds: u64 = value.parse().map_err(|_| {
                    Error::invalid_option("dsn", "connect_timeout must be whole seconds")
                })?;
                config.connect_timeout(Duration::from_secs(seconds));
            }
            "options" => {
                config.options(value);
            }
            "keepalives" | "keepalives_idle" | "target_session_attrs" => {}
            other => {
                return Err(Error::invalid_option(
                    "dsn",
                    format!("parameter {other} is not supported"),
                ));
            }
        }
    }
    Ok(())
}

fn new_column(name: &str, column_type: ColumnType) -> Column {
    Column {
        name: name.to_owned(),
        friendly_name: name.to_owned(),
        column_type,
    }
}

fn is_multi_statement(error: &tokio_postgres::Error) -> bool {
    error
        .as_db_error()
        .is_some_and(|db| db.message().contains("cannot insert multiple commands"))
}

/// The database's message; a cancelled statement (cancel request or statement_timeout) is a cancel.
fn query_error(error: tokio_postgres::Error) -> Error {
    match error.as_db_error() {
        Some(db) if db.code() == &tokio_postgres::error::SqlState::QUERY_CANCELED => {
            Error::Cancelled
        }
        Some(db) => Error::query(db.message().to_owned()),
        None if error.is_closed() => Error::unreachable("PostgreSQL (connection closed)", error),
        None => Error::Protocol(error.to_string()),
    }
}

/// Redash's column types for PostgreSQL types (its `types_map`, by OID).
fn column_type(pg_type: &Type) -> ColumnType {
    match pg_type.kind() {
        PgKind::Domain(base) => return column_type(base),
        PgKind::Array(_) => return ColumnType::String,
        _ => {}
    }
    match *pg_type {
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => ColumnType::Integer,
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC | Type::MONEY => ColumnType::Float,
        Type::BOOL => ColumnType::Boolean,
        Type::DATE => ColumnType::Date,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => ColumnType::Datetime,
        _ => ColumnType::String,
    }
}

/// Whether [`decode`] understands every value of `pg_type` in the binary format.
fn is_decodable(pg_type: &Type) -> bool {
    match pg_type.kind() {
        PgKind::Enum(_) => true,
        PgKind::Domain(base) => is_decodable(base),
        PgKind::Array(member) => is_decodable(member),
        _ => matches!(
            *pg_type,
            Type::BOOL
                | Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::OID
                | Type::FLOAT4
                | Type::FLOAT8
                | Type::NUMERIC
                | Type::MONEY
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::CHAR
                | Type::UNKNOWN
                | Type::XML
                | Type::UUID
                | Type::DATE
                | Type::TIMESTAMP
                | Type::TIMESTAMPTZ
                | Type::TIME
                | Type::INTERVAL
                | Type::JSON
                | Type::JSONB
                | Type::BYTEA
                | Type::INET
                | Type::CIDR
                | Type::MACADDR
        ),
    }
}

/// Any value's raw bytes, so decoding can follow the column's type OID.
struct RawValue<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawValue<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

type DecodeResult = std::result::Result<Cell, Box<dyn std::error::Error + Sync + Send>>;

/// PostgreSQL's epoch for dates and timestamps.
fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

/// One binary value of a decodable type (see [`is_decodable`]).
fn decode(pg_type: &Type, raw: &[u8]) -> DecodeResult {
    match pg_type.kind() {
        PgKind::Enum(_) => return Ok(Cell::Text(wire::text_from_sql(raw)?.to_owned())),
        PgKind::Domain(base) => return decode(base, raw),
        PgKind::Array(member) => return Ok(Cell::Json(decode_array(member, raw)?)),
        _ => {}
    }
    Ok(match *pg_type {
        Type::BOOL => Cell::Bool(wire::bool_from_sql(raw)?),
        Type::INT2 => Cell::Int(i64::from(wire::int2_from_sql(raw)?)),
        Type::INT4 => Cell::Int(i64::from(wire::int4_from_sql(raw)?)),
        Type::INT8 => Cell::Int(wire::int8_from_sql(raw)?),
        Type::OID => Cell::Int(i64::from(wire::oid_from_sql(raw)?)),
        Type::FLOAT4 => float_cell(f64::from(wire::float4_from_sql(raw)?)),
        Type::FLOAT8 => float_cell(wire::float8_from_sql(raw)?),
        Type::MONEY => float_cell(wire::int8_from_sql(raw)? as f64 / 100.0),
        Type::NUMERIC => {
            let text = numeric_text(raw)?;
            match text.parse::<f64>() {
                Ok(value) if value.is_finite() => Cell::Float(value),
                _ if text == "NaN" => Cell::Null,
                _ => Cell::Text(text),
            }
        }
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::XML => {
            Cell::Text(wire::text_from_sql(raw)?.to_owned())
        }
        Type::CHAR => Cell::Text(char::from(wire::char_from_sql(raw)? as u8).to_string()),
        Type::UUID => Cell::Text(
            uuid::Uuid::from_bytes(wire::uuid_from_sql(raw)?)
                .hyphenated()
                .to_string(),
        ),
        Type::DATE => {
            let days = wire::date_from_sql(raw)?;
            match days {
                i32::MAX => Cell::Text("infinity".to_owned()),
                i32::MIN => Cell::Text("-infinity".to_owned()),
                _ => {
                    let epoch = pg_epoch().date();
                    let date = if days >= 0 {
                        epoch.checked_add_days(Days::new(days as u64))
                    } else {
                        epoch.checked_sub_days(Days::new(days.unsigned_abs() as u64))
                    };
                    date.map_or_else(|| Cell::Text(days.to_string()), Cell::Date)
                }
            }
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = wire::timestamp_from_sql(raw)?;
            match micros {
                i64::MAX => Cell::Text("infinity".to_owned()),
                i64::MIN => Cell::Text("-infinity".to_owned()),
                _ => match pg_epoch().checked_add_signed(TimeDelta::microseconds(micros)) {
                    None => Cell::Text(micros.to_string()),
                    Some(naive) if *pg_type == Type::TIMESTAMPTZ => Cell::DateTime(
                        DateTime::<Utc>::from_naive_utc_and_offset(naive, Utc).fixed_offset(),
                    ),
                    Some(naive) => Cell::NaiveDateTime(naive),
                },
            }
        }
        Type::TIME => {
            let micros = wire::time_from_sql(raw)?;
            let seconds = micros.div_euclid(1_000_000);
            let fraction = micros.rem_euclid(1_000_000);
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
        Type::INTERVAL => Cell::Text(interval_text(raw)?),
        Type::JSON => Cell::Json(serde_json::from_slice(raw)?),
        Type::JSONB => match raw.split_first() {
            Some((1, json)) => Cell::Json(serde_json::from_slice(json)?),
            _ => return Err("unknown jsonb version".into()),
        },
        Type::BYTEA => Cell::Text(raw.iter().map(|byte| format!("{byte:02x}")).collect()),
        Type::INET | Type::CIDR => {
            let inet = wire::inet_from_sql(raw)?;
            Cell::Text(format!("{}/{}", inet.addr(), inet.netmask()))
        }
        Type::MACADDR => {
            let bytes = wire::macaddr_from_sql(raw)?;
            Cell::Text(
                bytes
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            )
        }
        _ => return Err(format!("type {} has no binary decoder", pg_type.name()).into()),
    })
}

fn float_cell(value: f64) -> Cell {
    // Redash compat: NaN and infinities are stored as null.
    if value.is_finite() {
        Cell::Float(value)
    } else {
        Cell::Null
    }
}

/// An array (of any dimensions) as nested JSON arrays.
fn decode_array(
    member: &Type,
    raw: &[u8],
) -> std::result::Result<Value, Box<dyn std::error::Error + Sync + Send>> {
    let array = wire::array_from_sql(raw)?;
    let lengths: Vec<usize> = array
        .dimensions()
        .map(|dimension| Ok(dimension.len.max(0) as usize))
        .collect()?;
    let mut values = Vec::new();
    let mut elements = array.values();
    while let Some(element) = elements.next()? {
        values.push(match element {
            None => Value::Null,
            Some(bytes) => cell_json(decode(member, bytes)?),
        });
    }
    Ok(nest(&lengths, &mut values.into_iter()))
}

fn nest(lengths: &[usize], values: &mut impl Iterator<Item = Value>) -> Value {
    match lengths.split_first() {
        None => Value::Array(Vec::new()),
        Some((length, [])) => Value::Array(values.take(*length).collect()),
        Some((length, rest)) => Value::Array((0..*length).map(|_| nest(rest, values)).collect()),
    }
}

fn cell_json(cell: Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Bool(flag) => Value::Bool(flag),
        Cell::Int(integer) => Value::from(integer),
        Cell::Float(float) => {
            serde_json::Number::from_f64(float).map_or(Value::Null, Value::Number)
        }
        Cell::Text(text) => Value::String(text),
        Cell::Date(date) => Value::String(date.format("%Y-%m-%d").to_string()),
        Cell::NaiveDateTime(naive) => {
            Value::String(naive.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
        }
        Cell::DateTime(datetime) => Value::String(datetime.to_rfc3339()),
        Cell::Json(value) => value,
    }
}

/// NUMERIC's binary form (base-10000 digits, weight, sign, display scale) as decimal text.
fn numeric_text(
    raw: &[u8],
) -> std::result::Result<String, Box<dyn std::error::Error + Sync + Send>> {
    let word =
        |index: usize| -> std::result::Result<u16, Box<dyn std::error::Error + Sync + Send>> {
            raw.get(index * 2..index * 2 + 2)
                .map(|bytes| u16::from_be_bytes([bytes[0], bytes[1]]))
                .ok_or_else(|| "truncated numeric".into())
        };
    let n_digits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let scale = usize::from(word(3)?);
    match sign {
        0xC000 => return Ok("NaN".to_owned()),
        0xD000 => return Ok("Infinity".to_owned()),
        0xF000 => return Ok("-Infinity".to_owned()),
        _ => {}
    }
    let digits: Vec<u16> = (0..n_digits)
        .map(|index| word(4 + index))
        .collect::<std::result::Result<_, _>>()?;
    let mut integer_part = String::new();
    for group in 0..=weight.max(-1) {
        let digit = usize::try_from(group)
            .ok()
            .and_then(|group| digits.get(group))
            .copied()
            .unwrap_or(0);
        if integer_part.is_empty() {
            if digit != 0 {
                integer_part = digit.to_string();
            }
        } else {
            integer_part.push_str(&format!("{digit:04}"));
        }
    }
    if integer_part.is_empty() {
        integer_part.push('0');
    }
    let mut fraction = String::new();
    let mut group = weight + 1;
    while fraction.len() < scale {
        let digit = usize::try_from(group)
            .ok()
            .and_then(|group| digits.get(group))
            .copied()
            .unwrap_or(0);
        fraction.push_str(&format!("{digit:04}"));
        group += 1;
    }
    fraction.truncate(scale);
    let mut text = String::with_capacity(integer_part.len() + fraction.len() + 2);
    if sign == 0x4000 {
        text.push('-');
    }
    text.push_str(&integer_part);
    if !fraction.is_empty() {
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

/// INTERVAL's binary form in PostgreSQL's default output style (`1 year 2 mons 3 days 04:05:06`).
fn interval_text(
    raw: &[u8],
) -> std::result::Result<String, Box<dyn std::error::Error + Sync + Send>> {
    if raw.len() != 16 {
        return Err("bad interval length".into());
    }
    let micros = i64::from_be_bytes(raw[0..8].try_into()?);
    let days = i32::from_be_bytes(raw[8..12].try_into()?);
    let months = i32::from_be_bytes(raw[12..16].try_into()?);
    let mut parts = Vec::new();
    let (years, months) = (months / 12, months % 12);
    let plural =
        |n: i32, one: &str, many: &str| format!("{n} {}", if n.abs() == 1 { one } else { many });
    if years != 0 {
        parts.push(plural(years, "year", "years"));
    }
    if months != 0 {
        parts.push(plural(months, "mon", "mons"));
    }
    if days != 0 {
        parts.push(plural(days, "day", "days"));
    }
    if micros != 0 || parts.is_empty() {
        let sign = if micros < 0 { "-" } else { "" };
        let total = micros.unsigned_abs();
        let seconds = total / 1_000_000;
        let fraction = total % 1_000_000;
        let mut time = format!(
            "{sign}{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
        if fraction != 0 {
            time.push_str(format!(".{fraction:06}").trim_end_matches('0'));
        }
        parts.push(time);
    }
    Ok(parts.join(" "))
}

/// A text value (simple protocol) of a column whose type the prepare told us.
fn decode_text(pg_type: &Type, text: &str) -> Cell {
    let base = match pg_type.kind() {
        PgKind::Domain(base) => base,
        _ => pg_type,
    };
    match *base {
        Type::BOOL => match text {
            "t" => Cell::Bool(true),
            "f" => Cell::Bool(false),
            _ => Cell::Text(text.to_owned()),
        },
        Type::JSON | Type::JSONB => {
            serde_json::from_str(text).map_or_else(|_| Cell::Text(text.to_owned()), Cell::Json)
        }
        _ => match column_type(base) {
            ColumnType::String | ColumnType::Null | ColumnType::Boolean => {
                Cell::Text(text.to_owned())
            }
            other => guess::text_cell(text, other),
        },
    }
}

/// The type a parameter is declared with; NULL lets the server infer it.
fn param_type(param: &BoundParam) -> Type {
    match param {
        BoundParam::Null => Type::UNKNOWN,
        BoundParam::Bool(_) => Type::BOOL,
        BoundParam::Int(_) => Type::INT8,
        BoundParam::Float(_) => Type::FLOAT8,
        BoundParam::Text(_) => Type::TEXT,
        BoundParam::Date(_) => Type::DATE,
        BoundParam::DateTime(_) => Type::TIMESTAMP,
    }
}

impl ToSql for BoundParam {
    fn to_sql(
        &self,
        pg_type: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Each value is encoded as the type `param_type` declared for it; the server converts.
        match self {
            BoundParam::Null => return Ok(IsNull::Yes),
            BoundParam::Bool(flag) => wire::bool_to_sql(*flag, out),
            BoundParam::Int(integer) => wire::int8_to_sql(*integer, out),
            BoundParam::Float(float) => wire::float8_to_sql(*float, out),
            BoundParam::Text(text) => wire::text_to_sql(text, out),
            BoundParam::Date(date) => {
                let days = (*date - pg_epoch().date()).num_days();
                wire::date_to_sql(i32::try_from(days)?, out);
            }
            BoundParam::DateTime(datetime) => {
                let micros = (*datetime - pg_epoch())
                    .num_microseconds()
                    .ok_or("timestamp out of range")?;
                wire::timestamp_to_sql(micros, out);
            }
        }
        let _ = pg_type;
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(n_digits: u16, weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for word in [n_digits, weight as u16, sign, scale].iter().chain(digits) {
            raw.extend_from_slice(&word.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numeric_binary_becomes_decimal_text() {
        let check = |raw: Vec<u8>, expected: &str| {
            assert_eq!(numeric_text(&raw).expect("valid numeric"), expected);
        };
        check(numeric(2, 0, 0, 2, &[12, 3400]), "12.34");
        check(numeric(1, 1, 0x4000, 0, &[5]), "-50000");
        check(numeric(1, -1, 0, 4, &[5]), "0.0005");
        check(numeric(0, 0, 0, 0, &[]), "0");
        check(numeric(3, 2, 0, 0, &[1, 0, 7]), "100000007");
        check(numeric(0, 0, 0xC000, 0, &[]), "NaN");
    }

    #[test]
    fn interval_binary_reads_like_postgres() {
        let raw = |micros: i64, days: i32, months: i32| {
            let mut bytes = micros.to_be_bytes().to_vec();
            bytes.extend_from_slice(&days.to_be_bytes());
            bytes.extend_from_slice(&months.to_be_bytes());
            bytes
        };
        assert_eq!(
            interval_text(&raw(14_706_000_000, 3, 14)).expect("valid"),
            "1 year 2 mons 3 days 04:05:06"
        );
        assert_eq!(interval_text(&raw(0, 0, 0)).expect("valid"), "00:00:00");
        assert_eq!(
            interval_text(&raw(1_500_000, 1, 0)).expect("valid"),
            "1 day 00:00:01.5"
        );
    }

    #[test]
    fn dsn_accepts_known_parameters_only() {
        let mut config = Config::new();
        assert!(apply_dsn(&mut config, "application_name=redash connect_timeout=5").is_ok());
        assert!(apply_dsn(&mut config, "sslcompression=1").is_err());
    }
}
