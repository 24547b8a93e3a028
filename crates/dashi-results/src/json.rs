//! JSON text for cells, column lists and timestamps, byte for byte as Redash's encoder writes it.
//!
//! Redash compat: dates are `YYYY-MM-DD`; datetimes are ISO 8601 with microseconds cut to
//! milliseconds (and no fraction at all when the microseconds are zero), an offset only when the
//! value has one, and `+00:00` written as `Z`; NaN and infinities are `null`. Everything here
//! appends to a caller's buffer: no `serde_json::Value` is built for a row.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use dashi_core::{Cell, Column, ColumnType};

/// Appends `cell` as one JSON value.
pub(crate) fn push_cell(out: &mut Vec<u8>, cell: &Cell) {
    match cell {
        Cell::Null => out.extend_from_slice(b"null"),
        Cell::Bool(true) => out.extend_from_slice(b"true"),
        Cell::Bool(false) => out.extend_from_slice(b"false"),
        Cell::Int(value) => push_serialized(out, value),
        // serde_json writes non-finite floats as `null`, which is what Redash stores.
        Cell::Float(value) => push_serialized(out, value),
        Cell::Text(text) => push_str(out, text),
        Cell::Date(date) => {
            out.push(b'"');
            push_date(out, *date);
            out.push(b'"');
        }
        Cell::NaiveDateTime(value) => {
            out.push(b'"');
            push_naive_datetime(out, value);
            out.push(b'"');
        }
        Cell::DateTime(value) => {
            out.push(b'"');
            push_datetime(out, value);
            out.push(b'"');
        }
        Cell::Json(value) => push_serialized(out, value),
    }
}

/// Appends `text` as a JSON string.
pub(crate) fn push_str(out: &mut Vec<u8>, text: &str) {
    push_serialized(out, text);
}

fn push_serialized<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(&mut *out, value).expect("writing JSON into a Vec cannot fail");
}

