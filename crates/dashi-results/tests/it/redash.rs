//! Redash's JSON shape and the compact NDJSON form, for every cell type.

use chrono::TimeZone;
use dashi_results::{QueryResultEnvelope, WriterOptions};
use serde_json::json;

use crate::{collect, local_store, sample, write};

fn expected_columns() -> serde_json::Value {
    json!([
        {"name": "id", "friendly_name": "id", "type": "integer"},
        {"name": "price", "friendly_name": "price", "type": "float"},
        {"name": "name", "friendly_name": "name", "type": "string"},
        {"name": "day", "friendly_name": "day", "type": "date"},
        {"name": "local_time", "friendly_name": "local time", "type": "datetime"},
        {"name": "at", "friendly_name": "at", "type": "datetime"},
        {"name": "flag", "friendly_name": "flag", "type": "boolean"},
        {"name": "doc", "friendly_name": "doc", "type": null},
        {"name": "nothing", "friendly_name": "nothing", "type": null},
    ])
}

fn expected_rows() -> serde_json::Value {
    json!([
        {"id": 1, "price": 1.5, "name": "plain", "day": "2024-01-02", "local_time": "2024-01-02T03:04:05.678",
         "at": "2024-01-02T03:04:05Z", "flag": true, "doc": {"a": [1, 2]}, "nothing": null},
        {"id": -2, "price": null, "name": "comma, \"quote\"\nnew\tline ünïcødé 🙂", "day": "1999-12-31",
         "local_time": "1999-12-31T23:59:00", "at": "2024-06-30T12:00:00.250+05:30", "flag": false,
         "doc": [1, "x"], "nothing": null},
        {"id": null, "price": null, "name": null, "day": null, "local_time": null, "at": null, "flag": null,
         "doc": null, "nothing": null},
    ])
}

#[tokio::test]
async fn query_result_has_redash_shape_with_rows_as_objects() {
    let (_folder, store) = local_store();
    let (columns, rows) = sample();
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let envelope = QueryResultEnvelope {
        id: 7,
        query_hash: "0123456789abcdef0123456789abcdef".into(),
        query: "select \"x\"".into(),
        data_source_id: 3,
        runtime: 0.25,
        retrieved_at: chrono::Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap() + chrono::Duration::microseconds(123_456),
    };
    let body = collect(store.redash_query_result(&stored.storage, &envelope).await.expect("readable")).await;
    let text = String::from_utf8(body).expect("utf-8");
    assert!(text.starts_with(r#"{"query_result":{"id":7,"query_hash":"#), "{text}");
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let expected = json!({"query_result": {
        "id": 7,
        "query_hash": "0123456789abcdef0123456789abcdef",
        "query": "select \"x\"",
        "data": {"columns": expected_columns(), "rows": expected_rows()},
        "data_source_id": 3,
        "runtime": 0.25,
        "retrieved_at": "2024-05-06T07:08:09.123Z",
    }});
    assert_eq!(parsed, expected);
    // Key order is Redash's (serde_json keeps it with `preserve_order`).
    let keys: Vec<&String> = parsed["query_result"].as_object().expect("object").keys().collect();
    assert_eq!(keys, ["id", "query_hash", "query", "data", "data_source_id", "runtime", "retrieved_at"]);
}

#[tokio::test]
async fn data_alone_is_columns_and_rows() {
    let (_folder, store) = local_store();
    let (columns, rows) = sample();
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let body = collect(store.redash_data(&stored.storage).await.expect("readable")).await;
    let parsed: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
    assert_eq!(parsed, json!({"columns": expected_columns(), "rows": expected_rows()}));
}

#[tokio::test]
async fn empty_results_are_valid_json() {
    let (_folder, store) = local_store();
    let stored = write(&store, &sample().0, &[], WriterOptions::default()).await;
    assert_eq!(stored.row_count, 0);
    let body = collect(store.redash_data(&stored.storage).await.expect("readable")).await;
    let parsed: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
    assert_eq!(parsed, json!({"columns": expected_columns(), "rows": []}));

    // A statement with no result set at all: the runner never sends columns.
    let writer = store.writer(dashi_core::OrgId(1), WriterOptions::default());
    let stored = writer.finish().await.expect("stored");
    let body = collect(store.redash_data(&stored.storage).await.expect("readable")).await;
    assert_eq!(body, br#"{"columns":[],"rows":[]}"#);
}

#[tokio::test]
async fn ndjson_and_raw_zstd_carry_the_stored_lines() {
    let (_folder, store) = local_store();
    let (columns, rows) = sample();
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let ndjson = collect(store.ndjson(&stored.storage).await.expect("readable")).await;
    let text = String::from_utf8(ndjson.clone()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    let header: serde_json::Value = serde_json::from_str(lines[0]).expect("header JSON");
    assert_eq!(header, json!({"columns": expected_columns()}));
    assert_eq!(
        lines[1],
        r#"[1,1.5,"plain","2024-01-02","2024-01-02T03:04:05.678","2024-01-02T03:04:05Z",true,{"a":[1,2]},null]"#
    );
    assert_eq!(lines[3], "[null,null,null,null,null,null,null,null,null]");

    let compressed = collect(store.zstd(&stored.storage).await.expect("readable")).await;
    assert_eq!(compressed.len() as u64, stored.byte_size);
    assert_eq!(zstd::decode_all(compressed.as_slice()).expect("valid zstd"), ndjson);
}
