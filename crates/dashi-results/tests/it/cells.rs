//! Reading a stored result back as typed cells (what the Query Results runner loads).

use dashi_core::Cell;
use dashi_results::{Storage, WriterOptions};
use futures_util::TryStreamExt;

use crate::{local_store, sample, write};

#[tokio::test]
async fn cells_come_back_as_they_were_written() {
    let (_folder, store) = local_store();
    let (columns, rows) = sample();
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let (read_columns, stream) = store.cells(&stored.storage).await.expect("open");
    assert_eq!(read_columns, columns);
    let read: Vec<Vec<Cell>> = stream.try_collect().await.expect("rows");
    assert_eq!(read.len(), rows.len());
    for (got, want) in read.iter().zip(&rows) {
        for (got_cell, want_cell) in got.iter().zip(want) {
            match (got_cell, want_cell) {
                // Stored datetimes keep milliseconds, as Redash's encoder does.
                (Cell::DateTime(got), Cell::DateTime(want)) => assert_eq!(got.timestamp_millis(), want.timestamp_millis()),
                (Cell::NaiveDateTime(got), Cell::NaiveDateTime(want)) => {
                    assert_eq!(got.and_utc().timestamp_millis(), want.and_utc().timestamp_millis())
                }
                // NaN and infinities are stored as null, as Redash's encoder writes them.
                (Cell::Null, Cell::Float(want)) if !want.is_finite() => {}
                (got, want) => assert_eq!(got, want),
            }
        }
    }
}

#[tokio::test]
async fn a_missing_blob_fails_before_any_row() {
    let (_folder, store) = local_store();
    let missing = Storage::Object { location: "results/1/2026/01/missing.ndjson.zst".into() };
    assert!(store.cells(&missing).await.is_err());
}
