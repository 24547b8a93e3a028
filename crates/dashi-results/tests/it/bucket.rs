//! The S3 backend against an S3-compatible server (moto, see `dashi_testkit::S3Server`): signed
//! requests, multipart upload of a result larger than one part, reads, listing and deletes.

use dashi_results::{ResultsStore, S3Settings, Storage, StoreSettings, WriterOptions};
use dashi_testkit::S3Server;
use futures_util::TryStreamExt;

use crate::storage::{noise, noisy_columns, noisy_rows};
use crate::{collect, write};

fn bucket_settings(server: &S3Server, bucket: &str, spool: &std::path::Path) -> StoreSettings {
    StoreSettings::S3(S3Settings {
        bucket: bucket.into(),
        region: Some("us-east-1".into()),
        endpoint: Some(server.endpoint()),
        access_key_id: Some("test-key".into()),
        secret_access_key: Some("test-secret".into()),
        allow_http: true,
        spool_dir: spool.to_path_buf(),
    })
}

#[tokio::test]
async fn results_larger_than_one_upload_part_round_trip_through_a_bucket() {
    let server = S3Server::start().await.expect("S3 server");
    server.create_bucket("dashi-results").await.expect("bucket");
    let spool = tempfile::tempdir().expect("spool folder");
    let store = ResultsStore::open(&bucket_settings(&server, "dashi-results", spool.path())).expect("open bucket");

    // About 7 MiB compressed: more than one 5 MiB part.
    let n_rows = 110_000;
    let stored = write(&store, &noisy_columns(), &noisy_rows(n_rows), WriterOptions::default()).await;
    let Storage::Object { ref location } = stored.storage else { panic!("expected an object: {:?}", stored.storage) };
    assert!(stored.byte_size > 5 * 1024 * 1024, "result is only {} bytes", stored.byte_size);
    assert_eq!(server.list_keys("dashi-results").await.expect("list"), vec![location.clone()]);

    let body = collect(store.redash_data(&stored.storage).await.expect("readable")).await;
    let parsed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    let rows = parsed["rows"].as_array().expect("rows");
    assert_eq!(rows.len() as u64, n_rows);
    assert_eq!(rows[98_765]["noise"], noise(98_765));

    let listed: Vec<_> = store.list().try_collect().await.expect("listing");
    assert_eq!(listed.len(), 1);
    store.delete(location).await.expect("delete");
    store.delete(location).await.expect("deleting twice is fine");
    assert!(server.list_keys("dashi-results").await.expect("list").is_empty());
    assert_eq!(std::fs::read_dir(spool.path()).expect("spool").count(), 0, "the spool file is removed");
}

#[tokio::test]
async fn a_missing_bucket_fails_the_write_with_the_servers_message() {
    let server = S3Server::start().await.expect("S3 server");
    let spool = tempfile::tempdir().expect("spool folder");
    let store = ResultsStore::open(&bucket_settings(&server, "no-such-bucket", spool.path())).expect("open bucket");
    let mut writer = store.writer(dashi_core::OrgId(1), WriterOptions { inline_limit: 0, ..WriterOptions::default() });
    dashi_core::RowSink::columns(&mut writer, &noisy_columns()).expect("columns");
    for row in noisy_rows(10) {
        dashi_core::RowSink::row(&mut writer, &row).expect("row");
    }
    let error = writer.finish().await.expect_err("no bucket, no result");
    assert!(matches!(error, dashi_results::Error::Store(_)), "{error:?}");
    assert!(format!("{error:?}").contains("no-such-bucket"), "the cause names the bucket: {error:?}");
}
