//! CSV (`csv`) and JSON (`json`) over a URL, with Redash's YAML query syntax (`url: …`).
//!
//! The body is streamed to a temporary file (never held in memory), then read twice on the
//! blocking pool: once to learn the columns and their types from every value, once to send the
//! rows. Private, loopback and link-local addresses are refused unless the context allows them
//! (see `http`); redirects are not followed.

use std::collections::HashMap;
use std::io::{BufReader, Seek, Write};
use std::time::Duration;

use dashi_core::{Cell, Column, ColumnType, RowSink};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::blocking::{self, Feed};
use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::guard::{self, Engine, Query};
use crate::guess;
use crate::http::{self, ClientSettings};
use crate::option::Options;
use crate::runner::{Runner, RunnerContext, Schema};
use crate::tls::Verify;

pub(crate) const CSV: Kind = Kind {
    type_name: "csv",
    display_name: "CSV",
    syntax: "yaml",
    supports_auto_limit: false,
    placeholders: None,
    options: csv_schema,
    open: open_csv,
};

pub(crate) const JSON: Kind = Kind {
    type_name: "json",
    display_name: "JSON",
    syntax: "yaml",
    supports_auto_limit: false,
    placeholders: None,
    options: json_schema,
    open: open_json,
};

/// The largest body a URL query may download.
const MAX_BODY_BYTES: u64 = 1 << 30;
/// How long connecting to the endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

fn csv_schema() -> Value {
    json!({"type": "object", "properties": {}})
}

fn json_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "base_url": {"type": "string", "title": "Base URL"},
            "username": {"type": "string", "title": "HTTP Basic Auth Username"},
            "password": {"type": "string", "title": "HTTP Basic Auth Password"},
        },
        "secret": ["password"],
        "order": ["base_url", "username", "password"],
    })
}

fn open_csv(_options: &Map<String, Value>, context: &RunnerContext) -> Result<Box<dyn Runner>> {
    Ok(guard::guarded(
        UrlSource::new(Format::Csv, None, None, context)?,
        false,
    ))
}

