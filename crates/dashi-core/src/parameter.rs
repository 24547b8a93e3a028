//! Query parameters: the definitions stored in `queries.options.parameters[]`, validating the
//! values a caller sends against them, and turning a query's Mustache text into the text to run.
//!
//! Everything follows Redash, including its error messages: a value is checked against its
//! definition's type (text, text-pattern, number, enum, query-based dropdown, the three date types
//! and the three range types), names without a definition are rejected, multi-value lists are
//! joined with the definition's prefix, suffix and separator, and the text is rendered with
//! escaping off. Any `text` parameter makes a query unsafe. With no definitions at all (ad-hoc
//! queries, `/refresh`) every value is accepted, as in Redash.
//!
//! Beyond Redash: dynamic date values (`d_now`, `d_last_7_days`, …) are resolved here from a
//! `now` the caller supplies, because Redash resolves them only in the browser and so scheduled
//! runs of such queries fail there; default values can fill in what the caller left out; and
//! values of number, text and date types also come out typed ([`BoundValue`]), so that
//! [`AppliedQuery::prepare`] can bind them on data sources whose driver binds (`bind.rs` says
//! where). Enum and query-dropdown values come from a closed set and are always rendered, as is
//! everything for data sources that do not bind. This module never reads a clock.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::bind::{self, BoundText, Occurrence, Placeholders};
use crate::mustache::{self, Escape, MustacheError, Node, Template};

/// A parameter's `type`. Unknown names survive a round trip but no value is valid for them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ParameterType {
    Text,
    TextPattern,
    Number,
    Enum,
    Query,
    Date,
    DatetimeLocal,
    DatetimeWithSeconds,
    DateRange,
    DatetimeRange,
    DatetimeRangeWithSeconds,
    Other(String),
}

impl ParameterType {
    /// The name stored in `type`.
    pub fn as_str(&self) -> &str {
        match self {
            ParameterType::Text => "text",
            ParameterType::TextPattern => "text-pattern",
            ParameterType::Number => "number",
            ParameterType::Enum => "enum",
            ParameterType::Query => "query",
            ParameterType::Date => "date",
            ParameterType::DatetimeLocal => "datetime-local",
            ParameterType::DatetimeWithSeconds => "datetime-with-seconds",
            ParameterType::DateRange => "date-range",
            ParameterType::DatetimeRange => "datetime-range",
            ParameterType::DatetimeRangeWithSeconds => "datetime-range-with-seconds",
            ParameterType::Other(name) => name,
        }
    }

    /// How Redash's UI writes values of a date or range type (as a chrono format).
    fn date_format(&self) -> Option<&'static str> {
        match self {
            ParameterType::Date | ParameterType::DateRange => Some("%Y-%m-%d"),
            ParameterType::DatetimeLocal | ParameterType::DatetimeRange => Some("%Y-%m-%d %H:%M"),
            ParameterType::DatetimeWithSeconds | ParameterType::DatetimeRangeWithSeconds => {
                Some("%Y-%m-%d %H:%M:%S")
            }
            _ => None,
        }
    }

    fn is_range(&self) -> bool {
        matches!(
            self,
            ParameterType::DateRange
                | ParameterType::DatetimeRange
                | ParameterType::DatetimeRangeWithSeconds
        )
    }
}

impl From<String> for ParameterType {
    fn from(name: String) -> ParameterType {
        match name.as_str() {
            "text" => ParameterType::Text,
            "text-pattern" => ParameterType::TextPattern,
            "number" => ParameterType::Number,
            "enum" => ParameterType::Enum,
            "query" => ParameterType::Query,
            "date" => ParameterType::Date,
            "datetime-local" => ParameterType::DatetimeLocal,
            "datetime-with-seconds" => ParameterType::DatetimeWithSeconds,
            "date-range" => ParameterType::DateRange,
            "datetime-range" => ParameterType::DatetimeRange,
            "datetime-range-with-seconds" => ParameterType::DatetimeRangeWithSeconds,
            _ => ParameterType::Other(name),
        }
    }
}

impl From<ParameterType> for String {
    fn from(kind: ParameterType) -> String {
        kind.as_str().to_owned()
    }
}

/// `enumOptions`: Redash's UI stores one string with an option per line; a list also works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnumOptions {
    Lines(String),
    List(Vec<String>),
}

impl EnumOptions {
    /// The allowed values.
    pub fn options(&self) -> Vec<&str> {
        match self {
            EnumOptions::Lines(text) => text.split('\n').collect(),
            EnumOptions::List(items) => items.iter().map(String::as_str).collect(),
        }
    }
}

/// `multiValuesOptions`: its presence lets an `enum` or `query` parameter take a list. The list
/// is rendered as `separator.join(prefix + value + suffix)`, defaults `,`, `""`, `""`.
/// `quoteCharacter` is what the UI chose; only `prefix` and `suffix` are used, as in Redash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiValuesOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_character: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `queries.options.parameters[]`, in Redash's spelling. Keys this type does not
/// name are kept in `extra` and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterDefinition {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub kind: ParameterType,
    /// The default value: what scheduled runs use, and what fills in an omitted value.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_options: Option<EnumOptions>,
    /// The pattern a `text-pattern` value must match in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// The query whose result lists a `query` parameter's values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_query_id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_values_options: Option<MultiValuesOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locals: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ParameterDefinition {
    /// `queryId` as a number, when it is one (or a string of one).
    pub fn dropdown_query_id(&self) -> Option<i64> {
        match self.query_id.as_ref()? {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    fn allows_multiple_values(&self) -> bool {
        self.multi_values_options.is_some()
    }

    /// The UI's "use the current date/time when empty" switch for date types.
    fn uses_current_date_time(&self) -> bool {
        self.extra
            .get("useCurrentDateTime")
            .is_some_and(|flag| flag == &Value::Bool(true))
    }
}

/// The allowed values of one `query`-type parameter, looked up by the caller from the latest
/// result of the dropdown query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropdownValues {
    /// The `value` column of each row, as text.
    Values(Vec<String>),
    /// The dropdown query has no data source, so it has no values.
    Detached { query_id: i64 },
}

