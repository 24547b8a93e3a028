//! The shape of a query result as it streams from a runner to the results store: typed
//! columns once, then rows of cells. Never a tree of JSON values for the whole result.
//!
//! Column type names are Redash's, stored and sent verbatim, so imported visualizations keep
//! working. Runners map their driver's types onto [`ColumnType`]; the results store encodes
//! [`Cell`]s; nothing in between looks at rows.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};

/// Redash's column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Integer,
    Float,
    Boolean,
    String,
    Datetime,
    Date,
    /// Redash's type for a column whose type is unknown (all NULLs, unmapped driver types).
    Null,
}

impl ColumnType {
    /// The name Redash writes in `columns[].type` (`null` becomes JSON null on the wire).
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::String => "string",
            ColumnType::Datetime => "datetime",
            ColumnType::Date => "date",
            ColumnType::Null => "null",
        }
    }

    /// Reads a stored name; unknown names are [`ColumnType::Null`].
    pub fn parse(name: &str) -> ColumnType {
        match name {
            "integer" => ColumnType::Integer,
            "float" => ColumnType::Float,
            "boolean" => ColumnType::Boolean,
            "string" => ColumnType::String,
            "datetime" => ColumnType::Datetime,
            "date" => ColumnType::Date,
            _ => ColumnType::Null,
        }
    }
}

/// One column of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Unique within the result (see [`dedupe_column_names`]).
    pub name: String,
    pub friendly_name: String,
    pub column_type: ColumnType,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Date(NaiveDate),
    /// A time without a zone (e.g. PostgreSQL `timestamp`), written without an offset.
    NaiveDateTime(NaiveDateTime),
    /// A time with its offset (e.g. PostgreSQL `timestamptz`, converted to UTC by the runner).
    DateTime(DateTime<FixedOffset>),
    /// A structured value (JSON columns, arrays); written as JSON, not as a string.
    Json(serde_json::Value),
}

/// Why a sink refused a column list or a row.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The result grew past a configured limit (rows or bytes); the run must stop.
    #[error("the result is larger than the limit of {limit}")]
    TooLarge { limit: String },
    /// Writing failed (disk full, store unreachable).
    #[error("could not write the result")]
    Write(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where a runner streams a result. `columns` is called once, before any row.
pub trait RowSink: Send {
    fn columns(&mut self, columns: &[Column]) -> Result<(), SinkError>;
    fn row(&mut self, cells: &[Cell]) -> Result<(), SinkError>;
}

/// Redash compat: a repeated column name gets a suffix from one counter shared by the whole
/// result (`count`, `count1`, `a`, `count2`; `b`, `b3` after that), exactly as Redash numbers
/// them, because saved visualizations refer to columns by these names. Where Redash would still
/// leave a clash (a suffixed name already present) the counter moves on instead.
pub fn dedupe_column_names(names: &[String]) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut counter = 1;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let mut candidate = name.clone();
        while taken.contains(&candidate) {
            candidate = format!("{name}{counter}");
            counter += 1;
        }
        taken.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_get_suffixes() {
        let names: Vec<String> = ["count", "count", "a", "count", "b", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(dedupe_column_names(&names), ["count", "count1", "a", "count2", "b", "b3"]);
        let clash: Vec<String> = ["x", "x1", "x"].iter().map(|s| s.to_string()).collect();
        assert_eq!(dedupe_column_names(&clash), ["x", "x1", "x2"]);
    }

    #[test]
    fn type_names_round_trip() {
        for t in [ColumnType::Integer, ColumnType::Float, ColumnType::Boolean, ColumnType::String, ColumnType::Datetime, ColumnType::Date, ColumnType::Null] {
            assert_eq!(ColumnType::parse(t.as_str()), t);
        }
    }
}