fn open_json(options: &Map<String, Value>, context: &RunnerContext) -> Result<Box<dyn Runner>> {
    let options = Options(options);
    let base_url = match options.text("base_url")? {
        None => None,
        Some(base) => Some(
            url::Url::parse(&base)
                .map_err(|_| Error::invalid_option("base_url", "is not a URL"))?,
        ),
    };
    let auth = match (options.text("username")?, options.text("password")?) {
        (None, None) => None,
        (user, password) => Some((user.unwrap_or_default(), password)),
    };
    Ok(guard::guarded(
        UrlSource::new(Format::Json, base_url, auth, context)?,
        false,
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

struct UrlSource {
    format: Format,
    base_url: Option<url::Url>,
    auth: Option<(String, Option<String>)>,
    allow_private_addresses: bool,
    client: reqwest::Client,
}

/// A URL query, read from its YAML.
#[derive(Debug, Default)]
struct Request {
    url: String,
    method: reqwest::Method,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    auth: Option<(String, Option<String>)>,
    /// CSV: the field delimiter.
    delimiter: u8,
    /// JSON: the dotted path to the rows.
    path: Vec<String>,
    /// JSON: which columns to keep, in this order.
    fields: Option<Vec<String>>,
}

#[derive(Debug)]
enum Body {
    Json(Value),
    Text(String),
}

impl UrlSource {
    fn new(
        format: Format,
        base_url: Option<url::Url>,
        auth: Option<(String, Option<String>)>,
        context: &RunnerContext,
    ) -> Result<UrlSource> {
        let client = http::client(ClientSettings {
            allow_private_addresses: context.allow_private_addresses,
            verify: Verify::Full,
            connect_timeout: CONNECT_TIMEOUT,
        })?;
        Ok(UrlSource {
            format,
            base_url,
            auth,
            allow_private_addresses: context.allow_private_addresses,
            client,
        })
    }

    fn parse(&self, text: &str) -> Result<Request> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::BadQuery("Query is empty.".to_owned()));
        }
        let value: Value = serde_norway::from_str(text)
            .map_err(|error| Error::BadQuery(format!("the query is not valid YAML: {error}")))?;
        let Value::Object(map) = value else {
            return Err(Error::BadQuery(
                "Query should be a YAML object describing the URL to query.".to_owned(),
            ));
        };
        let mut request = Request {
            method: reqwest::Method::GET,
            delimiter: b',',
            ..Request::default()
        };
        let string = |key: &str, value: &Value| -> Result<String> {
            match value {
                Value::String(text) => Ok(text.clone()),
                Value::Number(number) => Ok(number.to_string()),
                Value::Bool(flag) => Ok(flag.to_string()),
                _ => Err(Error::BadQuery(format!("'{key}' must be a string"))),
            }
        };
        let pairs = |key: &str, value: &Value| -> Result<Vec<(String, String)>> {
            let Value::Object(entries) = value else {
                return Err(Error::BadQuery(format!("'{key}' must be a mapping")));
            };
            entries
                .iter()
                .map(|(name, value)| Ok((name.clone(), string(key, value)?)))
                .collect()
        };
        for (key, value) in &map {
            match (self.format, key.as_str()) {
                (_, "url") => request.url = string(key, value)?,
                (Format::Csv, "user-agent") => request
                    .headers
                    .push(("User-Agent".to_owned(), string(key, value)?)),
                (Format::Csv, "sep" | "delimiter") => {
                    let delimiter = string(key, value)?;
                    match delimiter.as_bytes() {
                        [byte] => request.delimiter = *byte,
                        _ => return Err(Error::BadQuery(format!("'{key}' must be one character"))),
                    }
                }
                (Format::Json, "method") => {
                    request.method = match string(key, value)?.to_ascii_lowercase().as_str() {
                        "get" => reqwest::Method::GET,
                        "post" => reqwest::Method::POST,
                        _ => {
                            return Err(Error::BadQuery(
                                "Only GET or POST methods are allowed.".to_owned(),
                            ));
                        }
                    }
                }
                (Format::Json, "params") => request.params = pairs(key, value)?,
                (Format::Json, "headers") => request.headers.extend(pairs(key, value)?),
                (Format::Json, "json") => request.body = Some(Body::Json(value.clone())),
                (Format::Json, "data") => {
                    request.body = Some(match value {
                        Value::Object(_) => Body::Text(
                            pairs(key, value)?
                                .iter()
                                .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
                                .collect::<Vec<_>>()
                                .join("&"),
                        ),
                        other => Body::Text(string(key, other)?),
                    })
                }
                (Format::Json, "auth") => match value {
                    Value::Array(parts) if parts.len() == 2 => {
                        request.auth =
                            Some((string(key, &parts[0])?, Some(string(key, &parts[1])?)));
                    }
                    _ => {
                        return Err(Error::BadQuery(
                            "'auth' must be a list of user and password".to_owned(),
                        ));
                    }
                },
                (Format::Json, "path") => {
                    request.path = string(key, value)?.split('.').map(str::to_owned).collect();
                }
                (Format::Json, "fields") => match value {
                    Value::Array(fields) => {
                        request.fields = Some(
                            fields
                                .iter()
                                .map(|field| string(key, field))
                                .collect::<Result<_>>()?,
                        );
                    }
                    _ => return Err(Error::BadQuery("'fields' needs to be a list.".to_owned())),
                },
                (_, other) => {
                    return Err(Error::BadQuery(format!(
                        "the query option '{other}' is not supported"
                    )));
                }
            }
        }
        if request.url.is_empty() {
            return Err(Error::BadQuery(
                "Query must include 'url' option.".to_owned(),
            ));
        }
        Ok(request)
    }

    /// Downloads the body into a temporary file, checking the address first.
    async fn download(
        &self,
        request: &Request,
        cancel: &CancellationToken,
    ) -> Result<std::fs::File> {
        let url = match &self.base_url {
            Some(base) => base.join(&request.url),
            None => url::Url::parse(&request.url),
        }
        .map_err(|_| Error::BadQuery("'url' is not a valid URL".to_owned()))?;
        http::check_url(&url, self.allow_private_addresses)?;
        let target = http::display_target(&url);
        let mut builder = self.client.request(request.method.clone(), url.clone());
        if !request.params.is_empty() {
            let mut with_params = url.clone();
            with_params.query_pairs_mut().extend_pairs(&request.params);
            builder = self.client.request(request.method.clone(), with_params);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some((user, password)) = request.auth.as_ref().or(self.auth.as_ref()) {
            builder = builder.basic_auth(user, password.as_ref());
        }
        builder = match &request.body {
            None => builder,
            Some(Body::Json(body)) => builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(
                    serde_json::to_vec(body).map_err(|error| Error::BadQuery(error.to_string()))?,
                ),
            Some(Body::Text(body)) => builder
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone()),
        };
        let response = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            response = builder.send() => response.map_err(|error| http::request_error(&target, error))?,
        };
        if !response.status().is_success() {
            return Err(Error::HttpStatus {
                target,
                status: response.status().as_u16(),
            });
        }
        let mut file = tempfile::tempfile()
            .map_err(|error| Error::Internal(format!("temporary file: {error}")))?;
        let mut response = response;
        let mut n_bytes: u64 = 0;
        loop {
            let chunk = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(Error::Cancelled),
                chunk = response.chunk() => chunk.map_err(|error| http::request_error(&target, error))?,
            };
            let Some(chunk) = chunk else { break };
            n_bytes += chunk.len() as u64;
            if n_bytes > MAX_BODY_BYTES {
                return Err(Error::BadQuery(format!(
                    "the response is larger than {MAX_BODY_BYTES} bytes"
                )));
            }
            // Local disk writes are short; a blocking write per chunk keeps the code plain.
            file.write_all(&chunk)
                .map_err(|error| Error::Internal(format!("temporary file: {error}")))?;
        }
        rewind(&mut file)?;
        Ok(file)
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[async_trait::async_trait]
impl Engine for UrlSource {
    async fn run(
        &self,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()> {
        if !query.params.is_empty() {
            return Err(Error::Unsupported(
                "URL data sources do not bind parameters",
            ));
        }
        let request = self.parse(query.sql)?;
        let file = self.download(&request, cancel).await?;
        let format = self.format;
        blocking::drive(
            move |feed| match format {
                Format::Csv => read_csv(file, request.delimiter, feed),
                Format::Json => read_json(file, &request.path, request.fields.as_deref(), feed),
            },
            sink,
            cancel,
        )
        .await
    }

    async fn schema(&self) -> Result<Schema> {
        Err(Error::Unsupported(
            "Data source type does not support retrieving schema",
        ))
    }

    async fn test_connection(&self) -> Result<()> {
        // Redash compat: URL sources have nothing to connect to until a query names a URL.
        Ok(())
    }
}

fn rewind(file: &mut std::fs::File) -> Result<()> {
    file.rewind()
        .map_err(|error| Error::Internal(format!("temporary file: {error}")))
}

fn read_csv(mut file: std::fs::File, delimiter: u8, feed: &Feed) -> Result<()> {
    let bad_csv =
        |error: csv::Error| Error::BadQuery(format!("the response is not valid CSV: {error}"));
    let (names, types) = {
        let mut csv = csv_reader(&mut file, delimiter);
        let names: Vec<String> = csv
            .headers()
            .map_err(bad_csv)?
            .iter()
            .map(str::to_owned)
            .collect();
        let mut types = vec![ColumnType::Null; names.len()];
        let mut record = csv::StringRecord::new();
        while csv.read_record(&mut record).map_err(bad_csv)? {
            for (column_type, value) in types.iter_mut().zip(record.iter()) {
                *column_type = guess::merge(*column_type, guess::text_type(value));
            }
        }
        (names, types)
    };
    let types: Vec<ColumnType> = types
        .into_iter()
        .map(|kind| {
            if kind == ColumnType::Null {
                ColumnType::String
            } else {
                kind
            }
        })
        .collect();
    feed.columns(new_columns(names.iter().map(String::as_str), &types))?;
    rewind(&mut file)?;
    let mut csv = csv_reader(&mut file, delimiter);
    let mut record = csv::StringRecord::new();
    while csv.read_record(&mut record).map_err(bad_csv)? {
        let cells = types
            .iter()
            .enumerate()
            .map(|(index, column_type)| {
                record
                    .get(index)
                    .map_or(Cell::Null, |text| guess::text_cell(text, *column_type))
            })
            .collect();
        feed.row(cells)?;
    }
    Ok(())
}

fn csv_reader(
    file: &mut std::fs::File,
    delimiter: u8,
) -> csv::Reader<BufReader<&mut std::fs::File>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(BufReader::new(file))
}