/// What [`Parameters::apply`] needs besides the definitions and the values.
#[derive(Debug, Clone, Copy)]
pub struct ApplyContext<'a> {
    /// Wall-clock "now" in the zone dynamic dates are meant in (UTC unless the caller knows
    /// the user's zone); resolves `d_now`, `d_this_week` and the like.
    pub now: NaiveDateTime,
    /// The allowed values of each `query`-type parameter, by parameter name. A missing entry
    /// means no value is allowed.
    pub dropdowns: &'a BTreeMap<String, DropdownValues>,
    /// Whether definitions' default values stand in for values the caller did not send.
    /// Redash does this only for scheduled runs; an interactive run without it reports them
    /// as missing.
    pub fill_defaults: bool,
}

/// A parameter value typed for a runner that binds instead of splicing text. Carried in the
/// job payload from the server to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum BoundValue {
    Text(String),
    Number(f64),
    Int(i64),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

/// Why parameter values could not be applied. The messages are Redash's, word for word.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParameterError {
    /// Values that fail their definition's check, or have no definition. Redash answers 400
    /// with this as `message`.
    #[error("The following parameter values are incompatible with their definitions: {}", .names.join(", "))]
    Incompatible { names: Vec<String> },
    /// A `query` parameter's dropdown query has no data source. Redash answers 400.
    #[error("This query is detached from any data source. Please select a different query.")]
    DropdownQueryDetached { query_id: i64 },
    /// Names the template uses that were given no value. Redash answers 400 with a failed job
    /// (status 4) carrying this as its error.
    #[error("Missing parameter value for: {}", .names.join(", "))]
    Missing { names: Vec<String> },
    /// The query text is not a valid Mustache template.
    #[error("query text is not a valid template")]
    Template(#[source] MustacheError),
    /// `options.parameters` is not a list of parameter definitions.
    #[error("query parameters are malformed: {reason}")]
    Malformed { reason: String },
}

impl crate::Classify for ParameterError {
    fn fault(&self) -> crate::Fault {
        crate::Fault::Invalid
    }
}

/// A query's parameter definitions (Redash's "schema").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parameters {
    definitions: Vec<ParameterDefinition>,
}

/// The result of applying values to a query's text.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedQuery {
    /// The text to run, rendered as Redash renders it.
    pub text: String,
    /// Each supplied value of a bindable type (number, text, text-pattern, the date and range
    /// types) typed, keyed as the template refers to it (`name`, or `name.start` and `name.end`
    /// for ranges), in the order the values were applied.
    pub values: Vec<(String, BoundValue)>,
    template: Template,
    context: Value,
}

impl AppliedQuery {
    /// The text to send and the values to bind: with `placeholders` (the data source's driver
    /// binds), each occurrence of a typed value that stands as a whole value becomes a
    /// placeholder; everything else is rendered exactly as [`AppliedQuery::text`]. Without
    /// `placeholders`, or when nothing can be bound, the result is `text` with no binds.
    pub fn prepare(&self, placeholders: Option<Placeholders>) -> BoundText {
        let rendered = || BoundText { text: self.text.clone(), binds: Vec::new() };
        let Some(placeholders) = placeholders else { return rendered() };
        if self.values.is_empty() || !bind::can_mark(&self.text) {
            return rendered();
        }
        let context = &self.context;
        let mut occurrences = Vec::new();
        let marked = self.template.render_with(context, Escape::None, &mut |name, resolved| {
            let resolved = resolved?;
            // A name inside a section may resolve to something else than the parameter.
            if !std::ptr::eq(resolved, lookup_path(context, name)?) {
                return None;
            }
            let (_, value) = self.values.iter().find(|(key, _)| key == name)?;
            let marker = bind::marker(occurrences.len())?;
            occurrences.push(Occurrence { rendered: mustache::display(resolved), value: value.clone() });
            Some(marker.to_string())
        });
        if occurrences.is_empty() {
            return rendered();
        }
        bind::place(&marked, &occurrences, placeholders).unwrap_or_else(rendered)
    }
}

fn lookup_path<'v>(root: &'v Value, name: &str) -> Option<&'v Value> {
    name.split('.')
        .try_fold(root, |value, part| value.as_object()?.get(part))
}

impl Parameters {
    pub fn new(definitions: Vec<ParameterDefinition>) -> Parameters {
        Parameters { definitions }
    }

    /// Reads `parameters` from a query's `options` object; absent or null means none.
    pub fn from_query_options(options: &Value) -> Result<Parameters, ParameterError> {
        match options.get("parameters") {
            None | Some(Value::Null) => Ok(Parameters::default()),
            Some(list) => serde_json::from_value(list.clone())
                .map(Parameters::new)
                .map_err(|error| ParameterError::Malformed {
                    reason: error.to_string(),
                }),
        }
    }

    pub fn definitions(&self) -> &[ParameterDefinition] {
        &self.definitions
    }

    /// Redash's safety rule: a query is safe unless one of its parameters has type `text`.
    /// Unsafe queries may not run for view-only users, shared dashboards or embeds.
    pub fn is_safe(&self) -> bool {
        !self
            .definitions
            .iter()
            .any(|definition| definition.kind == ParameterType::Text)
    }

    fn definition(&self, name: &str) -> Option<&ParameterDefinition> {
        self.definitions
            .iter()
            .find(|definition| definition.name == name)
    }

