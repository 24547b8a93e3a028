//! CSV and JSON over URLs, against an axum listener on 127.0.0.1: type inference, JSON paths
//! and fields, HTTP errors, no redirects, and the private-address block (127.0.0.1 is refused
//! unless the context allows private addresses).

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use dashi_core::{Cell, Classify, Fault};
use dashi_runners::{Error, RunnerContext};
use serde_json::json;

use crate::{open, run};

/// Serves the fixtures on a free loopback port until the test's runtime ends; returns the base URL.
async fn serve() -> String {
    let app = Router::new()
        .route(
            "/people.csv",
            get(|| async { "id,name,score,born,active\n1,ada,9.5,1815-12-10,true\n2,alan,,1912-06-23,false\n3,grace,7,,true\n" }),
        )
        .route("/semicolons.csv", get(|| async { "a;b\n1;x\n" }))
        .route(
            "/people.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"meta": {"n": 2}, "data": {"rows": [
                        {"id": 1, "name": "ada", "address": {"city": "London", "zip": "N1"}, "tags": ["a"]},
                        {"id": 2, "name": "alan", "score": 2.5, "address": {"city": "Wilmslow"}}
                    ]}}"#,
                )
            }),
        )
        .route("/error", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/people.csv")]).into_response() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

fn private_allowed() -> RunnerContext {
    RunnerContext {
        allow_private_addresses: true,
        ..RunnerContext::default()
    }
}

#[tokio::test]
async fn csv_columns_are_typed_from_every_value() {
    let base = serve().await;
    let runner = open("csv", json!({}), &private_allowed());
    let result = run(&*runner, &format!("url: {base}/people.csv"))
        .await
        .expect("query runs");
    assert_eq!(result.names(), ["id", "name", "score", "born", "active"]);
    assert_eq!(
        result.types(),
        ["integer", "string", "float", "date", "boolean"]
    );
    assert_eq!(result.rows.len(), 3);
    assert_eq!(result.rows[1][2], Cell::Null);
    assert_eq!(result.rows[2][2], Cell::Float(7.0));
    assert_eq!(result.rows[0][4], Cell::Bool(true));

    let semicolons = run(&*runner, &format!("url: {base}/semicolons.csv\nsep: ';'"))
        .await
        .expect("runs");
    assert_eq!(semicolons.names(), ["a", "b"]);
    assert_eq!(
        semicolons.rows,
        [vec![Cell::Int(1), Cell::Text("x".into())]]
    );
}

#[tokio::test]
async fn json_rows_come_from_the_path_with_nested_columns() {
    let base = serve().await;
    let runner = open("json", json!({"base_url": base}), &private_allowed());
    let result = run(&*runner, "url: /people.json\npath: data.rows")
        .await
        .expect("query runs");
    assert_eq!(
        result.names(),
        ["id", "name", "address.city", "address.zip", "tags", "score"]
    );
    assert_eq!(
        result.types(),
        ["integer", "string", "string", "string", "string", "float"]
    );
    assert_eq!(result.rows[0][4], Cell::Json(json!(["a"])));
    assert_eq!(result.rows[1][3], Cell::Null);

    let fields = run(
        &*runner,
        "url: /people.json\npath: data.rows\nfields: [name, address.city]",
    )
    .await
    .expect("query runs");
    assert_eq!(fields.names(), ["name", "address.city"]);
    assert_eq!(
        fields.rows[1],
        [Cell::Text("alan".into()), Cell::Text("Wilmslow".into())]
    );

    let missing = run(&*runner, "url: /people.json\npath: data.nope")
        .await
        .expect_err("no such path");
    assert!(
        missing
            .to_string()
            .contains("Couldn't find path data.nope in response."),
        "{missing}"
    );
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed() {
    let base = serve().await;
    for kind in ["csv", "json"] {
        let runner = open(kind, json!({}), &RunnerContext::default());
        let error = run(&*runner, &format!("url: {base}/people.csv"))
            .await
            .expect_err("loopback");
        assert!(
            matches!(error, Error::PrivateAddress { .. }),
            "{kind}: {error}"
        );
        assert_eq!(error.fault(), Fault::Invalid);
        // A name that resolves to loopback is refused by the resolver, before connecting.
        let by_name = base.replace("127.0.0.1", "localhost");
        let error = run(&*runner, &format!("url: {by_name}/people.csv"))
            .await
            .expect_err("loopback");
        assert!(
            matches!(error, Error::PrivateAddress { .. }),
            "{kind}: {error}"
        );
    }
}

#[tokio::test]
async fn http_errors_and_redirects_are_not_results() {
    let base = serve().await;
    let runner = open("csv", json!({}), &private_allowed());
    let error = run(&*runner, &format!("url: {base}/error"))
        .await
        .expect_err("HTTP 500");
    assert!(
        matches!(error, Error::HttpStatus { status: 500, .. }),
        "{error}"
    );
    assert_eq!(error.fault(), Fault::Unavailable);
    let error = run(&*runner, &format!("url: {base}/redirect"))
        .await
        .expect_err("not followed");
    assert!(
        matches!(error, Error::HttpStatus { status: 302, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn bad_queries_are_invalid() {
    let runner = open("json", json!({}), &private_allowed());
    for query in [
        "",
        "just text",
        "method: get",
        "url: http://127.0.0.1:1/x\nmethod: delete",
        "url: [1",
    ] {
        let error = run(&*runner, query).await.expect_err("bad query");
        assert!(matches!(error, Error::BadQuery(_)), "{query:?}: {error}");
    }
    let port = crate::closed_port();
    let error = run(&*runner, &format!("url: http://127.0.0.1:{port}/x"))
        .await
        .expect_err("nothing listens");
    assert_eq!(error.fault(), Fault::Unavailable, "{error}");
}