fn new_columns<'a>(names: impl Iterator<Item = &'a str>, types: &[ColumnType]) -> Vec<Column> {
    names
        .zip(types)
        .map(|(name, column_type)| Column {
            name: name.to_owned(),
            friendly_name: name.to_owned(),
            column_type: *column_type,
        })
        .collect()
}

/// Redash compat: an object's nested objects become `outer.inner` columns (one level), and
/// `fields` keeps the named columns (outer or dotted names).
fn flatten(
    item: Map<String, Value>,
    fields: Option<&[String]>,
    mut visit: impl FnMut(String, Value),
) {
    let wanted = |name: &str| fields.is_none_or(|fields| fields.iter().any(|field| field == name));
    for (key, value) in item {
        match value {
            Value::Object(inner) => {
                for (inner_key, inner_value) in inner {
                    let name = format!("{key}.{inner_key}");
                    if wanted(&key) || wanted(&name) {
                        visit(name, inner_value);
                    }
                }
            }
            value if wanted(&key) => visit(key, value),
            _ => {}
        }
    }
}

fn json_type(value: &Value) -> ColumnType {
    match value {
        Value::Null => ColumnType::Null,
        Value::Bool(_) => ColumnType::Boolean,
        Value::Number(number) if number.is_i64() => ColumnType::Integer,
        Value::Number(_) => ColumnType::Float,
        _ => ColumnType::String,
    }
}