    /// Checks `values` (parameter name → value, as a client sends them) against the
    /// definitions and renders `template` with them.
    ///
    /// In order, as Redash: values that fail their checks give [`ParameterError::Incompatible`]
    /// listing every such name (a detached dropdown query gives
    /// [`ParameterError::DropdownQueryDetached`] at once); then names the template needs but
    /// no value was given for give [`ParameterError::Missing`]. Dynamic date values are
    /// resolved against `context.now` before checking.
    pub fn apply(
        &self,
        template: &str,
        values: &Map<String, Value>,
        context: &ApplyContext<'_>,
    ) -> Result<AppliedQuery, ParameterError> {
        let template = Template::parse(template).map_err(ParameterError::Template)?;
        let mut supplied: Vec<(String, Value)> = values
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if context.fill_defaults {
            for definition in &self.definitions {
                if values.contains_key(&definition.name) {
                    continue;
                }
                let default = if definition.value.is_null() && definition.uses_current_date_time() {
                    Value::String("d_now".to_owned())
                } else {
                    definition.value.clone()
                };
                if !default.is_null() {
                    supplied.push((definition.name.clone(), default));
                }
            }
        }
        for (name, value) in &mut supplied {
            if let Some(definition) = self.definition(name)
                && let Some(resolved) = resolve_dynamic_date(&definition.kind, value, context.now)
            {
                *value = resolved;
            }
        }

        let mut incompatible = Vec::new();
        for (name, value) in &supplied {
            if !self.is_valid(name, value, context)? {
                incompatible.push(name.clone());
            }
        }
        if !incompatible.is_empty() {
            return Err(ParameterError::Incompatible {
                names: incompatible,
            });
        }

        let mut render_context = Map::new();
        for (name, value) in &supplied {
            let rendered = match value {
                Value::Array(items) => Value::String(self.join_list(name, items)),
                other => other.clone(),
            };
            render_context.insert(name.clone(), rendered);
        }
        let render_context = Value::Object(render_context);
        let text = template.render(&render_context, Escape::None);

        let given: Vec<String> = supplied
            .iter()
            .flat_map(|(name, value)| match value {
                Value::Object(map) => map.keys().map(|key| format!("{name}.{key}")).collect(),
                _ => vec![name.clone()],
            })
            .collect();
        let missing: Vec<String> = required_keys(&template)
            .into_iter()
            .filter(|key| !given.contains(key))
            .collect();
        if !missing.is_empty() {
            return Err(ParameterError::Missing { names: missing });
        }

        let mut bound = Vec::new();
        for (name, value) in &supplied {
            let Some(kind) = self.definition(name).map(|definition| &definition.kind) else { continue };
            match value {
                Value::Object(map) => {
                    for (key, inner) in map {
                        if let Some(typed) = bind_value(kind, inner) {
                            bound.push((format!("{name}.{key}"), typed));
                        }
                    }
                }
                _ => {
                    if let Some(typed) = bind_value(kind, value) {
                        bound.push((name.clone(), typed));
                    }
                }
            }
        }
        Ok(AppliedQuery {
            text,
            values: bound,
            template,
            context: render_context,
        })
    }

    /// Redash's per-type check. With no definitions at all, anything goes.
    fn is_valid(
        &self,
        name: &str,
        value: &Value,
        context: &ApplyContext<'_>,
    ) -> Result<bool, ParameterError> {
        if self.definitions.is_empty() {
            return Ok(true);
        }
        let Some(definition) = self.definition(name) else {
            return Ok(false);
        };
        let allow_list = definition.allows_multiple_values();
        let valid = match &definition.kind {
            ParameterType::Text => value.is_string(),
            ParameterType::TextPattern => match (value, &definition.regex) {
                (Value::String(text), Some(pattern)) => matches_fully(pattern, text),
                _ => false,
            },
            ParameterType::Number => is_number(value),
            ParameterType::Enum => match &definition.enum_options {
                Some(options) => is_within_options(value, &options.options(), allow_list),
                None => false,
            },
            ParameterType::Query => match context.dropdowns.get(name) {
                Some(DropdownValues::Detached { query_id }) => {
                    return Err(ParameterError::DropdownQueryDetached {
                        query_id: *query_id,
                    });
                }
                Some(DropdownValues::Values(options)) => {
                    let options: Vec<&str> = options.iter().map(String::as_str).collect();
                    is_within_options(value, &options, allow_list)
                }
                None => false,
            },
            kind if kind.is_range() => match value {
                Value::Object(range) => {
                    [range.get("start"), range.get("end")]
                        .into_iter()
                        .all(|bound| {
                            bound
                                .and_then(Value::as_str)
                                .and_then(parse_date_or_datetime)
                                .is_some()
                        })
                }
                _ => false,
            },
            ParameterType::Date
            | ParameterType::DatetimeLocal
            | ParameterType::DatetimeWithSeconds => {
                value.as_str().and_then(parse_date_or_datetime).is_some()
            }
            _ => false,
        };
        Ok(valid)
    }

    /// Redash's join of a multi-value list: `separator.join(prefix + value + suffix)`.
    fn join_list(&self, name: &str, items: &[Value]) -> String {
        let options = self
            .definition(name)
            .and_then(|definition| definition.multi_values_options.clone())
            .unwrap_or_default();
        let prefix = options.prefix.as_deref().unwrap_or("");
        let suffix = options.suffix.as_deref().unwrap_or("");
        let separator = options.separator.as_deref().unwrap_or(",");
        items
            .iter()
            .map(|item| format!("{prefix}{}{suffix}", mustache::display(item)))
            .collect::<Vec<_>>()
            .join(separator)
    }
}

