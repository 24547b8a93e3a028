//! A query typed into the API runs on a worker and its result comes back in Redash's shapes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use dashi_api::{ApiSettings, AppState};
use dashi_app::{App, AppSettings, SetupForm};
use dashi_queue::{Dispatcher, InProcessDispatcher};
use dashi_results::ResultsStore;
use dashi_store::{Store, StoreSettings};
use dashi_testkit::TestDb;
use dashi_worker::{Execution, Worker, WorkerSettings};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The API and one worker sharing an in-process dispatcher, as `dashi all` runs them.
struct Pipeline {
    router: axum::Router,
    store: Store,
    key: String,
    shutdown: CancellationToken,
    worker: tokio::task::JoinHandle<()>,
    _metadata: TestDb,
    _results: tempfile::TempDir,
}

impl Pipeline {
    async fn start(metadata: TestDb) -> Pipeline {
        let store = Store::connect(&StoreSettings { url: metadata.url.clone(), max_connections: 8 }).await.unwrap();
        store.migrate().await.unwrap();
        let folder = tempfile::tempdir().unwrap();
        let results = ResultsStore::local(folder.path()).unwrap();
        let dispatcher: Arc<dyn Dispatcher> = Arc::new(InProcessDispatcher::new(store.clone()));
        let settings = AppSettings::with_secrets("secret", "cookie");
        let app = App::new(store.clone(), settings)
            .with_catalog(dashi_runners::catalog())
            .with_dispatcher(dispatcher.clone())
            .with_results(results.clone());
        let admin = app
            .setup(&SetupForm { name: "A".into(), email: "a@example.com".into(), password: "password".into(), org_name: "Acme".into() })
            .await
            .unwrap();
        let mut execution = Execution::new(dispatcher, results, app.cipher().clone());
        execution.lease_ttl = Duration::from_secs(6);
        let worker_settings = WorkerSettings::new(dashi_core::Queue::ALL.to_vec(), 2, "test-host");
        let worker = Worker::new(store.clone(), worker_settings, execution);
        let shutdown = CancellationToken::new();
        let worker = tokio::spawn(worker.run(shutdown.clone()));
        let router = dashi_api::router(AppState::new(app, ApiSettings::default()));
        Pipeline { router, store, key: admin.api_key, shutdown, worker, _metadata: metadata, _results: folder }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value, String, header::HeaderMap) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Key {}", self.key))
            .body(body.map(|json| Body::from(json.to_string())).unwrap_or_else(Body::empty))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), text, headers)
    }

    /// Polls a job until it finishes, as Redash clients do.
    async fn wait(&self, job_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, body, _, _) = self.call(Method::GET, &format!("/api/jobs/{job_id}"), None).await;
            let status = body["job"]["status"].as_i64().unwrap();
            if status >= 3 || tokio::time::Instant::now() > deadline {
                return body["job"].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.worker.await.unwrap();
    }
}

