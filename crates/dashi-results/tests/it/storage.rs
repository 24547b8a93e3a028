//! Where results end up: inline or in the store, limits, cleanup, and the upload path used for
//! buckets (exercised with object_store's in-memory backend, a real implementation of its API).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use dashi_core::{Cell, ColumnType, OrgId, RowSink, SinkError};
use dashi_results::{Error, ResultsStore, Storage, WriterOptions};
use futures_util::TryStreamExt;

use crate::{collect, column, local_store, write};

/// Text that zstd cannot shrink much, so compressed sizes grow with the row count.
pub(crate) fn noise(seed: u64) -> String {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..8)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            format!("{:016x}", state >> 1)
        })
        .collect()
}

pub(crate) fn noisy_rows(n_rows: u64) -> Vec<Vec<Cell>> {
    (0..n_rows).map(|n| vec![Cell::Int(n as i64), Cell::Text(noise(n))]).collect()
}

pub(crate) fn noisy_columns() -> Vec<dashi_core::Column> {
    vec![column("n", ColumnType::Integer), column("noise", ColumnType::String)]
}

fn files_under(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() { pending.push(path) } else { found.push(path) }
        }
    }
    found
}

#[tokio::test]
async fn small_results_stay_inline_and_large_ones_go_to_the_store() {
    let (folder, store) = local_store();
    let small = write(&store, &noisy_columns(), &noisy_rows(10), WriterOptions::default()).await;
    assert!(matches!(small.storage, Storage::Inline(ref bytes) if bytes.len() as u64 == small.byte_size));
    assert_eq!(small.row_count, 10);

    let options = WriterOptions { inline_limit: 4096, ..WriterOptions::default() };
    let large = write(&store, &noisy_columns(), &noisy_rows(500), options).await;
    let Storage::Object { ref location } = large.storage else { panic!("expected an object, got {:?}", large.storage) };
    let now = chrono::Utc::now();
    let month_prefix = format!("results/1/{}/", now.format("%Y/%m"));
    assert!(location.starts_with(&month_prefix) && location.ends_with(".ndjson.zst"), "{location}");
    let on_disk = folder.path().join("results").join(location);
    assert_eq!(std::fs::metadata(&on_disk).expect("blob on disk").len(), large.byte_size);
    assert!(large.byte_size > 4096);

    // Both read back the same way.
    for stored in [&small, &large] {
        let body = collect(store.redash_data(&stored.storage).await.expect("readable")).await;
        let parsed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(parsed["rows"].as_array().expect("rows").len() as u64, stored.row_count);
        assert_eq!(parsed["rows"][3]["noise"], noise(3));
    }
    // Nothing is left in the spool folder.
    assert!(files_under(&folder.path().join("results/.incoming")).is_empty());
}

#[tokio::test]
async fn row_limit_refuses_the_row_past_it() {
    let (folder, store) = local_store();
    let mut writer = store.writer(OrgId(1), WriterOptions { max_rows: Some(3), ..WriterOptions::default() });
    writer.columns(&noisy_columns()).expect("columns");
    for row in noisy_rows(3) {
        writer.row(&row).expect("within the limit");
    }
    let refused = writer.row(&noisy_rows(1)[0]).expect_err("over the limit");
    assert!(matches!(refused, SinkError::TooLarge { ref limit } if limit == "3 rows"), "{refused:?}");
    assert!(writer.row(&noisy_rows(1)[0]).is_err(), "a failed writer takes no more rows");
    assert!(matches!(writer.finish().await, Err(Error::WriterFailed)));
    assert!(files_under(folder.path()).is_empty(), "nothing stored, no spool left");
}

#[tokio::test]
async fn byte_limit_stops_a_growing_result() {
    let (folder, store) = local_store();
    let options = WriterOptions { max_bytes: Some(200_000), inline_limit: 1024, ..WriterOptions::default() };
    let mut writer = store.writer(OrgId(1), options);
    writer.columns(&noisy_columns()).expect("columns");
    let mut refusal = None;
    for (n, row) in noisy_rows(20_000).iter().enumerate() {
        if let Err(error) = writer.row(row) {
            refusal = Some((n, error));
            break;
        }
    }
    let (n_accepted, error) = refusal.expect("the limit was reached");
    assert!(matches!(error, SinkError::TooLarge { ref limit } if limit == "200000 bytes"), "{error:?}");
    // Each row compresses to about 70 bytes; the check lags by at most one zstd block.
    assert!((1_000..5_000).contains(&n_accepted), "{n_accepted}");
    drop(writer);
    assert!(files_under(folder.path()).is_empty(), "the spool file went with the writer");
}

