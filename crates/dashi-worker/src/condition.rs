//! An alert's condition and its verdict on a result, read as a stream of cells.
//!
//! Redash's rules (`Alert.evaluate`, `next_state`): the selected value of `column` (`first` row,
//! or the `min`/`max` over all rows) compared with `value` by `op`; booleans compare as the
//! strings "true"/"false", numbers (and numeric strings) as floats, other values as strings,
//! where only equality operators can be `ok`. Dashi adds two selectors (Redash #889, #4132):
//! `row_count` compares the number of rows (no column needed), and `query_failed` is triggered
//! while the query's latest run failed and ok once one succeeds.
//!
//! One pass over the rows keeps the selected value, the count and the first
//! [`TEMPLATE_ROWS`] rows for the templates; memory does not grow with the result.

use chrono::SecondsFormat;
use dashi_core::{Cell, Column};
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value, json};

/// Rows the templates' `QUERY_RESULT_ROWS` and `QUERY_RESULT_TABLE` see. Redash compat: Redash
/// hands templates every row; a bounded prefix keeps evaluation's memory flat.
pub(crate) const TEMPLATE_ROWS: usize = 100;

/// An alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Unknown,
    Ok,
    Triggered,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Ok => "ok",
            State::Triggered => "triggered",
        }
    }
}

/// What selects the compared value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selector {
    First,
    Min,
    Max,
    RowCount,
    QueryFailed,
}

/// An alert's options as evaluation reads them.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) column: Option<String>,
    pub(crate) op: String,
    pub(crate) threshold: Value,
    pub(crate) selector: Selector,
}

impl Condition {
    /// Reads `column`, `op`, `value` and `selector` (default `first`; unknown names act as
    /// `first`, as Redash's do).
    pub(crate) fn from_options(options: &Map<String, Value>) -> Condition {
        let selector = match options.get("selector").and_then(Value::as_str) {
            Some("min") => Selector::Min,
            Some("max") => Selector::Max,
            Some("row_count") => Selector::RowCount,
            Some("query_failed") => Selector::QueryFailed,
            _ => Selector::First,
        };
        Condition {
            column: options.get("column").and_then(Value::as_str).map(str::to_owned),
            op: options.get("op").and_then(Value::as_str).unwrap_or_default().to_owned(),
            threshold: options.get("value").cloned().unwrap_or(Value::Null),
            selector,
        }
    }
}

/// What one pass over a result saw: the verdict plus the templates' view of the rows.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub(crate) state: State,
    /// `QUERY_RESULT_VALUE`: the column's value in the first row.
    pub(crate) value: Value,
    /// `QUERY_RESULT_COLS`: `{name, friendly_name, type}` per column.
    pub(crate) columns: Vec<Value>,
    /// `QUERY_RESULT_ROWS`: the first rows as objects.
    pub(crate) rows: Vec<Value>,
    /// `QUERY_RESULT_TABLE`: the same rows as lists in column order.
    pub(crate) table: Vec<Value>,
}

/// A cell in Redash's JSON encoding (times as ISO 8601 text).
fn cell_json(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Bool(flag) => Value::Bool(*flag),
        Cell::Int(int) => json!(int),
        Cell::Float(float) => serde_json::Number::from_f64(*float).map(Value::Number).unwrap_or(Value::Null),
        Cell::Text(text) => Value::String(text.clone()),
        Cell::Date(date) => Value::String(date.format("%Y-%m-%d").to_string()),
        Cell::NaiveDateTime(time) => Value::String(time.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        Cell::DateTime(time) => Value::String(time.to_rfc3339_opts(SecondsFormat::Micros, false)),
        Cell::Json(value) => value.clone(),
    }
}