fn json_cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(flag) => Cell::Bool(flag),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => Cell::Int(integer),
            None => number.as_f64().map_or(Cell::Null, Cell::Float),
        },
        Value::String(text) => Cell::Text(text),
        structured => Cell::Json(structured),
    }
}

fn read_json(
    mut file: std::fs::File,
    path: &[String],
    fields: Option<&[String]>,
    feed: &Feed,
) -> Result<()> {
    let mut positions: HashMap<String, usize> = HashMap::new();
    let mut columns: Vec<(String, ColumnType)> = Vec::new();
    visit_items(&mut file, path, |item| {
        flatten(item, fields, |name, value| {
            let value_type = json_type(&value);
            match positions.get(&name) {
                Some(&index) => columns[index].1 = guess::merge(columns[index].1, value_type),
                None => {
                    positions.insert(name.clone(), columns.len());
                    columns.push((name, value_type));
                }
            }
        });
        Ok(())
    })?;
    if let Some(fields) = fields {
        columns = fields
            .iter()
            .filter_map(|field| positions.get(field).map(|&index| columns[index].clone()))
            .collect();
        positions = columns
            .iter()
            .enumerate()
            .map(|(index, (name, _))| (name.clone(), index))
            .collect();
    }
    if columns.is_empty() {
        return Err(Error::BadQuery(
            "Got empty response from the URL.".to_owned(),
        ));
    }
    let types: Vec<ColumnType> = columns
        .iter()
        .map(|(_, column_type)| *column_type)
        .collect();
    feed.columns(new_columns(
        columns.iter().map(|(name, _)| name.as_str()),
        &types,
    ))?;
    rewind(&mut file)?;
    visit_items(&mut file, path, |item| {
        let mut cells = vec![Cell::Null; columns.len()];
        flatten(item, fields, |name, value| {
            if let Some(&index) = positions.get(&name) {
                cells[index] = json_cell(value);
            }
        });
        feed.row(cells)
    })
}

