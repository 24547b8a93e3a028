//! Column types for sources that send text or untyped values (CSV, JSON, SQLite expressions,
//! Query Results), guessed the way Redash guesses: integer, float, boolean, date-time, else string.
//!
//! A column's type is the merge of its values' types: NULLs and empty strings do not count,
//! integers and floats make a float column, any other mix makes a string column.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use dashi_core::{Cell, ColumnType};

/// The type a text value looks like; `Null` for the empty string.
pub(crate) fn text_type(text: &str) -> ColumnType {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        ColumnType::Null
    } else if trimmed.parse::<i64>().is_ok() {
        ColumnType::Integer
    } else if is_float(trimmed) {
        ColumnType::Float
    } else if trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false") {
        ColumnType::Boolean
    } else if parse_date(trimmed).is_some() {
        ColumnType::Date
    } else if parse_datetime(trimmed).is_some() {
        ColumnType::Datetime
    } else {
        ColumnType::String
    }
}

/// The column type once a value of type `next` has been seen in a column typed `so_far`.
pub(crate) fn merge(so_far: ColumnType, next: ColumnType) -> ColumnType {
    use ColumnType::{Float, Integer, Null, String};
    match (so_far, next) {
        (Null, other) | (other, Null) => other,
        (same, other) if same == other => same,
        (Integer, Float) | (Float, Integer) => Float,
        _ => String,
    }
}

/// `text` as a cell of `column_type`; text that does not fit stays text.
pub(crate) fn text_cell(text: &str, column_type: ColumnType) -> Cell {
    let trimmed = text.trim();
    if trimmed.is_empty() && column_type != ColumnType::String {
        return Cell::Null;
    }
    let typed = match column_type {
        ColumnType::Integer => trimmed.parse::<i64>().ok().map(Cell::Int),
        ColumnType::Float => trimmed
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Cell::Float),
        ColumnType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Some(Cell::Bool(true)),
            "false" => Some(Cell::Bool(false)),
            _ => None,
        },
        ColumnType::Date => parse_date(trimmed).map(Cell::Date),
        ColumnType::Datetime => parse_datetime(trimmed),
        ColumnType::String | ColumnType::Null => None,
    };
    typed.unwrap_or_else(|| Cell::Text(text.to_owned()))
}

fn is_float(text: &str) -> bool {
    // Rust also parses "inf" and "NaN"; Python's float() does too, but a column of such words
    // is more likely text.
    text.bytes().any(|byte| byte.is_ascii_digit()) && text.parse::<f64>().is_ok_and(f64::is_finite)
}

pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// ISO-8601-like date-times: `2024-01-31 12:00:00`, `…T…`, fractions, `Z` or an offset.
pub(crate) fn parse_datetime(text: &str) -> Option<Cell> {
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text) {
        return Some(Cell::DateTime(with_offset));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(with_offset) = DateTime::parse_from_str(text, format) {
            return Some(Cell::DateTime(with_offset));
        }
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Cell::NaiveDateTime(naive));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_follow_redash_order() {
        let check =
            |text: &str, expected: ColumnType| assert_eq!(text_type(text), expected, "{text:?}");
        check("42", ColumnType::Integer);
        check("-7", ColumnType::Integer);
        check("4.5", ColumnType::Float);
        check("1e3", ColumnType::Float);
        check("True", ColumnType::Boolean);
        check("2024-02-29", ColumnType::Date);
        check("2024-02-29 10:11:12", ColumnType::Datetime);
        check("2024-02-29T10:11:12.5Z", ColumnType::Datetime);
        check("NaN", ColumnType::String);
        check("hello", ColumnType::String);
        check("", ColumnType::Null);
    }

    #[test]
    fn merging_widens_to_float_or_string() {
        assert_eq!(
            merge(ColumnType::Null, ColumnType::Integer),
            ColumnType::Integer
        );
        assert_eq!(
            merge(ColumnType::Integer, ColumnType::Float),
            ColumnType::Float
        );
        assert_eq!(
            merge(ColumnType::Integer, ColumnType::Boolean),
            ColumnType::String
        );
        assert_eq!(merge(ColumnType::Date, ColumnType::Null), ColumnType::Date);
    }

    #[test]
    fn cells_fall_back_to_text() {
        assert_eq!(text_cell("12", ColumnType::Integer), Cell::Int(12));
        assert_eq!(text_cell("x", ColumnType::Integer), Cell::Text("x".into()));
        assert_eq!(text_cell("", ColumnType::Integer), Cell::Null);
        assert_eq!(text_cell("", ColumnType::String), Cell::Text(String::new()));
    }
}