/// A cell as a float for `min`/`max`, as Python's `float()` would take it.
fn as_float(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Int(int) => Some(*int as f64),
        Cell::Float(float) => Some(*float),
        Cell::Bool(flag) => Some(if *flag { 1.0 } else { 0.0 }),
        Cell::Text(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Reads the rows once and judges `condition` on them.
pub(crate) async fn observe<E>(
    condition: &Condition,
    columns: &[Column],
    rows: impl Stream<Item = Result<Vec<Cell>, E>>,
) -> Result<Observation, E> {
    let index = condition.column.as_ref().and_then(|name| columns.iter().position(|column| &column.name == name));
    let mut n_rows: u64 = 0;
    let mut first = Value::Null;
    let mut extreme: Option<f64> = None;
    let mut all_numeric = true;
    let mut kept_rows = Vec::new();
    let mut table = Vec::new();
    let mut rows = std::pin::pin!(rows);
    while let Some(row) = rows.next().await {
        let row = row?;
        if let Some(index) = index {
            let cell = row.get(index).unwrap_or(&Cell::Null);
            if n_rows == 0 {
                first = cell_json(cell);
            }
            match (as_float(cell), condition.selector) {
                (Some(float), Selector::Min) => extreme = Some(extreme.map_or(float, |min| min.min(float))),
                (Some(float), Selector::Max) => extreme = Some(extreme.map_or(float, |max| max.max(float))),
                (None, Selector::Min | Selector::Max) => all_numeric = false,
                _ => {}
            }
        }
        if kept_rows.len() < TEMPLATE_ROWS {
            let cells: Vec<Value> = row.iter().map(cell_json).collect();
            let object: Map<String, Value> =
                columns.iter().zip(&cells).map(|(column, cell)| (column.name.clone(), cell.clone())).collect();
            kept_rows.push(Value::Object(object));
            table.push(Value::Array(cells));
        }
        n_rows += 1;
    }
    let selected = match condition.selector {
        Selector::RowCount => Some(json!(n_rows)),
        Selector::QueryFailed => None,
        _ if n_rows == 0 || index.is_none() => None,
        Selector::First => Some(first.clone()).filter(|value| !value.is_null()),
        Selector::Min | Selector::Max => {
            if all_numeric {
                extreme.and_then(serde_json::Number::from_f64).map(Value::Number)
            } else {
                None
            }
        }
    };
    let state = match (condition.selector, selected) {
        // A result exists, so the latest run succeeded.
        (Selector::QueryFailed, _) => State::Ok,
        (_, Some(value)) => next_state(&condition.op, &value, &condition.threshold),
        (_, None) => State::Unknown,
    };
    let columns = columns
        .iter()
        .map(|column| json!({"name": column.name, "friendly_name": column.friendly_name, "type": column.column_type.as_str()}))
        .collect();
    Ok(Observation { state, value: first, columns, rows: kept_rows, table })
}

/// Redash's comparison operators; an unknown one is never true.
fn compare<T: PartialOrd + ?Sized>(op: &str, value: &T, threshold: &T) -> bool {
    match op {
        ">" | "greater than" => value > threshold,
        ">=" => value >= threshold,
        "<" | "less than" => value < threshold,
        "<=" => value <= threshold,
        "==" | "equals" => value == threshold,
        "!=" => value != threshold,
        _ => false,
    }
}

/// A JSON value as Python's `str()` of it would read in a comparison.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        other => other.to_string(),
    }
}