/// The keys Redash requires values for: the full names of escaped variables (`{{x}}`, not
/// `{{{x}}}` or `{{&x}}`) and of sections, looking inside sections but not inside inverted ones,
/// in order, without duplicates.
fn required_keys(template: &Template) -> Vec<String> {
    fn walk(nodes: &[Node], keys: &mut Vec<String>) {
        for node in nodes {
            let (name, children) = match node {
                Node::Variable {
                    name,
                    escaped: true,
                } => (name, None),
                Node::Section {
                    name,
                    inverted: false,
                    children,
                } => (name, Some(children)),
                _ => continue,
            };
            if !keys.contains(name) {
                keys.push(name.clone());
            }
            if let Some(children) = children {
                walk(children, keys);
            }
        }
    }
    let mut keys = Vec::new();
    walk(template.nodes(), &mut keys);
    keys
}

/// How Python's `str()` prints a JSON value; enum and dropdown checks compare these.
fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        other => mustache::display(other),
    }
}

fn is_within_options(value: &Value, options: &[&str], allow_list: bool) -> bool {
    match value {
        Value::Array(items) => {
            allow_list
                && items
                    .iter()
                    .all(|item| options.contains(&python_str(item).as_str()))
        }
        other => options.contains(&python_str(other).as_str()),
    }
}

/// Python's `re.fullmatch`; a pattern our regex engine cannot compile matches nothing.
fn matches_fully(pattern: &str, text: &str) -> bool {
    regex::Regex::new(&format!(r"\A(?:{pattern})\z")).is_ok_and(|regex| regex.is_match(text))
}

/// Redash's number check: any JSON number (booleans too, as Python counts them), or a string
/// Python's `float()` accepts.
fn is_number(value: &Value) -> bool {
    match value {
        Value::Number(_) | Value::Bool(_) => true,
        Value::String(text) => parse_python_float(text).is_some(),
        _ => false,
    }
}

/// Python's `float()` on a string: surrounding whitespace allowed, `_` only between digits,
/// `inf`/`infinity`/`nan` in any case.
fn parse_python_float(text: &str) -> Option<f64> {
    let trimmed =
        text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
    let bytes = trimmed.as_bytes();
    let mut cleaned = String::with_capacity(trimmed.len());
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'_' {
            let digit_before = index > 0 && bytes[index - 1].is_ascii_digit();
            let digit_after = bytes.get(index + 1).is_some_and(u8::is_ascii_digit);
            if !(digit_before && digit_after) {
                return None;
            }
        } else {
            cleaned.push(char::from(byte));
        }
    }
    if !trimmed.is_ascii() {
        return None;
    }
    cleaned.parse().ok()
}

/// A date or date-time in the forms Redash's UI and API clients send: `YYYY-MM-DD`, optionally
/// followed (after a space or `T`) by `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff`, optionally with a
/// `Z` or `±HH:MM` offset (dropped: the wall-clock time is kept). Redash's own parser accepts
/// more (prose dates such as "Jan 5 2024"); those are rejected here, because a value must have a
/// type to be bound.
fn parse_date_or_datetime(text: &str) -> Option<BoundValue> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(BoundValue::Date(date));
    }
    if let Ok(with_offset) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(BoundValue::DateTime(with_offset.naive_local()));
    }
    let without_zone = text.strip_suffix('Z').unwrap_or(text);
    for format in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(date_time) = NaiveDateTime::parse_from_str(without_zone, format) {
            return Some(BoundValue::DateTime(date_time));
        }
    }
    None
}

/// The typed value of a checked value of a bindable type; `None` for other types (enum and
/// query values come from a closed set and stay rendered) and for nulls (they render as
/// nothing).
fn bind_value(kind: &ParameterType, value: &Value) -> Option<BoundValue> {
    match (kind, value) {
        (ParameterType::Number, Value::Number(number)) => Some(match number.as_i64() {
            Some(int) => BoundValue::Int(int),
            None => BoundValue::Number(number.as_f64().unwrap_or(f64::NAN)),
        }),
        (ParameterType::Number, Value::String(text)) => {
            let trimmed = text.trim();
            match trimmed.parse::<i64>() {
                Ok(int) => Some(BoundValue::Int(int)),
                Err(_) => parse_python_float(trimmed).map(BoundValue::Number),
            }
        }
        (ParameterType::Number, Value::Bool(flag)) => Some(BoundValue::Int(i64::from(*flag))),
        (ParameterType::Text | ParameterType::TextPattern, Value::String(text)) => Some(BoundValue::Text(text.clone())),
        (kind, Value::String(text)) if kind.date_format().is_some() => parse_date_or_datetime(text),
        _ => None,
    }
}

/// Resolves a dynamic date token (`d_now`, `d_last_7_days`, …) into the concrete value Redash's
/// UI would have sent for a parameter of `kind`: a formatted string for date types, a
/// `{start, end}` object for range types. Anything else is left alone (`None`).
fn resolve_dynamic_date(kind: &ParameterType, value: &Value, now: NaiveDateTime) -> Option<Value> {
    let token = value.as_str()?.strip_prefix("d_")?;
    let format = kind.date_format()?;
    let show = |moment: NaiveDateTime| Value::String(moment.format(format).to_string());
    if !kind.is_range() {
        let moment = match token {
            "now" => now,
            "yesterday" => now - Duration::days(1),
            _ => return None,
        };
        return Some(show(moment));
    }
    let (start, end) = dynamic_range(token, now)?;
    let mut range = Map::new();
    range.insert("start".to_owned(), show(start));
    range.insert("end".to_owned(), show(end));
    Some(Value::Object(range))
}

