//! Fault drills of the distributed mode: real `dashi server` and `dashi worker` processes on a
//! PostgreSQL metadata database and a Redis, with queries on PostgreSQL data sources, killed,
//! stopped and starved as production would. Every wait polls the ledger with a deadline.

use std::time::Duration;

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::process::Command;
use tokio::time::{Instant, sleep};

use dashi_testkit::{RedisServer, TestDb};

use crate::support::{Running, dashi, exchange, finish, post_form};

const SECRET: &str = "drill-secret-key";

/// A fleet on one machine: metadata on PostgreSQL, dispatch on Redis, one server, and workers
/// started by each drill. Queries run on another PostgreSQL database of the same server.
struct Fleet {
    data_dir: tempfile::TempDir,
    metadata: TestDb,
    warehouse: TestDb,
    redis: RedisServer,
    ledger: PgPool,
    address: String,
    key: String,
    _server: Running,
}

/// What a drill reads of a job from the ledger.
#[derive(Debug, Clone, sqlx::FromRow)]
struct LedgerJob {
    state: String,
    attempts: i64,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
}

impl Fleet {
    async fn start() -> Fleet {
        Fleet::start_on(RedisServer::start().await.expect("start Redis")).await
    }

    async fn start_on(redis: RedisServer) -> Fleet {
        let metadata = TestDb::postgres().await;
        let warehouse = TestDb::postgres().await;
        let data_dir = tempfile::tempdir().expect("temp dir");
        let ledger = PgPool::connect(&metadata.url).await.expect("connect to the metadata database");
        let (status, _, stderr) = finish(fleet_command(data_dir.path(), &metadata, &redis, &["migrate"])).await;
        assert!(status.success(), "dashi migrate failed: {stderr}");
        let mut server = Running::start(fleet_command(data_dir.path(), &metadata, &redis, &["server"]));
        let address = server.address_from_log("server listening").await;
        let form = "name=Ada&email=ada%40example.com&password=correct-horse&org_name=Acme";
        assert_eq!(post_form(&address, "/setup", form).await.0, 303, "setup creates the organization");
        let key = sqlx::query_scalar("SELECT api_key FROM users WHERE email = 'ada@example.com'")
            .fetch_one(&ledger)
            .await
            .expect("the admin's API key");
        Fleet { data_dir, metadata, warehouse, redis, ledger, address, key, _server: server }
    }

    /// Starts `dashi worker` on the adhoc queue (by its Redash name) and waits until it takes jobs.
    async fn worker(&self, concurrency: usize, env: &[(&str, &str)]) -> Running {
        let mut command = fleet_command(
            self.data_dir.path(),
            &self.metadata,
            &self.redis,
            &["worker", "--queues", "queries", "--concurrency", &concurrency.to_string()],
        );
        command.envs(env.iter().copied());
        let mut worker = Running::start(command);
        worker.wait_for_log("worker started").await;
        worker
    }