/// Redash's `next_state`.
pub(crate) fn next_state(op: &str, value: &Value, threshold: &Value) -> State {
    if threshold.is_null() {
        return State::Unknown;
    }
    let numeric = match value {
        Value::Bool(_) => None,
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    let holds = match numeric {
        Some(number) => {
            let threshold = match threshold {
                Value::Number(limit) => limit.as_f64(),
                Value::String(text) => text.trim().parse::<f64>().ok(),
                _ => None,
            };
            let Some(threshold) = threshold else { return State::Unknown };
            compare(op, &number, &threshold)
        }
        None => compare(op, as_text(value).as_str(), as_text(threshold).as_str()),
    };
    if holds {
        State::Triggered
    } else if numeric.is_none() && !matches!(op, "==" | "!=" | "equals") {
        State::Unknown
    } else {
        State::Ok
    }
}

#[cfg(test)]
mod tests {
    use dashi_core::ColumnType;

    use super::*;

    fn check(op: &str, value: Value, threshold: Value, expected: State) {
        assert_eq!(next_state(op, &value, &threshold), expected, "{value} {op} {threshold}");
    }

    #[test]
    fn every_operator_on_numbers() {
        check(">", json!(5), json!(3), State::Triggered);
        check(">", json!(3), json!(3), State::Ok);
        check(">=", json!(3), json!("3"), State::Triggered);
        check("<", json!(2.5), json!(3), State::Triggered);
        check("<", json!(4), json!(3), State::Ok);
        check("<=", json!(3), json!(3), State::Triggered);
        check("==", json!("7"), json!(7), State::Triggered);
        check("!=", json!(7), json!(7), State::Ok);
        check("!=", json!(8), json!(7), State::Triggered);
        check("greater than", json!(9), json!(1), State::Triggered);
        check("less than", json!(9), json!(1), State::Ok);
        check("equals", json!(1), json!(1.0), State::Triggered);
        check("~", json!(1), json!(1), State::Ok);
    }

    #[test]
    fn numbers_against_a_non_numeric_threshold_are_unknown() {
        check(">", json!(5), json!("many"), State::Unknown);
        check(">", json!(5), Value::Null, State::Unknown);
    }

    #[test]
    fn text_and_booleans_compare_as_strings_and_only_equality_can_be_ok() {
        check("==", json!("down"), json!("down"), State::Triggered);
        check("==", json!("up"), json!("down"), State::Ok);
        check("!=", json!("up"), json!("down"), State::Triggered);
        check(">", json!("b"), json!("a"), State::Triggered);
        check(">", json!("a"), json!("b"), State::Unknown);
        check("==", json!(true), json!("true"), State::Triggered);
        check("==", json!(false), json!("true"), State::Ok);
    }

    fn columns() -> Vec<Column> {
        ["name", "n"]
            .iter()
            .map(|name| Column {
                name: (*name).into(),
                friendly_name: (*name).into(),
                column_type: if *name == "n" { ColumnType::Integer } else { ColumnType::String },
            })
            .collect()
    }

    async fn verdict(options: Value, rows: Vec<Vec<Cell>>) -> Observation {
        let condition = Condition::from_options(options.as_object().expect("object"));
        let stream = futures_util::stream::iter(rows.into_iter().map(Ok::<_, ()>));
        observe(&condition, &columns(), stream).await.expect("no read errors")
    }

    fn rows(values: &[i64]) -> Vec<Vec<Cell>> {
        values.iter().map(|n| vec![Cell::Text(format!("row {n}")), Cell::Int(*n)]).collect()
    }

    #[tokio::test]
    async fn selectors_pick_first_min_and_max() {
        let data = rows(&[5, 2, 9]);
        let first = verdict(json!({"column": "n", "op": ">", "value": 4}), data.clone()).await;
        assert_eq!((first.state, first.value), (State::Triggered, json!(5)));
        let min = verdict(json!({"column": "n", "op": "<", "value": 3, "selector": "min"}), data.clone()).await;
        assert_eq!(min.state, State::Triggered);
        let max = verdict(json!({"column": "n", "op": ">", "value": 9, "selector": "max"}), data.clone()).await;
        assert_eq!(max.state, State::Ok);
        assert_eq!(max.table[2], json!(["row 9", 9]));
        assert_eq!(max.rows[0], json!({"name": "row 5", "n": 5}));
        assert_eq!(max.columns[1], json!({"name": "n", "friendly_name": "n", "type": "integer"}));
    }

    #[tokio::test]
    async fn min_over_a_non_numeric_cell_is_unknown() {
        let mut data = rows(&[5]);
        data.push(vec![Cell::Text("x".into()), Cell::Text("many".into())]);
        let min = verdict(json!({"column": "n", "op": "<", "value": 3, "selector": "min"}), data).await;
        assert_eq!(min.state, State::Unknown);
    }

    #[tokio::test]
    async fn no_rows_a_missing_column_or_a_null_value_are_unknown() {
        assert_eq!(verdict(json!({"column": "n", "op": ">", "value": 1}), vec![]).await.state, State::Unknown);
        assert_eq!(verdict(json!({"column": "nope", "op": ">", "value": 1}), rows(&[5])).await.state, State::Unknown);
        let null_first = vec![vec![Cell::Text("a".into()), Cell::Null]];
        assert_eq!(verdict(json!({"column": "n", "op": ">", "value": 1}), null_first).await.state, State::Unknown);
    }

    #[tokio::test]
    async fn row_count_needs_no_column_and_counts_every_row() {
        let many: Vec<i64> = (0..(TEMPLATE_ROWS as i64 + 50)).collect();
        let count = verdict(json!({"op": ">=", "value": 150, "selector": "row_count"}), rows(&many)).await;
        assert_eq!(count.state, State::Triggered);
        assert_eq!(count.rows.len(), TEMPLATE_ROWS);
        let empty = verdict(json!({"op": "==", "value": 0, "selector": "row_count"}), vec![]).await;
        assert_eq!(empty.state, State::Triggered);
    }

    #[tokio::test]
    async fn query_failed_is_ok_on_any_result() {
        assert_eq!(verdict(json!({"selector": "query_failed"}), vec![]).await.state, State::Ok);
    }
}