#[tokio::test]
async fn malformed_runner_output_is_refused() {
    let (_folder, store) = local_store();
    let mut writer = store.writer(OrgId(1), WriterOptions::default());
    let early = writer.row(&[Cell::Int(1)]).expect_err("row before columns");
    assert!(matches!(early, SinkError::Write(_)));

    let mut writer = store.writer(OrgId(1), WriterOptions::default());
    writer.columns(&noisy_columns()).expect("columns");
    let short = writer.row(&[Cell::Int(1)]).expect_err("row too short");
    let SinkError::Write(source) = short else { panic!("expected a write error") };
    assert_eq!(source.to_string(), "a row has 1 cells but the result has 2 columns");
}

#[tokio::test]
async fn missing_blobs_are_not_found_before_any_byte() {
    let (_folder, store) = local_store();
    let gone = Storage::Object { location: "results/1/2020/01/gone.ndjson.zst".into() };
    assert!(matches!(store.csv(&gone, &Default::default()).await, Err(Error::NotFound { .. })));
    assert!(matches!(store.zstd(&gone).await, Err(Error::NotFound { .. })));
    assert!(matches!(store.page(&gone, &dashi_results::PageRequest { offset: 0, limit: 1, sort: None }).await, Err(Error::NotFound { .. })));
    let outside = Storage::Object { location: "../secret".into() };
    assert!(matches!(store.ndjson(&outside).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn sweep_deletes_only_unreferenced_blobs() {
    let (folder, store) = local_store();
    let options = WriterOptions { inline_limit: 0, ..WriterOptions::default() };
    let kept = write(&store, &noisy_columns(), &noisy_rows(5), options).await;
    let orphan = write(&store, &noisy_columns(), &noisy_rows(5), options).await;
    let location = |stored: &dashi_results::StoredResult| match &stored.storage {
        Storage::Object { location } => location.clone(),
        Storage::Inline(_) => panic!("expected an object"),
    };
    let listed: Vec<_> = store.list().try_collect().await.expect("list");
    assert_eq!(listed.len(), 2);

    // A spool file from a writer that died mid-run.
    std::fs::write(folder.path().join("results/.incoming/result-dead.partial"), b"partial").expect("spool file");

    let referenced: HashSet<String> = [location(&kept)].into();
    let young = store.sweep_orphans(&referenced, Duration::from_secs(3600)).await.expect("sweep");
    assert_eq!((young.examined, young.deleted, young.abandoned_spool_files), (2, 0, 0), "too young to sweep");
    let ancient = store.sweep_orphans(&referenced, Duration::MAX).await.expect("sweep");
    assert_eq!((ancient.deleted, ancient.abandoned_spool_files), (0, 0), "nothing is that old");

    let report = store.sweep_orphans(&referenced, Duration::ZERO).await.expect("sweep");
    assert_eq!((report.examined, report.deleted, report.abandoned_spool_files), (2, 1, 1));
    let listed: Vec<String> = store.list().map_ok(|object| object.location).try_collect().await.expect("list");
    assert_eq!(listed, [location(&kept)]);
    assert!(matches!(store.ndjson(&orphan.storage).await, Err(Error::NotFound { .. })));

    // Deleting is idempotent.
    store.delete(&location(&orphan)).await.expect("already gone is fine");
    store.delete(&location(&kept)).await.expect("delete");
    assert!(store.list().try_collect::<Vec<_>>().await.expect("list").is_empty());
}

#[tokio::test]
async fn bucket_backends_receive_whole_uploads() {
    let spool = tempfile::tempdir().expect("spool folder");
    let bucket = Arc::new(object_store::memory::InMemory::new());
    let store = ResultsStore::with_object_store(bucket, spool.path()).expect("store");
    // About 7 MB compressed (100k rows of ~70 bytes): more than one 5 MiB part, so the multipart path runs.
    let rows = noisy_rows(100_000);
    let stored = write(&store, &noisy_columns(), &rows, WriterOptions::default()).await;
    assert!(stored.byte_size > 5 * 1024 * 1024, "{}", stored.byte_size);
    assert!(matches!(stored.storage, Storage::Object { .. }));
    let listed: Vec<_> = store.list().try_collect().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, stored.byte_size);

    let body = collect(store.csv(&stored.storage, &Default::default()).await.expect("readable")).await;
    let text = String::from_utf8(body).expect("utf-8");
    assert_eq!(text.lines().count(), 100_001);
    assert_eq!(text.lines().nth(100_000), Some(format!("99999,{}", noise(99_999)).as_str()));
    let raw = collect(store.zstd(&stored.storage).await.expect("readable")).await;
    assert_eq!(raw.len() as u64, stored.byte_size);

    let small = write(&store, &noisy_columns(), &noisy_rows(2000), WriterOptions::default()).await;
    assert!(matches!(small.storage, Storage::Object { .. }), "single-request upload");
    let page = store.page(&small.storage, &dashi_results::PageRequest { offset: 1999, limit: 5, sort: None }).await.expect("page");
    assert_eq!(page.rows, [vec![serde_json::json!(1999), serde_json::json!(noise(1999))]]);
    assert!(files_under(spool.path()).is_empty());
}
