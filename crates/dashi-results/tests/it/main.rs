//! dashi-results' integration tests: one binary, a module per topic, on a real results folder
//! (and object_store's in-memory backend for the upload path).

mod cells;
mod bucket;
mod export;
mod million;
mod page;
mod redash;
mod storage;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use dashi_core::{Cell, Column, ColumnType, OrgId, RowSink};
use dashi_results::{ResultStream, ResultsStore, StoredResult, WriterOptions};
use futures_util::TryStreamExt;

/// A results store in a fresh temp folder (kept alive by the returned guard).
fn local_store() -> (tempfile::TempDir, ResultsStore) {
    let folder = tempfile::tempdir().expect("temp folder");
    let store = ResultsStore::local(folder.path().join("results")).expect("open the results folder");
    (folder, store)
}

fn column(name: &str, column_type: ColumnType) -> Column {
    Column { name: name.into(), friendly_name: name.replace('_', " "), column_type }
}

/// Writes `rows` under `columns` and finishes the result.
async fn write(store: &ResultsStore, columns: &[Column], rows: &[Vec<Cell>], options: WriterOptions) -> StoredResult {
    let mut writer = store.writer(OrgId(1), options);
    writer.columns(columns).expect("columns accepted");
    for row in rows {
        writer.row(row).expect("row accepted");
    }
    writer.finish().await.expect("result stored")
}

async fn collect(stream: ResultStream) -> Vec<u8> {
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("stream completes");
    chunks.concat()
}

fn naive(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("test timestamp")
}

/// One column of every type, and rows covering every cell kind, escaping and nulls.
fn sample() -> (Vec<Column>, Vec<Vec<Cell>>) {
    let columns = vec![
        column("id", ColumnType::Integer),
        column("price", ColumnType::Float),
        column("name", ColumnType::String),
        column("day", ColumnType::Date),
        column("local_time", ColumnType::Datetime),
        column("at", ColumnType::Datetime),
        column("flag", ColumnType::Boolean),
        column("doc", ColumnType::Null),
        column("nothing", ColumnType::Null),
    ];
    let india = FixedOffset::east_opt(5 * 3600 + 1800).expect("offset");
    let utc = FixedOffset::east_opt(0).expect("offset");
    let rows = vec![
        vec![
            Cell::Int(1),
            Cell::Float(1.5),
            Cell::Text("plain".into()),
            Cell::Date(NaiveDate::from_ymd_opt(2024, 1, 2).expect("date")),
            Cell::NaiveDateTime(naive("2024-01-02 03:04:05.678901")),
            Cell::DateTime(utc.from_utc_datetime(&naive("2024-01-02 03:04:05"))),
            Cell::Bool(true),
            Cell::Json(serde_json::json!({"a": [1, 2]})),
            Cell::Null,
        ],
        vec![
            Cell::Int(-2),
            Cell::Float(f64::NAN),
            Cell::Text("comma, \"quote\"\nnew\tline ünïcødé 🙂".into()),
            Cell::Date(NaiveDate::from_ymd_opt(1999, 12, 31).expect("date")),
            Cell::NaiveDateTime(naive("1999-12-31 23:59:00")),
            Cell::DateTime(india.from_local_datetime(&naive("2024-06-30 12:00:00.250")).unwrap()),
            Cell::Bool(false),
            Cell::Json(serde_json::json!([1, "x"])),
            Cell::Null,
        ],
        vec![Cell::Null, Cell::Null, Cell::Null, Cell::Null, Cell::Null, Cell::Null, Cell::Null, Cell::Null, Cell::Null],
    ];
    (columns, rows)
}