/// A PostgreSQL data source pointing at a fresh database on the test server.
async fn postgres_source(pipeline: &Pipeline, warehouse: &TestDb) -> i64 {
    let url = url::Url::parse(&warehouse.url).unwrap();
    let options = json!({
        "host": url.host_str().unwrap(),
        "port": url.port().unwrap(),
        "user": url.username(),
        "dbname": url.path().trim_start_matches('/'),
    });
    let (status, body, text, _) =
        pipeline.call(Method::POST, "/api/data_sources", Some(json!({"name": "warehouse", "type": "pg", "options": options}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    body["id"].as_i64().unwrap()
}

dashi_testkit::backend_tests! {
    async fn adhoc_text_runs_on_a_worker_and_comes_back_in_redash_shapes(db: TestDb) {
        let pipeline = Pipeline::start(db).await;
        let warehouse = TestDb::postgres().await;
        let source = postgres_source(&pipeline, &warehouse).await;

        let (_, tested, _, _) = pipeline.call(Method::POST, &format!("/api/data_sources/{source}/test"), None).await;
        assert_eq!(tested, json!({"message": "success", "ok": true}));

        let sql = "SELECT n AS id, n * 1.5 AS score, 'row ' || n AS label, n % 2 = 0 AS even, \
                   TIMESTAMPTZ '2026-01-01 00:00:00+00' + n * INTERVAL '1 hour' AS at FROM generate_series(1, 3) AS n ORDER BY n";
        let body = json!({"query": sql, "data_source_id": source, "max_age": 0});
        let (status, started, text, _) = pipeline.call(Method::POST, "/api/query_results", Some(body.clone())).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let job = pipeline.wait(started["job"]["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], 3, "{job}");
        let result_id = job["query_result_id"].as_i64().unwrap();

        let (_, result, text, headers) = pipeline.call(Method::GET, &format!("/api/query_results/{result_id}"), None).await;
        assert_eq!(headers[header::CACHE_CONTROL], "private,max-age=31557600");
        let data = &result["query_result"]["data"];
        let types: Vec<_> = data["columns"].as_array().unwrap().iter().map(|c| (c["name"].clone(), c["type"].clone())).collect();
        assert_eq!(types, vec![
            (json!("id"), json!("integer")),
            (json!("score"), json!("float")),
            (json!("label"), json!("string")),
            (json!("even"), json!("boolean")),
            (json!("at"), json!("datetime")),
        ], "{text}");
        assert_eq!(data["rows"][1]["label"], "row 2");
        assert_eq!(data["rows"][1]["even"], true);
        assert_eq!(data["rows"].as_array().unwrap().len(), 3);
        assert_eq!(result["query_result"]["query"], sql);

        // The same text within max_age comes from the cache, without a job.
        let cached_body = json!({"query": sql, "data_source_id": source, "max_age": 3600});
        let (_, cached, _, _) = pipeline.call(Method::POST, "/api/query_results", Some(cached_body)).await;
        assert_eq!(cached["query_result"]["id"], result_id);

        let (_, _, csv, headers) = pipeline.call(Method::GET, &format!("/api/query_results/{result_id}.csv"), None).await;
        assert!(csv.starts_with("id,score,label,even,at"), "{csv}");
        assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains(".csv"));
        let (_, page, _, _) = pipeline.call(Method::GET, &format!("/api/query_results/{result_id}/page?offset=0&limit=2&sort=id&desc=true"), None).await;
        assert_eq!(page["rows"][0][0], 3);
        assert_eq!(page["row_count"], 3);

        // A database error fails the job with the database's message.
        let broken = json!({"query": "SELECT * FROM no_such_table", "data_source_id": source, "max_age": 0});
        let (_, started, _, _) = pipeline.call(Method::POST, "/api/query_results", Some(broken)).await;
        let job = pipeline.wait(started["job"]["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], 4);
        assert!(job["error"].as_str().unwrap().contains("no_such_table"), "{job}");

        // The schema comes back through a job whose result is the schema (Redash's client reads it).
        let (_, schema, _, _) = pipeline.call(Method::GET, &format!("/api/data_sources/{source}/schema"), None).await;
        let job = pipeline.wait(schema["job"]["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], 3, "{job}");
        assert!(job["result"].is_array());
        pipeline.stop().await;
    }

    async fn cancel_stops_the_query_in_the_database(db: TestDb) {
        let pipeline = Pipeline::start(db).await;
        let warehouse = TestDb::postgres().await;
        let source = postgres_source(&pipeline, &warehouse).await;
        let body = json!({"query": "SELECT pg_sleep(60)", "data_source_id": source, "max_age": 0});
        let (_, started, _, _) = pipeline.call(Method::POST, "/api/query_results", Some(body)).await;
        let job_id = started["job"]["id"].as_str().unwrap().to_owned();
        // Wait until it runs, then cancel.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body, _, _) = pipeline.call(Method::GET, &format!("/api/jobs/{job_id}"), None).await;
            if body["job"]["status"] == 2 || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let asked = tokio::time::Instant::now();
        pipeline.call(Method::DELETE, &format!("/api/jobs/{job_id}"), None).await;
        let job = pipeline.wait(&job_id).await;
        assert_eq!((job["status"].clone(), job["error"].clone()), (json!(4), json!("Query cancelled by user.")));
        assert!(asked.elapsed() < Duration::from_secs(15), "cancel took {:?}", asked.elapsed());
        // The sleep is gone from the database itself, not only from the worker.
        let (client, connection) = tokio_postgres::connect(&warehouse.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let running: i64 = client
                .query_one("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'", &[])
                .await
                .unwrap()
                .get(0);
            if running == 0 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the query still runs in PostgreSQL");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        pipeline.stop().await;
    }

    async fn saved_queries_run_with_parameters_and_serve_their_latest_result(db: TestDb) {
        let pipeline = Pipeline::start(db).await;
        let warehouse = TestDb::postgres().await;
        let source = postgres_source(&pipeline, &warehouse).await;
        let countries = json!({"name": "countries", "data_source_id": source, "query": "SELECT * FROM (VALUES ('DE', 'Germany'), ('FR', 'France')) AS t(value, name)"});
        let (_, dropdown_query, _, _) = pipeline.call(Method::POST, "/api/queries", Some(countries)).await;
        let dropdown_id = dropdown_query["id"].as_i64().unwrap();
        let (_, started, _, _) = pipeline.call(Method::POST, &format!("/api/queries/{dropdown_id}/results"), Some(json!({"max_age": 0}))).await;
        assert_eq!(pipeline.wait(started["job"]["id"].as_str().unwrap()).await["status"], 3);
        let (_, options, _, _) = pipeline.call(Method::GET, &format!("/api/queries/{dropdown_id}/dropdown"), None).await;
        assert_eq!(options, json!([{"name": "Germany", "value": "DE"}, {"name": "France", "value": "FR"}]));

        let parameters = json!([
            {"name": "n", "title": "N", "type": "number", "value": 2},
            {"name": "country", "title": "Country", "type": "query", "queryId": dropdown_id, "value": "DE"}
        ]);
        let body = json!({
            "name": "numbers",
            "data_source_id": source,
            "query": "SELECT n, '{{country}}' AS country FROM generate_series(1, {{n}}) AS n",
            "options": {"parameters": parameters},
        });
        let (status, query, text, _) = pipeline.call(Method::POST, "/api/queries", Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let id = query["id"].as_i64().unwrap();

        // No result yet: Redash's 404.
        let (status, missing, _, _) = pipeline.call(Method::GET, &format!("/api/queries/{id}/results"), None).await;
        assert_eq!((status, missing["message"].clone()), (StatusCode::NOT_FOUND, json!("No cached result found for this query.")));

        // Defaults run as they are; the result becomes the query's latest.
        let (_, started, _, _) = pipeline.call(Method::POST, &format!("/api/queries/{id}/results"), None).await;
        let job = pipeline.wait(started["job"]["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], 3, "{job}");
        let (_, latest, _, _) = pipeline.call(Method::GET, &format!("/api/queries/{id}/results"), None).await;
        assert_eq!(latest["query_result"]["data"]["rows"].as_array().unwrap().len(), 2);
        assert_eq!(latest["query_result"]["data"]["rows"][0]["country"], "DE");
        let (_, csv, _, headers) = pipeline.call(Method::GET, &format!("/api/queries/{id}/results.csv"), None).await;
        let _ = csv;
        assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("numbers_"));

        // Values outside the definitions are refused with Redash's message; nothing runs.
        let bad = json!({"parameters": {"n": "many", "country": "XX"}, "max_age": 0});
        let (status, refused, _, _) = pipeline.call(Method::POST, &format!("/api/queries/{id}/results"), Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refused["message"], "The following parameter values are incompatible with their definitions: n, country");

        // Given values run; a refresh takes p_ parameters and never uses the cache.
        let (_, started, _, _) = pipeline.call(Method::POST, &format!("/api/queries/{id}/refresh?p_n=3&p_country=FR"), None).await;
        let job = pipeline.wait(started["job"]["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], 3, "{job}");
        let result_id = job["query_result_id"].as_i64().unwrap();
        let (_, one, _, _) = pipeline.call(Method::GET, &format!("/api/queries/{id}/results/{result_id}.json"), None).await;
        assert_eq!(one["query_result"]["data"]["rows"].as_array().unwrap().len(), 3);
        assert_eq!(one["query_result"]["data"]["rows"][2]["country"], "FR");
        pipeline.stop().await;
    }

    async fn cleanup_deletes_unreferenced_results_and_their_files(db: TestDb) {
        let pipeline = Pipeline::start(db).await;
        let warehouse = TestDb::postgres().await;
        let source = postgres_source(&pipeline, &warehouse).await;
        // Large enough to be stored as a file rather than inline.
        let body = json!({"query": "SELECT md5(n::text) FROM generate_series(1, 20000) AS n", "data_source_id": source, "max_age": 0});
        let (_, started, _, _) = pipeline.call(Method::POST, "/api/query_results", Some(body)).await;
        let job = pipeline.wait(started["job"]["id"].as_str().unwrap()).await;
        let result_id = job["query_result_id"].as_i64().unwrap();
        let files = |dir: &std::path::Path| walk(dir);
        assert_eq!(files(pipeline._results.path()), 1, "the result is a file");

        let payload = dashi_core::CleanupResultsPayload { max_age_days: 0, batch: 100 };
        let cleanup = dashi_store::NewJob {
            org_id: None,
            queue: "maintenance".into(),
            kind: dashi_core::CLEANUP_RESULTS_JOB.into(),
            payload: serde_json::to_value(&payload).unwrap(),
            data_source_id: None,
            query_id: None,
            query_hash: None,
            dedupe_key: None,
            run_key: None,
            max_attempts: 1,
            run_after: chrono::Utc::now(),
        };
        let job = dashi_store::enqueue(&pipeline.store, &cleanup, chrono::Utc::now()).await.unwrap().job;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let current = dashi_store::job_by_id(&pipeline.store, &job.id).await.unwrap().unwrap();
            if current.state.is_finished() {
                assert_eq!(current.state, dashi_store::JobState::Succeeded, "{:?}", current.error);
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the cleanup never ran");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (status, _, _, _) = pipeline.call(Method::GET, &format!("/api/query_results/{result_id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(files(pipeline._results.path()), 0, "the file went with its row");
        pipeline.stop().await;
    }

    async fn query_results_run_sql_over_other_queries_results(db: TestDb) {
        let pipeline = Pipeline::start(db).await;
        let warehouse = TestDb::postgres().await;
        let source = postgres_source(&pipeline, &warehouse).await;
        let numbers = json!({"name": "numbers", "data_source_id": source, "query": "SELECT n, n % 3 AS bucket FROM generate_series(1, 30) AS n"});
        let (_, created, _, _) = pipeline.call(Method::POST, "/api/queries", Some(numbers)).await;
        let numbers_id = created["id"].as_i64().unwrap();
        let (_, started, _, _) = pipeline.call(Method::POST, &format!("/api/queries/{numbers_id}/results"), Some(json!({"max_age": 0}))).await;
        assert_eq!(pipeline.wait(started["job"]["id"].as_str().unwrap()).await["status"], 3);

        let (status, results_source, text, _) =
            pipeline.call(Method::POST, "/api/data_sources", Some(json!({"name": "results", "type": "results", "options": {}}))).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let results_id = results_source["id"].as_i64().unwrap();
        for table in [format!("cached_query_{numbers_id}"), format!("query_{numbers_id}")] {
            let sql = format!("SELECT bucket, count(*) AS c, sum(n) AS total FROM {table} GROUP BY bucket ORDER BY bucket");
            let (_, started, _, _) = pipeline.call(Method::POST, "/api/query_results", Some(json!({"query": sql, "data_source_id": results_id, "max_age": 0}))).await;
            let job = pipeline.wait(started["job"]["id"].as_str().unwrap()).await;
            assert_eq!(job["status"], 3, "{table}: {job}");
            let (_, result, _, _) = pipeline.call(Method::GET, &format!("/api/query_results/{}", job["query_result_id"]), None).await;
            let rows = &result["query_result"]["data"]["rows"];
            assert_eq!(rows[0], json!({"bucket": 0, "c": 10, "total": 165}), "{table}");
            assert_eq!(rows.as_array().unwrap().len(), 3);
        }
        let missing = json!({"query": "SELECT * FROM cached_query_999999", "data_source_id": results_id, "max_age": 0});
        let (_, started, _, _) = pipeline.call(Method::POST, "/api/query_results", Some(missing)).await;
        let job = pipeline.wait(started["job"]["id"].as_str().unwrap()).await;
        assert_eq!((job["status"].clone(), job["error"].clone()), (json!(4), json!("Query id 999999 not found.")));
        pipeline.stop().await;
    }
}

/// Counts the files under a folder.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| if entry.path().is_dir() { walk(&entry.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}