/// Appends the stored column list: `[{"name","friendly_name","type"}…]`, with Redash's JSON
/// `null` for a column of unknown type.
pub(crate) fn push_columns(out: &mut Vec<u8>, columns: &[Column]) {
    out.push(b'[');
    for (column_idx, column) in columns.iter().enumerate() {
        if column_idx > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        push_str(out, &column.name);
        out.extend_from_slice(b",\"friendly_name\":");
        push_str(out, &column.friendly_name);
        out.extend_from_slice(b",\"type\":");
        match column.column_type {
            ColumnType::Null => out.extend_from_slice(b"null"),
            other => push_str(out, other.as_str()),
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// Appends a timestamp the way Redash's encoder writes an aware datetime (e.g. `retrieved_at`).
pub(crate) fn push_datetime(out: &mut Vec<u8>, value: &DateTime<FixedOffset>) {
    push_naive_datetime(out, &value.naive_local());
    let offset_seconds = value.offset().local_minus_utc();
    if offset_seconds == 0 {
        out.push(b'Z');
        return;
    }
    out.push(if offset_seconds < 0 { b'-' } else { b'+' });
    let magnitude = offset_seconds.unsigned_abs();
    push_digits(out, magnitude / 3600, 2);
    out.push(b':');
    push_digits(out, magnitude / 60 % 60, 2);
    // Python prints offset seconds only when there are some (historic zones like LMT).
    if !magnitude.is_multiple_of(60) {
        out.push(b':');
        push_digits(out, magnitude % 60, 2);
    }
}

fn push_naive_datetime(out: &mut Vec<u8>, value: &NaiveDateTime) {
    push_date(out, value.date());
    out.push(b'T');
    push_digits(out, value.hour(), 2);
    out.push(b':');
    push_digits(out, value.minute(), 2);
    out.push(b':');
    push_digits(out, value.second(), 2);
    // A leap second is stored by chrono as nanoseconds past 1e9; Python has no such value.
    let microseconds = (value.nanosecond() % 1_000_000_000) / 1_000;
    if microseconds != 0 {
        out.push(b'.');
        push_digits(out, microseconds / 1_000, 3);
    }
}

fn push_date(out: &mut Vec<u8>, date: NaiveDate) {
    match u32::try_from(date.year()) {
        Ok(year) if year <= 9999 => push_digits(out, year, 4),
        // Python cannot represent these years; keep chrono's signed form rather than lose them.
        _ => out.extend_from_slice(date.format("%Y").to_string().as_bytes()),
    }
    out.push(b'-');
    push_digits(out, date.month(), 2);
    out.push(b'-');
    push_digits(out, date.day(), 2);
}

/// Appends `value` in decimal, zero-padded to `width` digits.
fn push_digits(out: &mut Vec<u8>, value: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut remaining = value;
    let mut start = digits.len();
    while remaining > 0 || start == digits.len() {
        start -= 1;
        digits[start] = b'0' + (remaining % 10) as u8;
        remaining /= 10;
    }
    for _ in (digits.len() - start)..width {
        out.push(b'0');
    }
    out.extend_from_slice(&digits[start..]);
}

/// Rewrites a JSON number the way Python's `str()` prints it, as Redash's CSV export does:
/// integers unchanged, floats in Python's shortest repr (`1.0`, `1e+16`, `1.5e-07`).
pub(crate) fn python_number(raw: &str) -> std::borrow::Cow<'_, str> {
    let has_point = raw.contains('.');
    let has_exponent = raw.contains(['e', 'E']);
    // serde_json's fixed notation is Python's too, except below 1e-4 where Python switches to
    // an exponent (serde_json only below 1e-5): the common case needs no reformatting.
    if has_point && !has_exponent && !raw.trim_start_matches('-').starts_with("0.0000") {
        return raw.into();
    }
    let is_float = has_point || has_exponent;
    let Some(value) = is_float.then(|| raw.parse::<f64>().ok()).flatten() else {
        return raw.into();
    };
    python_float(value).into()
}

fn python_float(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() { "nan".into() } else if value > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // `{:e}` gives the shortest digits that round-trip, as Python's repr does; only the layout
    // differs (Python switches to exponent form outside 1e-4 ≤ |x| < 1e16).
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
        format!("{sign}{body}")
    } else {
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cell_json(cell: Cell) -> String {
        let mut out = Vec::new();
        push_cell(&mut out, &cell);
        String::from_utf8(out).expect("utf-8")
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("test timestamp")
    }

    #[test]
    fn cells_encode_as_redash_stores_them() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 2).expect("date");
        let check = |cell: Cell, expected: &str| assert_eq!(cell_json(cell), expected);
        check(Cell::Null, "null");
        check(Cell::Bool(false), "false");
        check(Cell::Int(-42), "-42");
        check(Cell::Float(1.0), "1.0");
        check(Cell::Float(0.1), "0.1");
        check(Cell::Float(f64::NAN), "null");
        check(Cell::Float(f64::NEG_INFINITY), "null");
        check(Cell::Text("a\"b\n\u{e9}".into()), "\"a\\\"b\\n\u{e9}\"");
        check(Cell::Date(date), "\"2024-01-02\"");
        check(Cell::Date(NaiveDate::from_ymd_opt(33, 3, 4).expect("date")), "\"0033-03-04\"");
        check(Cell::NaiveDateTime(at("2024-01-02 03:04:05")), "\"2024-01-02T03:04:05\"");
        check(Cell::NaiveDateTime(at("2024-01-02 03:04:05.123456")), "\"2024-01-02T03:04:05.123\"");
        check(Cell::NaiveDateTime(at("2024-01-02 03:04:05.000500")), "\"2024-01-02T03:04:05.000\"");
        let utc = FixedOffset::east_opt(0).expect("offset");
        check(Cell::DateTime(utc.from_utc_datetime(&at("2024-01-02 03:04:05.5"))), "\"2024-01-02T03:04:05.500Z\"");
        let india = FixedOffset::east_opt(5 * 3600 + 1800).expect("offset");
        check(Cell::DateTime(india.from_local_datetime(&at("2024-01-02 03:04:05")).unwrap()), "\"2024-01-02T03:04:05+05:30\"");
        let west = FixedOffset::west_opt(3 * 3600 + 7).expect("offset");
        check(Cell::DateTime(west.from_local_datetime(&at("2024-01-02 03:04:05")).unwrap()), "\"2024-01-02T03:04:05-03:00:07\"");
        check(Cell::Json(serde_json::json!({"b": [1, null], "a": "x"})), "{\"b\":[1,null],\"a\":\"x\"}");
    }

    #[test]
    fn numbers_print_as_python_str_does() {
        let check = |raw: &str, expected: &str| assert_eq!(python_number(raw), expected, "{raw}");
        check("42", "42");
        check("-7", "-7");
        check("1.0", "1.0");
        check("0.1", "0.1");
        check("-0.0", "-0.0");
        check("123.456", "123.456");
        check("1e16", "1e+16");
        check("1.5e-7", "1.5e-07");
        check("0.0001", "0.0001");
        check("0.00001", "1e-05");
        check("1234567890123456.0", "1234567890123456.0");
        check("1.2345678901234568e17", "1.2345678901234568e+17");
        check("1e300", "1e+300");
        check("0.00001234", "1.234e-05");
        check("-0.00005", "-5e-05");
        check("0.0", "0.0");
    }
}