/// Streams the objects at `path` of the JSON document in `file` to `on_item`, one at a time:
/// each element of an array there, or the one object there.
fn visit_items(
    file: &mut std::fs::File,
    path: &[String],
    mut on_item: impl FnMut(Map<String, Value>) -> Result<()>,
) -> Result<()> {
    let mut failure: Option<Error> = None;
    let mut deserializer = serde_json::Deserializer::from_reader(BufReader::new(&mut *file));
    let seed = AtPath {
        path,
        full_path: path,
        on_item: &mut on_item,
        failure: &mut failure,
    };
    let parsed = seed
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    match (failure, parsed) {
        (Some(error), _) => Err(error),
        (None, Err(error)) => Err(Error::BadQuery(format!(
            "the response is not valid JSON: {error}"
        ))),
        (None, Ok(())) => Ok(()),
    }
}

struct AtPath<'a, F> {
    path: &'a [String],
    full_path: &'a [String],
    on_item: &'a mut F,
    /// The callback's own error, kept whole (a serde error can only carry text).
    failure: &'a mut Option<Error>,
}

impl<'de, F: FnMut(Map<String, Value>) -> Result<()>> DeserializeSeed<'de> for AtPath<'_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, F: FnMut(Map<String, Value>) -> Result<()>> Visitor<'de> for AtPath<'_, F> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.path.is_empty() {
            return Err(missing_path(self.full_path));
        }
        while let Some(item) = seq.next_element::<Value>()? {
            let Value::Object(item) = item else {
                return Err(serde::de::Error::custom("each row must be a JSON object"));
            };
            if let Err(error) = (self.on_item)(item) {
                *self.failure = Some(error);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((wanted, rest)) = self.path.split_first() else {
            // Redash compat: one object where rows were expected is one row.
            let mut item = Map::new();
            while let Some((key, value)) = map.next_entry::<String, Value>()? {
                item.insert(key, value);
            }
            if let Err(error) = (self.on_item)(item) {
                *self.failure = Some(error);
                return Err(serde::de::Error::custom("stopped"));
            }
            return Ok(());
        };
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if !found && &key == wanted {
                found = true;
                map.next_value_seed(AtPath {
                    path: rest,
                    full_path: self.full_path,
                    on_item: &mut *self.on_item,
                    failure: &mut *self.failure,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if found {
            Ok(())
        } else {
            Err(missing_path(self.full_path))
        }
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Err(E::custom("the response is null"))
    }
}

fn missing_path<E: serde::de::Error>(path: &[String]) -> E {
    E::custom(format!(
        "Couldn't find path {} in response.",
        path.join(".")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(document: &str, path: &[&str]) -> Result<Vec<Map<String, Value>>> {
        let mut file = tempfile::tempfile().expect("temporary file");
        file.write_all(document.as_bytes()).expect("write");
        rewind(&mut file)?;
        let path: Vec<String> = path.iter().map(|part| (*part).to_owned()).collect();
        let mut seen = Vec::new();
        visit_items(&mut file, &path, |item| {
            seen.push(item);
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn items_are_found_at_the_path() {
        assert_eq!(
            items(r#"[{"a": 1}, {"a": 2}]"#, &[]).expect("array").len(),
            2
        );
        assert_eq!(items(r#"{"a": 1}"#, &[]).expect("object").len(), 1);
        let nested = r#"{"x": 1, "data": {"rows": [{"a": 1}, {"a": 2}, {"a": 3}]}, "z": [1]}"#;
        assert_eq!(items(nested, &["data", "rows"]).expect("nested").len(), 3);
        let error = items(nested, &["data", "nope"]).expect_err("missing");
        assert!(
            error
                .to_string()
                .contains("Couldn't find path data.nope in response."),
            "{error}"
        );
        assert!(items("[1, 2]", &[]).is_err());
        assert!(items("[{\"a\": 1}", &[]).is_err());
    }

    #[test]
    fn nested_objects_become_dotted_columns() {
        let item = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let mut seen = Vec::new();
        flatten(
            item.as_object().cloned().expect("object"),
            None,
            |name, _| seen.push(name),
        );
        assert_eq!(seen, ["a", "b.c", "b.d", "e"]);
        let mut kept = Vec::new();
        let fields = ["b.d".to_owned(), "a".to_owned()];
        flatten(
            item.as_object().cloned().expect("object"),
            Some(&fields),
            |name, _| kept.push(name),
        );
        assert_eq!(kept, ["a", "b.d"]);
    }
}
