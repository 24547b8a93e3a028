//! Alerts end to end: a saved query runs on a worker, its alert is evaluated on the new result,
//! and the notification reaches a real webhook (or SMTP) listener on 127.0.0.1 — exactly once
//! per state change, retried with backoff while the listener fails.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use dashi_api::{ApiSettings, AppState};
use dashi_app::{App, AppSettings, SetupForm};
use dashi_queue::{Dispatcher, InProcessDispatcher};
use dashi_results::ResultsStore;
use dashi_store::{AlertId, Store, StoreSettings};
use dashi_testkit::{HttpSink, SmtpSink, TestDb};
use dashi_worker::{Endpoints, Execution, MailSettings, Notifications, Outbound, Worker, WorkerSettings};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const WAIT: Duration = Duration::from_secs(30);
/// Backoff of the first retry in these tests (then doubling).
const FIRST_RETRY: Duration = Duration::from_millis(300);

/// The API and one worker sharing an in-process dispatcher, a SQLite warehouse file the test
/// changes between runs, and the listeners notifications go to.
struct Harness {
    router: axum::Router,
    store: Store,
    key: String,
    hooks: HttpSink,
    smtp: SmtpSink,
    warehouse: std::path::PathBuf,
    source: i64,
    shutdown: CancellationToken,
    worker: tokio::task::JoinHandle<()>,
    _metadata: TestDb,
    _folder: tempfile::TempDir,
}

