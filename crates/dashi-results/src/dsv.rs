//! CSV and TSV downloads, streamed row by row with Redash's rules.
//!
//! Redash compat (`serialize_query_result_to_dsv`): a header row of column names; Python's csv
//! dialect (`"` quoting only where needed, `\r\n` line ends); `null` as an empty field; booleans in
//! `boolean` columns as `true`/`false` (elsewhere Python's `True`/`False`); `date` and `datetime`
//! columns reformatted with the org's `date_format` and `date_format + " " + time_format` (Moment
//! tokens translated to strftime exactly as Redash does), values that do not parse as ISO dates
//! passed through; floats as Python prints them. One difference: objects and arrays are written
//! as JSON (Redash writes Python's repr, e.g. `{'a': 1}`, which no tool can read back).

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use dashi_core::ColumnType;

use crate::error::{Error, Result};
use crate::json;
use crate::store::ResultsStore;
use crate::stream::{ChunkWriter, Lines, ResultStream, Value, split_cells, value};
use crate::writer::Storage;

/// The org's date display settings (Redash's `date_format` and `time_format`, Moment tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormats {
    pub date_format: String,
    pub time_format: String,
}

impl Default for DateFormats {
    /// Redash's defaults (`REDASH_DATE_FORMAT`, `REDASH_TIME_FORMAT`).
    fn default() -> Self {
        DateFormats { date_format: "DD/MM/YY".into(), time_format: "HH:mm".into() }
    }
}

impl ResultsStore {
    /// Streams the result as CSV (`text/csv; charset=UTF-8`).
    pub async fn csv(&self, storage: &Storage, formats: &DateFormats) -> Result<ResultStream> {
        self.delimited(storage, formats, b',').await
    }

    /// Streams the result as TSV (`text/tab-separated-values; charset=UTF-8`).
    pub async fn tsv(&self, storage: &Storage, formats: &DateFormats) -> Result<ResultStream> {
        self.delimited(storage, formats, b'\t').await
    }

    async fn delimited(&self, storage: &Storage, formats: &DateFormats, delimiter: u8) -> Result<ResultStream> {
        let date_items = strftime_items(&formats.date_format);
        let datetime_items = strftime_items(&format!("{} {}", formats.date_format, formats.time_format));
        ResultStream::spawn(self, storage, move |raw, out| {
            write_delimited(raw, out, delimiter, date_items.as_deref(), datetime_items.as_deref())
        })
        .await
    }
}

fn write_delimited(
    raw: Box<dyn std::io::Read + Send>,
    out: &mut ChunkWriter,
    delimiter: u8,
    date_items: Option<&[Item<'static>]>,
    datetime_items: Option<&[Item<'static>]>,
) -> Result<()> {
    let (columns, mut lines) = Lines::open(raw)?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(&mut *out);
    writer.write_record(columns.iter().map(|column| column.name.as_bytes())).map_err(csv_error)?;

    let conversions: Vec<Conversion> = columns
        .iter()
        .map(|column| match column.column_type {
            ColumnType::Boolean => Conversion::Boolean,
            ColumnType::Date => Conversion::Date(date_items),
            ColumnType::Datetime => Conversion::Date(datetime_items),
            _ => Conversion::Plain,
        })
        .collect();
    let mut cells = Vec::with_capacity(columns.len());
    let mut scratch = String::new();
    while let Some(line) = lines.next_line()? {
        split_cells(line, columns.len(), &mut cells)?;
        for (range, conversion) in cells.iter().zip(&conversions) {
            let field = field_text(value(&line[range.clone()])?, *conversion, &mut scratch);
            writer.write_field(field.as_bytes()).map_err(csv_error)?;
        }
        writer.write_record(std::iter::empty::<&[u8]>()).map_err(csv_error)?;
    }
    writer.flush()?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Conversion<'a> {
    Plain,
    Boolean,
    /// Reformat ISO dates with these items (`None`: the org's format is unusable; pass through).
    Date(Option<&'a [Item<'static>]>),
}

fn field_text<'a>(cell: Value<'a>, conversion: Conversion<'_>, scratch: &'a mut String) -> Cow<'a, str> {
    match (cell, conversion) {
        (Value::Null, _) => "".into(),
        (Value::Bool(flag), Conversion::Boolean) => if flag { "true" } else { "false" }.into(),
        (Value::Bool(flag), _) => if flag { "True" } else { "False" }.into(),
        (Value::Number(raw), _) => json::python_number(raw),
        (Value::Text(text), Conversion::Date(Some(items))) if !text.is_empty() => {
            scratch.clear();
            if format_iso(&text, items, scratch) { Cow::Borrowed(scratch.as_str()) } else { text }
        }
        (Value::Text(text), _) => text,
        (Value::Nested(raw), _) => raw.into(),
    }
}

fn csv_error(error: csv::Error) -> Error {
    Error::Io(error.into())
}

/// Redash's Moment-to-strftime translation, applied in Redash's order; `None` if the result is
/// not a format chrono can print (a stray `%`).
fn strftime_items(moment: &str) -> Option<Vec<Item<'static>>> {
    let strftime = moment
        .replace("DD", "%d")
        .replace("MM", "%m")
        .replace("YYYY", "%Y")
        .replace("YY", "%y")
        .replace("HH", "%H")
        .replace("mm", "%M")
        .replace("ss", "%S")
        // Python's %f is microseconds, six digits.
        .replace("SSS", "%6f");
    StrftimeItems::new(&strftime).parse_to_owned().ok()
}

