//! A million rows through the writer and back out as Redash JSON and CSV, asserting the counts and
//! that the process's peak memory grows by far less than the result's size.

use std::io::BufReader;

use chrono::{FixedOffset, TimeZone};
use dashi_core::{Cell, ColumnType, OrgId, RowSink};
use dashi_results::{DateFormats, QueryResultEnvelope, ResultStream, WriterOptions};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use tokio::io::AsyncWriteExt;

use crate::{column, local_store};

const N_ROWS: u64 = 1_000_000;
const CITIES: [&str; 8] = ["Amsterdam", "Berlin", "Cairo", "Delhi", "Edinburgh", "Florence", "Genoa", "Hanoi"];
/// Peak RSS growth allowed for writing and reading a million rows (the Redash JSON alone is
/// about 100 MB, the uncompressed rows about 60 MB).
const MAX_GROWTH_KIB: u64 = 200 * 1024;

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).expect("VmHWM line");
    line.split_whitespace().nth(1).expect("VmHWM value").parse().expect("VmHWM in KiB")
}

/// Writes a download to a file chunk by chunk; returns its size.
async fn drain(stream: ResultStream, path: &std::path::Path) -> u64 {
    let mut file = tokio::fs::File::create(path).await.expect("create output file");
    let mut stream = std::pin::pin!(stream);
    let mut size = 0;
    while let Some(chunk) = stream.try_next().await.expect("stream chunk") {
        size += chunk.len() as u64;
        file.write_all(&chunk).await.expect("write output file");
    }
    file.flush().await.expect("flush output file");
    size
}

/// Counts a JSON array's elements while validating them, holding none.
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Count, D::Error> {
        struct Counter;
        impl<'de> Visitor<'de> for Counter {
            type Value = Count;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        deserializer.deserialize_seq(Counter)
    }
}

#[derive(Deserialize)]
struct Body {
    query_result: QueryResult,
}

#[derive(Deserialize)]
struct QueryResult {
    id: i64,
    data: Data,
    retrieved_at: String,
}

#[derive(Deserialize)]
struct Data {
    columns: Vec<serde_json::Value>,
    rows: Count,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn million_rows_write_and_read_in_bounded_memory() {
    let before_kib = peak_rss_kib();
    let (folder, store) = local_store();
    let columns = vec![
        column("id", ColumnType::Integer),
        column("amount", ColumnType::Float),
        column("city", ColumnType::String),
        column("created_at", ColumnType::Datetime),
        column("is_active", ColumnType::Boolean),
    ];
    let utc = FixedOffset::east_opt(0).expect("offset");
    let start = utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let mut writer = store.writer(OrgId(1), WriterOptions::default());
    writer.columns(&columns).expect("columns");
    let mut row = Vec::with_capacity(columns.len());
    for n in 0..N_ROWS {
        row.clear();
        row.push(Cell::Int(n as i64));
        row.push(Cell::Float(n as f64 * 0.37 + 0.01));
        row.push(Cell::Text(CITIES[(n % 8) as usize].into()));
        row.push(Cell::DateTime(start + chrono::Duration::seconds(n as i64)));
        row.push(Cell::Bool(n % 3 == 0));
        writer.row(&row).expect("row");
    }
    let stored = writer.finish().await.expect("stored");
    assert_eq!(stored.row_count, N_ROWS);
    assert!(matches!(stored.storage, dashi_results::Storage::Object { .. }));

    let envelope = QueryResultEnvelope {
        id: 1,
        query_hash: "h".into(),
        query: "select".into(),
        data_source_id: 1,
        runtime: 1.0,
        retrieved_at: chrono::Utc::now(),
    };
    let json_path = folder.path().join("result.json");
    let json_size = drain(store.redash_query_result(&stored.storage, &envelope).await.expect("readable"), &json_path).await;
    let body: Body = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(json_path).expect("open JSON");
        serde_json::from_reader(BufReader::with_capacity(1 << 16, file)).expect("valid Redash JSON")
    })
    .await
    .expect("parse task");
    assert_eq!(body.query_result.id, 1);
    assert_eq!(body.query_result.data.columns.len(), 5);
    assert_eq!(body.query_result.data.rows.0, N_ROWS);
    assert!(body.query_result.retrieved_at.ends_with('Z'));

    let csv_path = folder.path().join("result.csv");
    let csv_size = drain(store.csv(&stored.storage, &DateFormats::default()).await.expect("readable"), &csv_path).await;
    let (n_records, last) = tokio::task::spawn_blocking(move || {
        let mut reader = csv::Reader::from_path(csv_path).expect("open CSV");
        let mut n_records = 0u64;
        let mut last = csv::StringRecord::new();
        for record in reader.records() {
            last = record.expect("valid CSV record");
            n_records += 1;
        }
        (n_records, last)
    })
    .await
    .expect("count task");
    assert_eq!(n_records, N_ROWS);
    assert_eq!(&last[0], "999999");
    assert_eq!(&last[2], CITIES[999_999 % 8]);
    assert_eq!(&last[3], "12/01/24 13:46");
    assert_eq!(&last[4], "true");

    let growth_kib = peak_rss_kib().saturating_sub(before_kib);
    assert!(
        growth_kib < MAX_GROWTH_KIB,
        "peak RSS grew by {growth_kib} KiB (compressed {} B, JSON {json_size} B, CSV {csv_size} B)",
        stored.byte_size
    );
}