    async fn api(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Key {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.address,
            self.key,
            body.len()
        );
        let (status, body) = exchange(&self.address, request).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// A PostgreSQL data source on the warehouse database, with an optional concurrency limit.
    async fn data_source(&self, name: &str, limit: Option<i64>) -> i64 {
        let (user, host, port, dbname) = parts(&self.warehouse.url);
        let body = json!({
            "name": name,
            "type": "pg",
            "options": {"host": host, "port": port, "user": user, "dbname": dbname},
            "concurrency_limit": limit,
        });
        let (status, created) = self.api("POST", "/api/data_sources", &body).await;
        assert_eq!(status, 200, "{created}");
        created["id"].as_i64().expect("a data source id")
    }

    /// Runs `sql` on a data source through the API (never from the cache) and returns the job id.
    async fn run(&self, data_source: i64, sql: &str) -> String {
        let body = json!({"query": sql, "data_source_id": data_source, "max_age": 0});
        let (status, answer) = self.api("POST", "/api/query_results", &body).await;
        assert_eq!(status, 200, "{answer}");
        answer["job"]["id"].as_str().unwrap_or_else(|| panic!("a job: {answer}")).to_owned()
    }

    async fn job(&self, id: &str) -> LedgerJob {
        sqlx::query_as("SELECT state, attempts, created_at, started_at FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.ledger)
            .await
            .expect("the job is in the ledger")
    }

    /// Polls the ledger until `accept` likes the job, failing after `within`.
    async fn wait_job(&self, id: &str, within: Duration, accept: impl Fn(&LedgerJob) -> bool) -> LedgerJob {
        let deadline = Instant::now() + within;
        loop {
            let job = self.job(id).await;
            if accept(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} did not get there within {within:?}; it is {job:?}");
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until every one of `ids` is finished, failing after `within`.
    async fn wait_all_finished(&self, ids: &[String], within: Duration) -> Vec<LedgerJob> {
        let deadline = Instant::now() + within;
        let mut jobs = Vec::new();
        for id in ids {
            let left = deadline.saturating_duration_since(Instant::now());
            jobs.push(self.wait_job(id, left, is_finished).await);
        }
        jobs
    }
}

/// `dashi <args>` on a fleet's database and Redis (over TLS when the Redis has a TLS port, with
/// its CA trusted as an operator would trust a private one).
fn fleet_command(data_dir: &std::path::Path, metadata: &TestDb, redis: &RedisServer, args: &[&str]) -> Command {
    let mut command = dashi(data_dir);
    command.env("DASHI_DATABASE_URL", &metadata.url).env("DASHI_SECRET_KEY", SECRET).args(args);
    match redis.tls_url() {
        Some(url) => command.env("DASHI_REDIS_URL", url).env("SSL_CERT_FILE", redis.ca_file()),
        None => command.env("DASHI_REDIS_URL", redis.url()),
    };
    command
}

fn is_finished(job: &LedgerJob) -> bool {
    matches!(job.state.as_str(), "succeeded" | "failed" | "cancelled")
}

/// User, host, port and database of a `postgres://user[:password]@host:port/db` URL.
fn parts(url: &str) -> (String, String, u16, String) {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (credentials, rest) = rest.split_once('@').expect("a user in the URL");
    let user = credentials.split(':').next().unwrap_or(credentials).to_owned();
    let (address, dbname) = rest.split_once('/').expect("a database in the URL");
    let (host, port) = address.split_once(':').unwrap_or((address, "5432"));
    (user, host.to_owned(), port.parse().expect("a port"), dbname.split('?').next().unwrap_or(dbname).to_owned())
}

fn sigkill(process: &Running) {
    kill(Pid::from_raw(i32::try_from(process.pid()).expect("pid")), Signal::SIGKILL).expect("send SIGKILL");
}

/// (a) A worker killed mid-query: the job is retried by another worker well within 30 s, and
/// running the same query again is never blocked by the dead worker's claim.
#[tokio::test]
async fn a_killed_workers_query_is_retried_and_a_rerun_is_not_blocked() {
    let fleet = Fleet::start().await;
    let source = fleet.data_source("warehouse", None).await;
    let doomed = fleet.worker(2, &[]).await;
    let sql = "SELECT pg_sleep(3), 'drill a' AS label";
    let id = fleet.run(source, sql).await;
    fleet.wait_job(&id, Duration::from_secs(10), |job| job.state == "running").await;
    sigkill(&doomed);
    let killed_at = Instant::now();
    drop(doomed);

    // A re-run while the dead claim still holds attaches to the same job instead of waiting.
    let again = fleet.run(source, sql).await;
    assert_eq!(again, id, "the same query attaches to the job in flight");
    let _rescuer = fleet.worker(2, &[]).await;
    // The retry (the second attempt) starts well within 30 s of the kill.
    fleet.wait_job(&id, Duration::from_secs(30), |job| job.attempts == 2).await;
    let took = killed_at.elapsed();
    assert!(took < Duration::from_secs(30), "the retry started {took:?} after the kill");
    let retried = fleet.wait_job(&id, Duration::from_secs(15), is_finished).await;
    assert_eq!(retried.state, "succeeded", "{retried:?}");
    assert_eq!(retried.attempts, 2, "the kill used one attempt, the retry the other");

    // And once it is done, running it again makes a new job that runs at once.
    let rerun = fleet.run(source, sql).await;
    assert_ne!(rerun, id);
    let done = fleet.wait_job(&rerun, Duration::from_secs(15), is_finished).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
}

/// (b) FLUSHALL while jobs pour in: every accepted job still completes.
#[tokio::test]
async fn flushall_under_load_loses_no_accepted_job() {
    let fleet = Fleet::start().await;
    let source = fleet.data_source("warehouse", None).await;
    let mut first = fleet.worker(4, &[]).await;
    let _second = fleet.worker(4, &[]).await;
    let mut ids = Vec::new();
    for n in 0..40 {
        if n == 20 {
            fleet.redis.flush_all().await.expect("FLUSHALL");
        }
        ids.push(fleet.run(source, &format!("SELECT pg_sleep(0.2), {n} AS n")).await);
    }
    let jobs = fleet.wait_all_finished(&ids, Duration::from_secs(60)).await;
    let failed: Vec<&LedgerJob> = jobs.iter().filter(|job| job.state != "succeeded").collect();
    assert!(failed.is_empty(), "jobs that did not succeed: {failed:?}");
    // They came through because the worker noticed and healed, not only through ledger scans.
    first.wait_for_log("Redis lost the job streams; recreating them and scanning the job ledger").await;
}

/// (c) SIGTERM while jobs run: short jobs finish within the grace period, long ones are handed
/// back and finished by another worker without using up an attempt; none is lost.
#[tokio::test]
async fn sigterm_finishes_or_hands_back_every_running_job() {
    let fleet = Fleet::start().await;
    let source = fleet.data_source("warehouse", None).await;
    let stopping = fleet.worker(4, &[("DASHI_WORKER_SHUTDOWN_GRACE", "2")]).await;
    let short: Vec<String> =
        run_all(&fleet, source, &["SELECT pg_sleep(0.5), 'short 1'", "SELECT pg_sleep(0.5), 'short 2'"]).await;
    let long: Vec<String> =
        run_all(&fleet, source, &["SELECT pg_sleep(6), 'long 1'", "SELECT pg_sleep(6), 'long 2'"]).await;
    for id in short.iter().chain(&long) {
        fleet.wait_job(id, Duration::from_secs(10), |job| job.state == "running").await;
    }
    let exit = stopping.terminate().await;
    assert!(exit.success(), "the worker exits 0 after a graceful stop: {exit}");
    for id in &short {
        let job = fleet.job(id).await;
        assert_eq!(job.state, "succeeded", "a short job finished within the grace period: {job:?}");
    }
    for id in &long {
        let job = fleet.job(id).await;
        assert_eq!((job.state.as_str(), job.attempts), ("queued", 0), "a long job was handed back: {job:?}");
    }
    let _next = fleet.worker(4, &[]).await;
    for job in fleet.wait_all_finished(&long, Duration::from_secs(30)).await {
        assert_eq!((job.state.as_str(), job.attempts), ("succeeded", 1), "{job:?}");
    }
}

/// Starts several runs and returns their job ids in order.
async fn run_all(fleet: &Fleet, source: i64, sqls: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for sql in sqls {
        ids.push(fleet.run(source, sql).await);
    }
    ids
}

/// (d) One data source saturated by 50 long queries: a query on another source starts within
/// a second, because the busy source's jobs wait in the ledger, not in front of the stream.
#[tokio::test]
async fn a_busy_data_source_does_not_hold_up_another() {
    let fleet = Fleet::start().await;
    let busy = fleet.data_source("busy", Some(2)).await;
    let quiet = fleet.data_source("quiet", None).await;
    let worker = fleet.worker(4, &[]).await;
    let mut slow = Vec::new();
    for n in 0..50 {
        slow.push(fleet.run(busy, &format!("SELECT pg_sleep(30), {n} AS n")).await);
    }
    for id in &slow[..2] {
        fleet.wait_job(id, Duration::from_secs(10), |job| job.state == "running").await;
    }
    let posted = Instant::now();
    let id = fleet.run(quiet, "SELECT 'quiet' AS label").await;
    let started = fleet.wait_job(&id, Duration::from_secs(10), |job| job.started_at.is_some()).await;
    let waited = posted.elapsed();
    let in_ledger = started.started_at.expect("started") - started.created_at;
    assert!(waited < Duration::from_secs(1), "the quiet source's query started {waited:?} after it was posted");
    assert!(in_ledger < chrono::Duration::seconds(1), "the ledger says it waited {in_ledger}");
    let running: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE data_source_id = $1 AND state = 'running'")
        .bind(busy)
        .fetch_one(&fleet.ledger)
        .await
        .expect("count");
    assert_eq!(running, 2, "the busy source stays at its limit");
    let done = fleet.wait_job(&id, Duration::from_secs(10), is_finished).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    // Stop the sleepers: cancel every job of the busy source, then the worker.
    for id in &slow {
        let (status, _) = fleet.api("DELETE", &format!("/api/jobs/{id}"), &json!({})).await;
        assert!(status < 300, "cancel {id}: {status}");
    }
    assert!(worker.terminate().await.success());
}

/// Managed Redis: `rediss://` with a password. The server and the worker reach Redis only over
/// TLS, and a query goes through it.
#[tokio::test]
async fn a_tls_redis_with_a_password_carries_the_jobs() {
    let redis = RedisServer::start_tls("s3cret-pass").await.expect("start Redis with TLS");
    let fleet = Fleet::start_on(redis).await;
    let source = fleet.data_source("warehouse", None).await;
    let _worker = fleet.worker(2, &[]).await;
    let id = fleet.run(source, "SELECT 'over tls' AS label").await;
    let done = fleet.wait_job(&id, Duration::from_secs(15), is_finished).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    // The worker made its consumer group (and with it the stream) over TLS.
    assert!(fleet.redis.exists("dashi:q:adhoc").await.expect("ask Redis"), "the queue's stream exists");
}
