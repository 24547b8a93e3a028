//! Measures the results store on 1,000,000 rows × 5 columns (int, float, text, timestamp, bool):
//! time, sizes and peak RSS for the write and for each download.
//!
//! `cargo run --release -p dashi-results --example million_rows [zstd level]`
//!
//! Peak RSS per phase comes from `VmHWM` after resetting it through `/proc/self/clear_refs`.

use std::io::Write;
use std::time::Instant;

use chrono::{FixedOffset, TimeZone};
use dashi_core::{Cell, Column, ColumnType, OrgId, RowSink};
use dashi_results::{DateFormats, PageRequest, QueryResultEnvelope, ResultStream, ResultsStore, Sort, WriterOptions};
use futures_util::TryStreamExt;

const N_ROWS: u64 = 1_000_000;
const CITIES: [&str; 8] = ["Amsterdam", "Berlin", "Cairo", "Delhi", "Edinburgh", "Florence", "Genoa", "Hanoi"];

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status.lines().find(|line| line.starts_with(field)).expect("status field");
    line.split_whitespace().nth(1).expect("value").parse().expect("KiB")
}

fn reset_peak() {
    // Writing 5 resets VmHWM to the current RSS (Linux 4.0+).
    std::fs::write("/proc/self/clear_refs", "5").expect("reset peak RSS");
}

fn column(name: &str, column_type: ColumnType) -> Column {
    Column { name: name.into(), friendly_name: name.into(), column_type }
}

async fn drain(stream: ResultStream) -> u64 {
    let mut stream = std::pin::pin!(stream);
    let mut size = 0;
    while let Some(chunk) = stream.try_next().await.expect("chunk") {
        size += chunk.len() as u64;
    }
    size
}

#[tokio::main]
async fn main() {
    let level: i32 = std::env::args().nth(1).map_or(1, |arg| arg.parse().expect("a zstd level"));
    let mut out = std::io::stdout();
    let folder = tempfile::tempdir().expect("temp folder");
    let store = ResultsStore::local(folder.path().join("results")).expect("store");
    let columns = vec![
        column("id", ColumnType::Integer),
        column("amount", ColumnType::Float),
        column("city", ColumnType::String),
        column("created_at", ColumnType::Datetime),
        column("is_active", ColumnType::Boolean),
    ];
    let utc = FixedOffset::east_opt(0).expect("offset");
    let start = utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();

    let baseline_kib = rss_kib("VmRSS:");
    writeln!(out, "baseline RSS {baseline_kib} KiB, zstd level {level}").expect("stdout");
    reset_peak();
    let clock = Instant::now();
    let mut writer = store.writer(OrgId(1), WriterOptions { compression_level: level, ..WriterOptions::default() });
    writer.columns(&columns).expect("columns");
    let mut row = Vec::with_capacity(5);
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
    writeln!(
        out,
        "write        {:>7.0} ms  compressed {:>11} B  peak RSS +{} KiB",
        clock.elapsed().as_secs_f64() * 1e3,
        stored.byte_size,
        rss_kib("VmHWM:").saturating_sub(baseline_kib)
    )
    .expect("stdout");

    let envelope = QueryResultEnvelope {
        id: 1,
        query_hash: "h".into(),
        query: "select".into(),
        data_source_id: 1,
        runtime: 1.0,
        retrieved_at: chrono::Utc::now(),
    };
    let formats = DateFormats::default();
    let downloads: [(&str, u8); 5] = [("redash json", 0), ("csv", 1), ("ndjson", 2), ("zstd as-is", 3), ("xlsx", 4)];
    for (name, kind) in downloads {
        reset_peak();
        let clock = Instant::now();
        let stream = match kind {
            0 => store.redash_query_result(&stored.storage, &envelope).await,
            1 => store.csv(&stored.storage, &formats).await,
            2 => store.ndjson(&stored.storage).await,
            3 => store.zstd(&stored.storage).await,
            _ => store.xlsx(&stored.storage).await,
        }
        .expect("readable");
        let size = drain(stream).await;
        writeln!(
            out,
            "{name:<12} {:>7.0} ms  output     {size:>11} B  peak RSS +{} KiB",
            clock.elapsed().as_secs_f64() * 1e3,
            rss_kib("VmHWM:").saturating_sub(baseline_kib)
        )
        .expect("stdout");
    }

    for (name, sort) in [("page sorted by amount", "amount"), ("page sorted by city desc, offset 500000", "city")] {
        reset_peak();
        let clock = Instant::now();
        let offset = if sort == "city" { 500_000 } else { 0 };
        let request = PageRequest { offset, limit: 100, sort: Some(Sort { column: sort.into(), is_descending: sort == "city" }) };
        let page = store.page(&stored.storage, &request).await.expect("page");
        writeln!(
            out,
            "{name}: {} rows {:>7.0} ms  peak RSS +{} KiB",
            page.rows.len(),
            clock.elapsed().as_secs_f64() * 1e3,
            rss_kib("VmHWM:").saturating_sub(baseline_kib)
        )
        .expect("stdout");
    }
}