impl Harness {
    /// `statuses`: what the webhook listener answers first (then 200).
    async fn start(metadata: TestDb, statuses: Vec<u16>) -> Harness {
        let store = Store::connect(&StoreSettings { url: metadata.url.clone(), max_connections: 8 }).await.unwrap();
        store.migrate().await.unwrap();
        let folder = tempfile::tempdir().unwrap();
        let results = ResultsStore::local(folder.path().join("results")).unwrap();
        let dispatcher: Arc<dyn Dispatcher> = Arc::new(InProcessDispatcher::new(store.clone()));
        let app = App::new(store.clone(), AppSettings::with_secrets("secret", "cookie"))
            .with_catalog(dashi_runners::catalog())
            .with_dispatcher(dispatcher.clone())
            .with_results(results.clone());
        let admin = app
            .setup(&SetupForm {
                name: "Ada".into(),
                email: "ada@example.com".into(),
                password: "password".into(),
                org_name: "Acme".into(),
            })
            .await
            .unwrap();
        let hooks = HttpSink::with_statuses(statuses).await;
        let smtp = SmtpSink::start().await;
        let mail = MailSettings {
            server: "127.0.0.1".into(),
            port: smtp.port,
            use_tls: false,
            use_ssl: false,
            username: None,
            password: None,
            sender: "dashi@example.com".into(),
        };
        let mut execution = Execution::new(dispatcher, results, app.cipher().clone());
        execution.lease_ttl = Duration::from_secs(6);
        execution.notifications = Notifications {
            outbound: Outbound::new(Some(mail), Endpoints::default()).unwrap(),
            base_url: "https://bi.example.com".into(),
            max_attempts: 4,
            first_retry: FIRST_RETRY,
        };
        let worker =
            Worker::new(store.clone(), WorkerSettings::new(dashi_core::Queue::ALL.to_vec(), 2, "test-host"), execution);
        let shutdown = CancellationToken::new();
        let worker = tokio::spawn(worker.run(shutdown.clone()));
        let router = dashi_api::router(AppState::new(app, ApiSettings::default()));
        let warehouse = folder.path().join("warehouse.db");
        let mut harness = Harness {
            router,
            store,
            key: admin.api_key,
            hooks,
            smtp,
            warehouse,
            source: 0,
            shutdown,
            worker,
            _metadata: metadata,
            _folder: folder,
        };
        harness.set_value(5);
        let options = json!({"dbpath": harness.warehouse.to_string_lossy()});
        let (status, body) = harness
            .call(Method::POST, "/api/data_sources", Some(json!({"name": "w", "type": "sqlite", "options": options})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        harness.source = body["id"].as_i64().unwrap();
        harness
    }

    /// Makes the warehouse's one row hold `value`.
    fn set_value(&self, value: i64) {
        let connection = rusqlite::Connection::open(&self.warehouse).unwrap();
        connection
            .execute_batch(&format!(
                "DROP TABLE IF EXISTS t; CREATE TABLE t (n INTEGER); INSERT INTO t VALUES ({value});"
            ))
            .unwrap();
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Key {}", self.key))
            .body(body.map(|json| Body::from(json.to_string())).unwrap_or_else(Body::empty))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn query(&self, text: &str) -> i64 {
        let body = json!({"name": "Orders", "query": text, "data_source_id": self.source});
        let (status, query) = self.call(Method::POST, "/api/queries", Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        query["id"].as_i64().unwrap()
    }

    /// An alert on `query` whose notifications go to the webhook listener at `/<path>`.
    async fn alert(&self, query: i64, path: &str, options: Value, rearm: Option<i64>) -> i64 {
        let destination =
            json!({"name": path, "type": "webhook", "options": {"url": format!("{}/{path}", self.hooks.url)}});
        let (status, destination) = self.call(Method::POST, "/api/destinations", Some(destination)).await;
        assert_eq!(status, StatusCode::OK, "{destination}");
        let body = json!({"name": format!("alert {path}"), "query_id": query, "options": options, "rearm": rearm});
        let (status, alert) = self.call(Method::POST, "/api/alerts", Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{alert}");
        let alert_id = alert["id"].as_i64().unwrap();
        let subscription = json!({"destination_id": destination["id"]});
        let (status, body) =
            self.call(Method::POST, &format!("/api/alerts/{alert_id}/subscriptions"), Some(subscription)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        alert_id
    }

    /// Runs the saved query and waits for its job; returns the job.
    async fn run(&self, query: i64) -> Value {
        let (status, started) =
            self.call(Method::POST, &format!("/api/queries/{query}/results"), Some(json!({"max_age": 0}))).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let job_id = started["job"]["id"].as_str().unwrap().to_owned();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (_, body) = self.call(Method::GET, &format!("/api/jobs/{job_id}"), None).await;
            if body["job"]["status"].as_i64().unwrap() >= 3 || tokio::time::Instant::now() > deadline {
                return body["job"].clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every check and delivery so far (retries included) has ended.
    async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while dashi_store::notification_jobs_in_flight(&self.store).await.unwrap() > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn alert_state(&self, alert: i64) -> String {
        let (_, body) = self.call(Method::GET, &format!("/api/alerts/{alert}"), None).await;
        body["state"].as_str().unwrap().to_owned()
    }

    /// The requests the webhook listener got at `/<path>`.
    fn hooks_at(&self, path: &str) -> Vec<Value> {
        let target = format!("/{path}");
        self.hooks
            .received()
            .iter()
            .filter(|request| request.target == target)
            .map(|request| serde_json::from_slice(&request.body).unwrap())
            .collect()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.worker.await.unwrap();
    }
}

dashi_testkit::backend_tests! {
    async fn a_run_that_crosses_the_threshold_notifies_the_webhook_once(db: TestDb) {
        let harness = Harness::start(db, Vec::new()).await;
        let query = harness.query("SELECT n FROM t").await;
        let alert = harness.alert(query, "hook", json!({"column": "n", "op": ">", "value": 10, "custom_subject": "n is {{QUERY_RESULT_VALUE}} {{ALERT_CONDITION}} 10"}), None).await;

        // 5 > 10 is false: unknown → ok, which Redash does not announce.
        assert_eq!(harness.run(query).await["status"], 3);
        harness.settle().await;
        assert_eq!(harness.alert_state(alert).await, "ok");
        assert!(harness.hooks_at("hook").is_empty());

        harness.set_value(42);
        let job = harness.run(query).await;
        assert_eq!(job["status"], 3, "{job}");
        let received = harness.hooks.wait_for(1, WAIT).await;
        assert_eq!(received.len(), 1);
        let body: Value = serde_json::from_slice(&received[0].body).unwrap();
        assert_eq!(body["event"], "alert_state_change");
        assert_eq!(body["url_base"], "https://bi.example.com");
        assert_eq!(body["alert"]["id"], alert);
        assert_eq!(body["alert"]["state"], "triggered");
        assert_eq!(body["alert"]["query_id"], query);
        // The custom subject is rendered with Redash's variables and HTML-escaped.
        assert_eq!(body["alert"]["title"], "n is 42 &gt; 10");
        assert_eq!(body["metadata"]["query_result_id"], job["query_result_id"]);
        assert_eq!(harness.alert_state(alert).await, "triggered");

        // Same state on the next run: nothing more. Back under the threshold: one "ok".
        harness.run(query).await;
        harness.settle().await;
        assert_eq!(harness.hooks_at("hook").len(), 1);
        harness.set_value(1);
        harness.run(query).await;
        harness.hooks.wait_for(2, WAIT).await;
        harness.settle().await;
        let bodies = harness.hooks_at("hook");
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[1]["alert"]["state"], "ok");

        // Evaluating the same result again (a duplicate check) writes no second notification.
        let result_id = harness.run(query).await["query_result_id"].as_i64().unwrap();
        let duplicate = dashi_store::NewJob {
            org_id: Some(dashi_core::OrgId(1)),
            queue: "notifications".into(),
            kind: dashi_core::CHECK_ALERTS_JOB.into(),
            payload: serde_json::to_value(dashi_core::CheckAlertsPayload::Result { query_result_id: result_id }).unwrap(),
            data_source_id: None,
            query_id: None,
            query_hash: None,
            dedupe_key: None,
            run_key: Some(format!("duplicate:{result_id}")),
            max_attempts: 1,
            run_after: chrono::Utc::now(),
        };
        dashi_store::enqueue(&harness.store, &duplicate, chrono::Utc::now()).await.unwrap();
        harness.settle().await;
        assert_eq!(harness.hooks_at("hook").len(), 2);
        let outbox = dashi_store::outbox_of_alert(&harness.store, AlertId(alert)).await.unwrap();
        assert_eq!(outbox.len(), 2);
        assert!(outbox.iter().all(|row| row.sent_at.is_some() && row.attempts == 1));
        harness.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_listener_is_retried_with_backoff_until_it_answers() {
    let harness = Harness::start(TestDb::sqlite().await, vec![503, 500]).await;
    let query = harness.query("SELECT n FROM t").await;
    let alert = harness.alert(query, "flaky", json!({"column": "n", "op": ">=", "value": 5}), None).await;
    harness.run(query).await;
    let received = harness.hooks.wait_for(3, WAIT).await;
    assert_eq!(received.len(), 3, "two failures, then the delivery");
    harness.settle().await;
    let outbox = dashi_store::outbox_of_alert(&harness.store, AlertId(alert)).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!((outbox[0].attempts, outbox[0].sent_at.is_some(), outbox[0].next_attempt_at), (3, true, None));
    assert_eq!(harness.hooks.received().len(), 3, "nothing after the delivery");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_wait_longer_each_time_and_a_refusal_is_final() {
    let harness = Harness::start(TestDb::sqlite().await, vec![503, 503, 400]).await;
    let query = harness.query("SELECT n FROM t").await;
    let alert = harness.alert(query, "refusing", json!({"column": "n", "op": "==", "value": 5}), None).await;
    let started = std::time::Instant::now();
    harness.run(query).await;
    harness.hooks.wait_for(3, WAIT).await;
    // Two retries waited FIRST_RETRY and then twice that.
    assert!(started.elapsed() >= FIRST_RETRY * 3, "{:?}", started.elapsed());
    harness.settle().await;
    let outbox = dashi_store::outbox_of_alert(&harness.store, AlertId(alert)).await.unwrap();
    assert_eq!((outbox[0].attempts, outbox[0].sent_at, outbox[0].next_attempt_at), (3, None, None));
    assert!(outbox[0].error.as_deref().unwrap_or_default().contains("400"), "{:?}", outbox[0].error);
    assert_eq!(harness.hooks.received().len(), 3);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_runs_muted_alerts_unknown_values_row_counts_and_mail() {
    let harness = Harness::start(TestDb::sqlite().await, Vec::new()).await;
    let broken = harness.query("SELECT n FROM no_such_table").await;
    let failed = harness.alert(broken, "failed", json!({"selector": "query_failed"}), None).await;
    let query = harness.query("SELECT n FROM t").await;
    let muted = harness.alert(query, "muted", json!({"column": "n", "op": ">", "value": 1}), None).await;
    let (status, _) = harness.call(Method::POST, &format!("/api/alerts/{muted}/mute"), None).await;
    assert_eq!(status, StatusCode::OK);
    let unknown = harness.alert(query, "unknown", json!({"column": "missing", "op": ">", "value": 1}), None).await;
    let count = harness.alert(query, "count", json!({"selector": "row_count", "op": "==", "value": 1}), None).await;
    // An e-mail subscription of the admin on the row-count alert.
    let (status, body) = harness.call(Method::POST, &format!("/api/alerts/{count}/subscriptions"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(harness.run(broken).await["status"], 4);
    harness.run(query).await;
    harness.hooks.wait_for(2, WAIT).await;
    harness.smtp.wait_for(1, WAIT).await;
    harness.settle().await;

    let failure = harness.hooks_at("failed");
    assert_eq!(failure.len(), 1);
    assert_eq!(failure[0]["alert"]["state"], "triggered");
    assert!(failure[0]["metadata"]["error"].as_str().unwrap().contains("no_such_table"), "{}", failure[0]);
    assert_eq!(harness.alert_state(failed).await, "triggered");

    // Muted: the state moves, nothing is sent.
    assert_eq!(harness.alert_state(muted).await, "triggered");
    assert!(harness.hooks_at("muted").is_empty());
    // A missing column is unknown, which is where it started: nothing to say.
    assert_eq!(harness.alert_state(unknown).await, "unknown");
    assert!(harness.hooks_at("unknown").is_empty());

    assert_eq!(harness.hooks_at("count")[0]["alert"]["state"], "triggered");
    let mail = harness.smtp.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, vec!["ada@example.com"]);
    assert!(mail[0].data.contains("Subject: Alert: alert count changed status to TRIGGERED"), "{}", mail[0].data);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_still_triggered_alert_notifies_again_only_after_its_rearm() {
    let harness = Harness::start(TestDb::sqlite().await, Vec::new()).await;
    let query = harness.query("SELECT n FROM t").await;
    harness.alert(query, "rearmed", json!({"column": "n", "op": ">", "value": 1}), Some(1)).await;
    harness.alert(query, "once", json!({"column": "n", "op": ">", "value": 1}), None).await;
    harness.run(query).await;
    harness.hooks.wait_for(2, WAIT).await;
    // Keep running the query until the rearm period has passed and it notifies again.
    let deadline = tokio::time::Instant::now() + WAIT;
    while harness.hooks_at("rearmed").len() < 2 && tokio::time::Instant::now() < deadline {
        harness.run(query).await;
        harness.settle().await;
    }
    assert_eq!(harness.hooks_at("rearmed").len(), 2);
    assert_eq!(harness.hooks_at("once").len(), 1, "without a rearm, a still-triggered alert stays quiet");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_evaluation_notifies_every_subscription_whatever_the_state() {
    let harness = Harness::start(TestDb::sqlite().await, Vec::new()).await;
    let query = harness.query("SELECT n FROM t").await;
    let alert = harness.alert(query, "manual", json!({"column": "n", "op": "<", "value": 1}), None).await;
    harness.run(query).await;
    harness.settle().await;
    assert!(harness.hooks_at("manual").is_empty(), "ok from unknown is not announced");
    let (status, body) = harness.call(Method::POST, &format!("/api/alerts/{alert}/eval"), None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    harness.hooks.wait_for(1, WAIT).await;
    assert_eq!(harness.hooks_at("manual")[0]["alert"]["state"], "ok");
    harness.stop().await;
}
