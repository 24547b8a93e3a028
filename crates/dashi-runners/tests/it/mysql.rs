//! MySQL runner against a real MariaDB server from `dashi-testkit` (Debian `mariadb-server`):
//! type mapping, several statements, bound parameters. Cancel, timeout, schema and errors are
//! in `conformance`.

use chrono::NaiveDate;
use dashi_core::Cell;
use dashi_runners::{BoundParam, RunRequest, Runner, RunnerContext};
use dashi_testkit::MariaDbServer;
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::{open, run, run_request};

/// One server per test process; each test gets its own database on it.
static SERVER: OnceCell<MariaDbServer> = OnceCell::const_new();

pub async fn server() -> &'static MariaDbServer {
    match SERVER.get_or_try_init(MariaDbServer::start).await {
        Ok(server) => server,
        Err(error) => panic!("cannot start MariaDB: {error:#}"),
    }
}

/// A fresh database, and `mysql` options pointing at it.
pub async fn database() -> Value {
    let server = server().await;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = admin().await;
    admin
        .query_drop(format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let _ = admin.disconnect().await;
    json!({
        "host": "127.0.0.1",
        "port": server.port(),
        "user": server.user(),
        "passwd": server.password(),
        "db": name,
        "ssl_mode": "disabled",
    })
}

/// A connection with every privilege, for set-up and for watching the server.
pub async fn admin() -> mysql_async::Conn {
    let url = server().await.url();
    let opts = mysql_async::Opts::from_url(&url).expect("server URL");
    mysql_async::Conn::new(opts)
        .await
        .expect("connect to MariaDB")
}

pub async fn runner() -> (Box<dyn Runner>, Value) {
    let options = database().await;
    (
        open("mysql", options.clone(), &RunnerContext::default()),
        options,
    )
}

#[tokio::test]
async fn values_map_to_redash_types() {
    let (runner, _) = runner().await;
    run(
        &*runner,
        "CREATE TABLE t (i INT, b BIGINT UNSIGNED, f DOUBLE, d DECIMAL(10,2), s VARCHAR(10), \
         dt DATETIME(3), da DATE, flag BIT(1), j JSON, bin VARBINARY(4), big DECIMAL(65,0));
         INSERT INTO t VALUES (-1, 18446744073709551615, 1.5, 12.34, 'héllo', \
         '2024-02-29 10:11:12.500', '2024-02-29', b'1', '{\"a\": 1}', x'ff00', \
         99999999999999999999999999999999999999999999999999999999999999999);
         SELECT * FROM t",
    )
    .await
    .expect("query runs");
    let result = run(&*runner, "SELECT * FROM t").await.expect("query runs");
    assert_eq!(
        result.types(),
        [
            "integer", "integer", "float", "float", "string", "datetime", "date", "boolean",
            "string", "string", "float"
        ]
    );
    let date = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
    assert_eq!(
        result.rows,
        [vec![
            Cell::Int(-1),
            Cell::Text("18446744073709551615".into()),
            Cell::Float(1.5),
            Cell::Float(12.34),
            Cell::Text("héllo".into()),
            Cell::NaiveDateTime(date.and_hms_milli_opt(10, 11, 12, 500).expect("time")),
            Cell::Date(date),
            Cell::Bool(true),
            // MariaDB's JSON is an alias of LONGTEXT, so it arrives as text (MySQL's as JSON).
            Cell::Text("{\"a\": 1}".into()),
            Cell::Text("ff00".into()),
            Cell::Float(1e65),
        ]]
    );
}

#[tokio::test]
async fn typed_parameters_are_bound() {
    let (runner, _) = runner().await;
    let request = RunRequest {
        sql: "SELECT ? + 1 AS n, CONCAT(?, '!') AS t, ? AS missing".to_owned(),
        params: vec![
            BoundParam::Int(41),
            BoundParam::Text("hi".to_owned()),
            BoundParam::Null,
        ],
        ..RunRequest::default()
    };
    let result = run_request(&*runner, &request).await.expect("query runs");
    assert_eq!(result.rows[0][0], Cell::Int(42));
    assert_eq!(result.rows[0][1], Cell::Text("hi!".into()));
    assert_eq!(result.rows[0][2], Cell::Null);
}

#[tokio::test]
async fn auto_limit_applies_to_mysql_text() {
    let (runner, _) = runner().await;
    let request = RunRequest {
        sql: "SELECT seq FROM seq_1_to_5000".to_owned(),
        row_limit: Some(1000),
        ..RunRequest::default()
    };
    assert_eq!(
        run_request(&*runner, &request)
            .await
            .expect("runs")
            .rows
            .len(),
        1000
    );
}