/// Redash's UI presets for range parameters. Weeks start on Sunday (the UI's calendar locale);
/// an end "of" a period is its last millisecond, which the formats print as `23:59(:59)`.
fn dynamic_range(token: &str, now: NaiveDateTime) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let start_of_day = |moment: NaiveDateTime| moment.date().and_time(NaiveTime::MIN);
    let end_of_day = |moment: NaiveDateTime| {
        moment
            .date()
            .and_hms_milli_opt(23, 59, 59, 999)
            .expect("23:59:59.999 is a valid time")
    };
    let start_of_week = |moment: NaiveDateTime| {
        start_of_day(moment - Duration::days(i64::from(moment.weekday().num_days_from_sunday())))
    };
    let start_of_month =
        |moment: NaiveDateTime| start_of_day(moment.with_day(1).expect("day 1 exists"));
    let start_of_year =
        |moment: NaiveDateTime| start_of_month(moment.with_month(1).expect("January exists"));
    let months_back = |months: u32| now.checked_sub_months(Months::new(months));
    let days_back = |days: i64| start_of_day(now - Duration::days(days));
    let hours_back = |hours: i64| now - Duration::hours(hours);
    let last_millisecond_before = |moment: NaiveDateTime| moment - Duration::milliseconds(1);

    let range = match token {
        "today" => (start_of_day(now), end_of_day(now)),
        "yesterday" => {
            let yesterday = now - Duration::days(1);
            (start_of_day(yesterday), end_of_day(yesterday))
        }
        "this_week" => {
            let start = start_of_week(now);
            (start, end_of_day(start + Duration::days(6)))
        }
        "this_month" => {
            let start = start_of_month(now);
            (
                start,
                last_millisecond_before(start.checked_add_months(Months::new(1))?),
            )
        }
        "this_year" => {
            let start = start_of_year(now);
            (
                start,
                last_millisecond_before(start.checked_add_months(Months::new(12))?),
            )
        }
        "last_week" => {
            let start = start_of_week(now - Duration::weeks(1));
            (start, end_of_day(start + Duration::days(6)))
        }
        "last_month" => {
            let start = start_of_month(months_back(1)?);
            (start, last_millisecond_before(start_of_month(now)))
        }
        "last_year" => {
            let start = start_of_year(months_back(12)?);
            (start, last_millisecond_before(start_of_year(now)))
        }
        "last_hour" => (hours_back(1), now),
        "last_8_hours" => (hours_back(8), now),
        "last_24_hours" => (hours_back(24), now),
        "last_7_days" => (days_back(7), now),
        "last_14_days" => (days_back(14), now),
        "last_30_days" => (days_back(30), now),
        "last_60_days" => (days_back(60), now),
        "last_90_days" => (days_back(90), now),
        "last_12_months" => (start_of_day(months_back(12)?), now),
        "last_2_years" => (start_of_day(months_back(24)?), now),
        "last_3_years" => (start_of_day(months_back(36)?), now),
        "last_10_years" => (start_of_day(months_back(120)?), now),
        _ => return None,
    };
    Some(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> NaiveDateTime {
        // A Wednesday.
        NaiveDate::from_ymd_opt(2024, 3, 13)
            .unwrap()
            .and_hms_opt(14, 35, 20)
            .unwrap()
    }

    fn parameters(definitions: Value) -> Parameters {
        Parameters::from_query_options(&json!({ "parameters": definitions }))
            .expect("definitions parse")
    }

    fn apply_with(
        parameters: &Parameters,
        template: &str,
        values: Value,
        dropdowns: &BTreeMap<String, DropdownValues>,
        fill_defaults: bool,
    ) -> Result<AppliedQuery, ParameterError> {
        let values = values.as_object().expect("values are an object").clone();
        parameters.apply(
            template,
            &values,
            &ApplyContext {
                now: now(),
                dropdowns,
                fill_defaults,
            },
        )
    }

    fn apply(
        parameters: &Parameters,
        template: &str,
        values: Value,
    ) -> Result<AppliedQuery, ParameterError> {
        apply_with(parameters, template, values, &BTreeMap::new(), false)
    }

    fn check_text(parameters: &Parameters, template: &str, values: Value, expected: &str) {
        let applied = apply(parameters, template, values).expect("values apply");
        assert_eq!(applied.text, expected, "template {template:?}");
    }

    fn check_incompatible(parameters: &Parameters, values: Value, names: &[&str]) {
        let error = apply(parameters, "", values).expect_err("values are rejected");
        assert_eq!(
            error,
            ParameterError::Incompatible {
                names: names.iter().map(|name| name.to_string()).collect()
            }
        );
    }

    #[test]
    fn redash_messages_are_reproduced() {
        let incompatible = ParameterError::Incompatible {
            names: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            incompatible.to_string(),
            "The following parameter values are incompatible with their definitions: a, b"
        );
        assert_eq!(
            ParameterError::Missing {
                names: vec!["x".into(), "y.start".into()]
            }
            .to_string(),
            "Missing parameter value for: x, y.start"
        );
        assert_eq!(
            ParameterError::DropdownQueryDetached { query_id: 3 }.to_string(),
            "This query is detached from any data source. Please select a different query."
        );
    }

    #[test]
    fn definitions_round_trip_with_unknown_keys() {
        let stored = json!([{
            "name": "region", "title": "Region", "type": "enum", "value": ["eu", "us"],
            "enumOptions": "eu\nus\nasia", "global": false, "parentQueryId": 7,
            "multiValuesOptions": {"prefix": "'", "suffix": "'", "separator": ",", "quoteCharacter": "'"},
            "locals": [], "urlPrefix": "p_", "somethingNew": {"kept": true}
        }, {"name": "when", "type": "datetime-range-with-seconds", "value": "d_last_7_days"},
           {"name": "odd", "type": "a-future-type"}]);
        let parsed: Vec<ParameterDefinition> = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(parsed[0].kind, ParameterType::Enum);
        assert_eq!(parsed[2].kind, ParameterType::Other("a-future-type".into()));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), stored);
    }

    #[test]
    fn malformed_definitions_are_an_error() {
        let error = Parameters::from_query_options(&json!({"parameters": [{"title": "no name"}]}));
        assert!(matches!(error, Err(ParameterError::Malformed { .. })));
        assert_eq!(
            Parameters::from_query_options(&json!({})),
            Ok(Parameters::default())
        );
    }

    #[test]
    fn text_parameters_make_a_query_unsafe() {
        assert!(
            parameters(json!([{"name": "n", "type": "number"}, {"name": "e", "type": "enum"}]))
                .is_safe()
        );
        assert!(
            !parameters(json!([{"name": "n", "type": "number"}, {"name": "t", "type": "text"}]))
                .is_safe()
        );
        assert!(Parameters::default().is_safe());
    }

    #[test]
    fn without_definitions_anything_renders_raw() {
        let none = Parameters::default();
        check_text(
            &none,
            "select {{ x }} from {{t}}",
            json!({"x": "'; drop", "t": 5}),
            "select '; drop from 5",
        );
        check_text(
            &none,
            "in ({{ ids }})",
            json!({"ids": [1, 2, 3]}),
            "in (1,2,3)",
        );
    }

    #[test]
    fn each_type_checks_its_values() {
        let schema = parameters(json!([
            {"name": "t", "type": "text"},
            {"name": "p", "type": "text-pattern", "regex": "[a-z]+\\d"},
            {"name": "n", "type": "number"},
            {"name": "e", "type": "enum", "enumOptions": "red\ngreen"},
            {"name": "d", "type": "date"},
            {"name": "dt", "type": "datetime-local"},
            {"name": "r", "type": "date-range"},
            {"name": "u", "type": "mystery"},
        ]));
        let valid = json!({
            "t": "x", "p": "ab1", "n": " 1_000.5e1 ", "e": "red", "d": "2024-03-01",
            "dt": "2024-03-01 10:20", "r": {"start": "2024-01-01", "end": "2024-01-31T10:00:00Z"},
        });
        apply(&schema, "", valid).expect("valid values apply");
        check_incompatible(&schema, json!({"t": 5}), &["t"]);
        check_incompatible(&schema, json!({"p": "ab12"}), &["p"]);
        check_incompatible(&schema, json!({"p": "1ab1"}), &["p"]);
        check_incompatible(&schema, json!({"n": "12abc", "e": "blue"}), &["n", "e"]);
        check_incompatible(&schema, json!({"n": [1]}), &["n"]);
        check_incompatible(&schema, json!({"e": ["red"]}), &["e"]);
        check_incompatible(&schema, json!({"d": "yesterday-ish"}), &["d"]);
        check_incompatible(&schema, json!({"d": 20240301}), &["d"]);
        check_incompatible(&schema, json!({"r": {"start": "2024-01-01"}}), &["r"]);
        check_incompatible(&schema, json!({"r": "2024-01-01"}), &["r"]);
        check_incompatible(&schema, json!({"u": "x"}), &["u"]);
        check_incompatible(&schema, json!({"nobody": "x"}), &["nobody"]);
        apply(&schema, "", json!({"n": 3, "e": "green", "p": "z9"})).expect("valid");
        apply(&schema, "", json!({"n": true})).expect("Python counts booleans as numbers");
    }

    #[test]
    fn multi_value_enums_join_with_prefix_suffix_and_separator() {
        let schema = parameters(json!([
            {"name": "quoted", "type": "enum", "enumOptions": "a\nb\nc",
             "multiValuesOptions": {"prefix": "'", "suffix": "'", "separator": ", ", "quoteCharacter": "'"}},
            {"name": "plain", "type": "enum", "enumOptions": "1\n2", "multiValuesOptions": {}},
        ]));
        check_text(
            &schema,
            "x in ({{ quoted }}) and y in ({{plain}})",
            json!({"quoted": ["a", "c"], "plain": [1, "2"]}),
            "x in ('a', 'c') and y in (1,2)",
        );
        check_incompatible(&schema, json!({"quoted": ["a", "z"]}), &["quoted"]);
        // Values from a closed set are rendered, never bound.
        let applied = apply(&schema, "x in ({{quoted}})", json!({"quoted": ["a"]})).unwrap();
        assert!(applied.values.is_empty());
        assert_eq!(applied.prepare(Some(Placeholders::Dollar)).text, "x in ('a')");
    }

    #[test]
    fn query_dropdowns_use_the_values_the_caller_supplies() {
        let schema = parameters(json!([
            {"name": "customer", "type": "query", "queryId": 12},
            {"name": "many", "type": "query", "queryId": "13", "multiValuesOptions": {"separator": "|"}},
        ]));
        assert_eq!(schema.definitions()[1].dropdown_query_id(), Some(13));
        let mut dropdowns = BTreeMap::new();
        dropdowns.insert(
            "customer".to_owned(),
            DropdownValues::Values(vec!["1".into(), "2".into()]),
        );
        dropdowns.insert(
            "many".to_owned(),
            DropdownValues::Values(vec!["x".into(), "y".into()]),
        );
        let applied = apply_with(
            &schema,
            "{{customer}}/{{many}}",
            json!({"customer": 2, "many": ["x", "y"]}),
            &dropdowns,
            false,
        )
        .expect("values are in the dropdowns");
        assert_eq!(applied.text, "2/x|y");
        let rejected = apply_with(&schema, "", json!({"customer": 3}), &dropdowns, false);
        assert_eq!(
            rejected,
            Err(ParameterError::Incompatible {
                names: vec!["customer".into()]
            })
        );

        dropdowns.insert(
            "customer".to_owned(),
            DropdownValues::Detached { query_id: 12 },
        );
        let detached = apply_with(&schema, "", json!({"customer": 1}), &dropdowns, false);
        assert_eq!(
            detached,
            Err(ParameterError::DropdownQueryDetached { query_id: 12 })
        );
    }

    #[test]
    fn missing_values_are_listed_in_template_order() {
        let none = Parameters::default();
        let error = apply(
            &none,
            "{{b}} {{ a.start }} {{#s}}{{inner}}{{/s}} {{{raw}}} {{^inv}}{{hidden}}{{/inv}} {{b}}",
            json!({"a": {"end": "x"}}),
        );
        assert_eq!(
            error,
            Err(ParameterError::Missing {
                names: vec!["b".into(), "a.start".into(), "s".into(), "inner".into()]
            })
        );
    }

    #[test]
    fn incompatible_values_are_reported_before_missing_ones() {
        let schema = parameters(json!([{"name": "n", "type": "number"}]));
        let error = apply(&schema, "{{n}} {{m}}", json!({"n": "x"}));
        assert_eq!(
            error,
            Err(ParameterError::Incompatible {
                names: vec!["n".into()]
            })
        );
    }

    #[test]
    fn ranges_render_as_start_and_end() {
        let schema = parameters(json!([{"name": "period", "type": "datetime-range"}]));
        let applied = apply(
            &schema,
            "between '{{ period.start }}' and '{{period.end}}'",
            json!({"period": {"start": "2024-01-01 00:00", "end": "2024-01-31 23:59"}}),
        )
        .unwrap();
        assert_eq!(
            applied.text,
            "between '2024-01-01 00:00' and '2024-01-31 23:59'"
        );
        let at = |day, hour, minute| {
            BoundValue::DateTime(
                NaiveDate::from_ymd_opt(2024, 1, day)
                    .unwrap()
                    .and_hms_opt(hour, minute, 0)
                    .unwrap(),
            )
        };
        assert_eq!(
            applied.values,
            [
                ("period.start".to_owned(), at(1, 0, 0)),
                ("period.end".to_owned(), at(31, 23, 59))
            ]
        );
    }

    #[test]
    fn defaults_fill_in_only_when_asked() {
        let schema = parameters(json!([
            {"name": "n", "type": "number", "value": 10},
            {"name": "since", "type": "date", "value": "d_yesterday"},
            {"name": "when", "type": "datetime-with-seconds", "useCurrentDateTime": true},
            {"name": "no_default", "type": "text"},
        ]));
        let dropdowns = BTreeMap::new();
        let template = "{{n}} {{since}} {{when}}";
        let filled = apply_with(&schema, template, json!({"n": 3}), &dropdowns, true).unwrap();
        assert_eq!(filled.text, "3 2024-03-12 2024-03-13 14:35:20");
        let strict = apply_with(&schema, template, json!({"n": 3}), &dropdowns, false);
        assert_eq!(
            strict,
            Err(ParameterError::Missing {
                names: vec!["since".into(), "when".into()]
            })
        );
    }

    fn check_dynamic(kind: &str, token: &str, expected: Value) {
        let schema = parameters(json!([{"name": "p", "type": kind}]));
        let template = if expected.is_object() {
            "{{p.start}}|{{p.end}}"
        } else {
            "{{p}}"
        };
        let expected_text = match &expected {
            Value::Object(range) => format!(
                "{}|{}",
                range["start"].as_str().unwrap(),
                range["end"].as_str().unwrap()
            ),
            other => other.as_str().unwrap().to_owned(),
        };
        check_text(&schema, template, json!({ "p": token }), &expected_text);
    }

    #[test]
    fn dynamic_dates_resolve_from_the_supplied_now() {
        check_dynamic("date", "d_now", json!("2024-03-13"));
        check_dynamic("datetime-local", "d_now", json!("2024-03-13 14:35"));
        check_dynamic(
            "datetime-with-seconds",
            "d_yesterday",
            json!("2024-03-12 14:35:20"),
        );
        let range = |start: &str, end: &str| json!({"start": start, "end": end});
        check_dynamic("date-range", "d_today", range("2024-03-13", "2024-03-13"));
        check_dynamic(
            "datetime-range",
            "d_today",
            range("2024-03-13 00:00", "2024-03-13 23:59"),
        );
        check_dynamic(
            "datetime-range-with-seconds",
            "d_yesterday",
            range("2024-03-12 00:00:00", "2024-03-12 23:59:59"),
        );
        check_dynamic(
            "date-range",
            "d_this_week",
            range("2024-03-10", "2024-03-16"),
        );
        check_dynamic(
            "date-range",
            "d_last_week",
            range("2024-03-03", "2024-03-09"),
        );
        check_dynamic(
            "date-range",
            "d_this_month",
            range("2024-03-01", "2024-03-31"),
        );
        check_dynamic(
            "datetime-range-with-seconds",
            "d_last_month",
            range("2024-02-01 00:00:00", "2024-02-29 23:59:59"),
        );
        check_dynamic(
            "date-range",
            "d_this_year",
            range("2024-01-01", "2024-12-31"),
        );
        check_dynamic(
            "date-range",
            "d_last_year",
            range("2023-01-01", "2023-12-31"),
        );
        check_dynamic(
            "datetime-range",
            "d_last_hour",
            range("2024-03-13 13:35", "2024-03-13 14:35"),
        );
        check_dynamic(
            "datetime-range",
            "d_last_8_hours",
            range("2024-03-13 06:35", "2024-03-13 14:35"),
        );
        check_dynamic(
            "datetime-range",
            "d_last_24_hours",
            range("2024-03-12 14:35", "2024-03-13 14:35"),
        );
        check_dynamic(
            "datetime-range",
            "d_last_7_days",
            range("2024-03-06 00:00", "2024-03-13 14:35"),
        );
        check_dynamic(
            "date-range",
            "d_last_14_days",
            range("2024-02-28", "2024-03-13"),
        );
        check_dynamic(
            "date-range",
            "d_last_30_days",
            range("2024-02-12", "2024-03-13"),
        );
        check_dynamic(
            "date-range",
            "d_last_60_days",
            range("2024-01-13", "2024-03-13"),
        );
        check_dynamic(
            "date-range",
            "d_last_90_days",
            range("2023-12-14", "2024-03-13"),
        );
        check_dynamic(
            "date-range",
            "d_last_12_months",
            range("2023-03-13", "2024-03-13"),
        );
        check_dynamic(
            "date-range",
            "d_last_2_years",
            range("2022-03-13", "2024-03-13"),
        );
        check_dynamic(
            "date-range",
            "d_last_3_years",
            range("2021-03-13", "2024-03-13"),
        );
        check_dynamic(
            "date-range",
            "d_last_10_years",
            range("2014-03-13", "2024-03-13"),
        );
        let schema = parameters(json!([{"name": "p", "type": "date-range"}]));
        check_incompatible(&schema, json!({"p": "d_someday"}), &["p"]);
        check_incompatible(&schema, json!({"p": "d_now"}), &["p"]);
    }

    #[test]
    fn values_of_bindable_types_are_typed() {
        let schema = parameters(json!([
            {"name": "n", "type": "number"}, {"name": "f", "type": "number"},
            {"name": "t", "type": "text"}, {"name": "d", "type": "date"},
            {"name": "e", "type": "enum", "enumOptions": "1\n2"},
            {"name": "r", "type": "datetime-range"},
        ]));
        let applied = apply(
            &schema,
            "select * from t where a = {{n}} and b > {{f}} and c = {{t}} and d = {{d}} and e = {{e}} and g >= {{r.start}}",
            json!({"n": "42", "f": 1.5, "t": "x", "d": "2024-03-01", "e": 2, "r": {"start": "2024-03-01 10:00", "end": "2024-03-02 10:00"}}),
        )
        .unwrap();
        let at = |hour: u32| NaiveDate::from_ymd_opt(2024, 3, 1 + hour / 24).unwrap().and_hms_opt(hour % 24, 0, 0).unwrap();
        assert_eq!(
            applied.values,
            [
                ("n".to_owned(), BoundValue::Int(42)),
                ("f".to_owned(), BoundValue::Number(1.5)),
                ("t".to_owned(), BoundValue::Text("x".into())),
                ("d".to_owned(), BoundValue::Date(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap())),
                ("r.start".to_owned(), BoundValue::DateTime(at(10))),
                ("r.end".to_owned(), BoundValue::DateTime(at(34))),
            ]
        );
        let prepared = applied.prepare(Some(Placeholders::Dollar));
        assert_eq!(prepared.text, "select * from t where a = $1 and b > $2 and c = $3 and d = $4 and e = 2 and g >= $5");
        assert_eq!(prepared.binds[0], BoundValue::Int(42));
        assert_eq!(prepared.binds[4], BoundValue::DateTime(at(10)));
        assert_eq!(applied.prepare(None), BoundText { text: applied.text.clone(), binds: Vec::new() });
    }

    #[test]
    fn quoted_and_hostile_text_stays_safe() {
        let schema = parameters(json!([{"name": "t", "type": "text"}]));
        let hostile = "x'; DROP TABLE users; --";
        let applied = apply(&schema, "select * from t where a = {{t}} or b = '{{t}}'", json!({"t": hostile})).unwrap();
        let prepared = applied.prepare(Some(Placeholders::Question));
        assert_eq!(prepared.text, format!("select * from t where a = ? or b = '{hostile}'"));
        assert_eq!(prepared.binds, [BoundValue::Text(hostile.into())]);
        // A `;` in a value does not make the template several statements.
        let applied = apply(&schema, "select * from t where a = {{t}}", json!({"t": hostile})).unwrap();
        assert_eq!(applied.prepare(Some(Placeholders::Dollar)).text, "select * from t where a = $1");
        // Several statements never bind: a prepared statement holds one.
        let applied = apply(&schema, "select 1; select * from t where a = {{t}}", json!({"t": "x"})).unwrap();
        assert!(applied.prepare(Some(Placeholders::Dollar)).binds.is_empty());
    }

    #[test]
    fn binding_reaches_names_inside_sections_but_not_what_they_shadow() {
        let schema = parameters(json!([{"name": "x", "type": "number"}, {"name": "flag", "type": "text"}]));
        let applied = apply(&schema, "a = {{x}} {{#flag}}and b = {{x}}{{/flag}}", json!({"x": 1, "flag": "y"})).unwrap();
        assert_eq!(applied.text, "a = 1 and b = 1");
        let prepared = applied.prepare(Some(Placeholders::NumberedQuestion));
        assert_eq!(prepared.text, "a = ?1 and b = ?2");
        assert_eq!(prepared.binds, [BoundValue::Int(1), BoundValue::Int(1)]);
        // Without definitions (ad-hoc text) nothing is typed, so nothing binds.
        let applied = apply(&Parameters::default(), "a = {{x}}", json!({"x": 1})).unwrap();
        assert_eq!(applied.prepare(Some(Placeholders::Dollar)).text, "a = 1");
    }

    #[test]
    fn bound_values_travel_as_json() {
        let values = [
            BoundValue::Int(1),
            BoundValue::Number(0.5),
            BoundValue::Text("a".into()),
            BoundValue::Date(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()),
        ];
        let json = serde_json::to_value(&values).unwrap();
        assert_eq!(json[0], json!({"type": "int", "value": 1}));
        assert_eq!(json[3], json!({"type": "date", "value": "2024-03-01"}));
        assert_eq!(serde_json::from_value::<Vec<BoundValue>>(json).unwrap(), values);
    }

    #[test]
    fn a_broken_template_is_an_error() {
        let error = apply(&Parameters::default(), "{{#open}}", json!({}));
        assert!(matches!(error, Err(ParameterError::Template(_))));
    }
}