/// Parses an ISO 8601 date or datetime as dateutil's `isoparse` does for the forms Redash stores
/// and writes it with `items`; false if it does not parse or cannot be printed so.
fn format_iso(text: &str, items: &[Item<'static>], out: &mut String) -> bool {
    let Some(parsed) = parse_iso(text) else { return false };
    let written = match parsed {
        Parsed::Naive(value) => write!(out, "{}", value.format_with_items(items.iter())),
        Parsed::Aware(value) => write!(out, "{}", value.format_with_items(items.iter())),
    };
    written.is_ok()
}

enum Parsed {
    Naive(NaiveDateTime),
    Aware(DateTime<FixedOffset>),
}

fn parse_iso(text: &str) -> Option<Parsed> {
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(&bytes[0..4])? as i32, number(&bytes[5..7])?, number(&bytes[8..10])?)?;
    if bytes.len() == 10 {
        return Some(Parsed::Naive(date.and_time(NaiveTime::MIN)));
    }
    if !matches!(bytes[10], b'T' | b' ') {
        return None;
    }
    let (time, offset) = split_offset(&bytes[11..])?;
    let naive = date.and_time(parse_time(time)?);
    Some(match offset {
        None => Parsed::Naive(naive),
        Some(offset) => Parsed::Aware(naive.and_local_timezone(offset).single()?),
    })
}

/// `HH:MM[:SS[.fraction]]`; fraction digits past nanoseconds are ignored.
fn parse_time(bytes: &[u8]) -> Option<NaiveTime> {
    if bytes.len() < 5 || bytes[2] != b':' {
        return None;
    }
    let (hour, minute) = (number(&bytes[0..2])?, number(&bytes[3..5])?);
    let mut second = 0;
    let mut nanosecond = 0;
    if bytes.len() > 5 {
        if bytes.len() < 8 || bytes[5] != b':' {
            return None;
        }
        second = number(&bytes[6..8])?;
        if bytes.len() > 8 {
            let fraction = bytes[8..].strip_prefix(b".")?;
            if fraction.is_empty() {
                return None;
            }
            let kept = &fraction[..fraction.len().min(9)];
            nanosecond = number(kept)? * 10u32.pow(9 - kept.len() as u32);
            fraction.iter().all(u8::is_ascii_digit).then_some(())?;
        }
    }
    NaiveTime::from_hms_nano_opt(hour, minute, second, nanosecond)
}

/// Splits the time from a trailing `Z` or `±HH[:MM]`/`±HHMM` offset.
fn split_offset(bytes: &[u8]) -> Option<(&[u8], Option<FixedOffset>)> {
    if let Some(time) = bytes.strip_suffix(b"Z") {
        return Some((time, Some(FixedOffset::east_opt(0)?)));
    }
    let Some(sign_at) = bytes.iter().rposition(|byte| matches!(byte, b'+' | b'-')) else {
        return Some((bytes, None));
    };
    let (time, offset) = bytes.split_at(sign_at);
    let sign = if offset[0] == b'-' { -1 } else { 1 };
    let (hours, minutes) = match &offset[1..] {
        [h1, h2] => (number(&[*h1, *h2])?, 0),
        [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => (number(&[*h1, *h2])?, number(&[*m1, *m2])?),
        _ => return None,
    };
    Some((time, Some(FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60) as i32)?)))
}

/// ASCII digits as a number; `None` for anything else or more than nine digits.
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0u32, |total, &byte| byte.is_ascii_digit().then(|| total * 10 + u32::from(byte - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(moment: &str, value: &str, expected: &str) {
        let items = strftime_items(moment).expect("usable format");
        let mut out = String::new();
        let text = if format_iso(value, &items, &mut out) { out } else { value.to_owned() };
        assert_eq!(text, expected, "{moment} {value}");
    }

    #[test]
    fn dates_are_reformatted_with_the_org_format() {
        check("DD/MM/YY", "2024-01-02", "02/01/24");
        check("DD/MM/YY HH:mm", "2024-01-02T03:04:05.123", "02/01/24 03:04");
        check("YYYY-MM-DD HH:mm:ss.SSS", "2024-01-02T03:04:05.123Z", "2024-01-02 03:04:05.123000");
        check("DD/MM/YYYY HH:mm", "2024-01-02T03:04:05+05:30", "02/01/2024 03:04");
        check("DD/MM/YYYY HH:mm", "2024-01-02 23:59", "02/01/2024 23:59");
        check("DD/MM/YY", "not a date", "not a date");
        check("DD/MM/YY", "2024-13-02", "2024-13-02");
        check("DD/MM/YY HH:mm:ss.SSS", "2024-01-02T03:04:05.1234567891Z", "02/01/24 03:04:05.123456");
        check("DD/MM/YY HH:mm", "2024-01-02T03:04-0330", "02/01/24 03:04");
        check("DD/MM/YY HH:mm", "2024-01-02T03:04:05.", "2024-01-02T03:04:05.");
        check("DD/MM/YY HH:mm", "2024-01-02T03:04:05+5", "2024-01-02T03:04:05+5");
        check("DD/MM/YY HH:mm", "2024-01-02X03:04", "2024-01-02X03:04");
        assert!(strftime_items("DD %Q").is_none());
    }
}
