//! Fault drills of the scheduler: real `dashi scheduler`, `worker` and `server` processes on a
//! real PostgreSQL. (a) Three schedulers whose leader is SIGKILLed over and over: every due refresh
//! runs exactly once, counted in the ledger. (b) PostgreSQL restarted under a running fleet: clear
//! 503s while it is down, full recovery after, no process exits.
//!
//! `DASHI_DRILL_SCHEDULER_SECONDS` sets how long drill (a) kills leaders (default 120).

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::process::Command;
use tokio::time::{Instant, sleep, sleep_until};

use dashi_testkit::{PgServer, TestDb};

use crate::support::{Running, dashi, exchange, finish, get, post_form};

const SECRET: &str = "drill-secret-key";
/// Seconds between scheduled runs of each drill query.
const INTERVAL_SECS: i64 = 10;
/// The scheduler lease: a killed leader is replaced within about this long.
const LEASE_TTL: &str = "3";
/// How often the drill kills the leader.
const KILL_EVERY: Duration = Duration::from_secs(15);
const QUERIES: usize = 12;

/// `dashi <args>` on the metadata database at `url`.
fn command(data_dir: &std::path::Path, url: &str, args: &[&str]) -> Command {
    let mut command = dashi(data_dir);
    command
        .env("DASHI_DATABASE_URL", url)
        .env("DASHI_SECRET_KEY", SECRET)
        .env("DASHI_SCHEDULER_LEASE_TTL", LEASE_TTL)
        .args(args);
    command
}

/// Sets up the organization through a `dashi server` on `url` and returns the server, its
/// address and the admin's API key.
async fn server(data_dir: &std::path::Path, url: &str) -> (Running, String, String) {
    let (status, _, stderr) = finish(command(data_dir, url, &["migrate"])).await;
    assert!(status.success(), "dashi migrate failed: {stderr}");
    let mut server = Running::start(command(data_dir, url, &["server"]));
    let address = server.address_from_log("server listening").await;
    let form = "name=Ada&email=ada%40example.com&password=correct-horse&org_name=Acme";
    assert_eq!(post_form(&address, "/setup", form).await.0, 303, "setup creates the organization");
    let pool = PgPool::connect(url).await.expect("connect to the metadata database");
    let key = sqlx::query_scalar("SELECT api_key FROM users WHERE email = 'ada@example.com'")
        .fetch_one(&pool)
        .await
        .expect("the admin's API key");
    pool.close().await;
    (server, address, key)
}

async fn api(address: &str, key: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Key {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, body) = exchange(address, request).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
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

async fn scheduler(data_dir: &std::path::Path, url: &str) -> Running {
    let mut scheduler = Running::start(command(data_dir, url, &["scheduler"]));
    scheduler.wait_for_log("scheduler started").await;
    scheduler
}

/// The pid of the process holding a live scheduler lease, if any.
async fn leader_pid(ledger: &PgPool) -> Option<u32> {
    let pid: Option<i64> = sqlx::query_scalar(
        "SELECT p.pid FROM leases l JOIN processes p ON p.id = l.holder \
         WHERE l.name = 'scheduler' AND l.expires_at > now()",
    )
    .fetch_optional(ledger)
    .await
    .expect("read the lease");
    pid.and_then(|pid| u32::try_from(pid).ok())
}

/// (a) Three schedulers, the leader killed every 15 s for the drill's duration, queries due every
/// 10 s: each query's scheduled runs sit exactly one interval apart (none doubled, none lost
/// across a failover), and each ran once.
#[tokio::test]
async fn killing_the_leading_scheduler_runs_every_due_refresh_exactly_once() {
    let seconds = std::env::var("DASHI_DRILL_SCHEDULER_SECONDS").ok().and_then(|text| text.parse().ok()).unwrap_or(120_u64);
    let metadata = TestDb::postgres().await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (_server, address, key) = server(data_dir.path(), &metadata.url).await;
    let ledger = PgPool::connect(&metadata.url).await.expect("connect to the metadata database");
    let (user, host, port, dbname) = parts(&metadata.url);
    let body = json!({"name": "warehouse", "type": "pg", "options": {"host": host, "port": port, "user": user, "dbname": dbname}});
    let (status, source) = api(&address, &key, "POST", "/api/data_sources", &body).await;
    assert_eq!(status, 200, "{source}");
    let source = source["id"].as_i64().expect("a data source id");
    let mut worker = Running::start(command(data_dir.path(), &metadata.url, &["worker", "--queues", "scheduled", "--concurrency", "4"]));
    worker.wait_for_log("worker started").await;

    let mut schedulers = Vec::new();
    for _ in 0..3 {
        schedulers.push(scheduler(data_dir.path(), &metadata.url).await);
    }
    for index in 0..QUERIES {
        let body = json!({
            "name": format!("drill {index}"),
            "query": format!("SELECT {index} AS n"),
            "data_source_id": source,
            "schedule": {"interval": INTERVAL_SECS},
        });
        let (status, created) = api(&address, &key, "POST", "/api/queries", &body).await;
        assert_eq!(status, 200, "{created}");
    }

    let started = Instant::now();
    let stop_at = started + Duration::from_secs(seconds);
    let mut kills = 0;
    let mut next_kill = started + KILL_EVERY;
    while next_kill < stop_at {
        // The drill's cadence, not a wait for a condition: kill whoever leads at this moment.
        sleep_until(next_kill).await;
        next_kill += KILL_EVERY;
        let Some(pid) = leader_pid(&ledger).await else { continue };
        let Some(position) = schedulers.iter().position(|scheduler| scheduler.pid() == pid) else { continue };
        let doomed = schedulers.remove(position);
        sigkill(&doomed);
        drop(doomed);
        kills += 1;
        schedulers.push(scheduler(data_dir.path(), &metadata.url).await);
    }
    sleep_until(stop_at).await;
    let ended: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&ledger).await.expect("now");
    assert!(kills >= (seconds / KILL_EVERY.as_secs()).saturating_sub(1), "only {kills} leaders were killed");

    // Every run due before the end is enqueued and finished within a minute.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (behind, active): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM queries WHERE schedule_due_at <= $1), \
             (SELECT COUNT(*) FROM jobs WHERE run_key LIKE 'refresh:%' AND state IN ('queued', 'running') AND created_at <= $1)",
        )
        .bind(ended)
        .fetch_one(&ledger)
        .await
        .expect("read the schedules");
        if behind == 0 && active == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{behind} schedules and {active} jobs still behind a minute after the drill");
        sleep(Duration::from_millis(200)).await;
    }

    let jobs: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT query_id, run_key, state, attempts FROM jobs WHERE run_key LIKE 'refresh:%' AND created_at <= $1 ORDER BY query_id, run_key",
    )
    .bind(ended)
    .fetch_all(&ledger)
    .await
    .expect("read the ledger");
    let mut total = 0;
    let mut query_ids: Vec<i64> = jobs.iter().map(|(query, ..)| *query).collect();
    query_ids.dedup();
    assert_eq!(query_ids.len(), QUERIES, "every query ran");
    for query in query_ids {
        let mut due: Vec<i64> = Vec::new();
        for (_, run_key, state, attempts) in jobs.iter().filter(|(id, ..)| *id == query) {
            assert_eq!((state.as_str(), *attempts), ("succeeded", 1), "{run_key} ran once and succeeded");
            let millis = run_key.rsplit(':').next().and_then(|text| text.parse().ok()).expect("a due instant in the run key");
            due.push(millis);
        }
        due.sort_unstable();
        for pair in due.windows(2) {
            assert_eq!(pair[1] - pair[0], INTERVAL_SECS * 1000, "query {query}: runs {pair:?} are not one interval apart");
        }
        let expected = i64::try_from(seconds).expect("seconds") / INTERVAL_SECS;
        assert!(due.len() as i64 >= expected - 1, "query {query}: {} runs in {seconds} s", due.len());
        total += due.len();
    }
    eprintln!("scheduler drill: {seconds} s, {kills} leaders killed, {total} scheduled runs, each exactly once");
    for scheduler in schedulers {
        assert!(scheduler.terminate().await.success());
    }
    assert!(worker.terminate().await.success());
}

/// (b) PostgreSQL stopped under a server and a scheduler: both answer 503 while it is down and
/// recover when it is back, without exiting (the same processes answer before and after).
#[tokio::test]
async fn a_postgresql_restart_gives_clear_503s_then_full_recovery() {
    let mut postgres = PgServer::start().await.expect("start a private PostgreSQL");
    let url = postgres.admin_url();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (server, address, key) = server(data_dir.path(), &url).await;
    let mut scheduler_command = command(data_dir.path(), &url, &["scheduler"]);
    scheduler_command.env("DASHI_HEALTH_BIND", "127.0.0.1:0");
    let mut scheduler = Running::start(scheduler_command);
    let health = scheduler.address_from_log("health listening").await;
    let leads = |status: u16, body: &str| status == 200 && serde_json::from_str::<Value>(body).is_ok_and(|body| body["leader"] == true);
    poll(&health, "/health", &leads).await;
    let pids = (server.pid(), scheduler.pid());

    postgres.stop().await.expect("stop PostgreSQL");
    poll(&health, "/health", &|status, _| status == 503).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = api(&address, &key, "GET", "/api/queries", &Value::Null).await;
        if status == 503 {
            assert!(body["message"].is_string(), "a 503 says why: {body}");
            break;
        }
        assert!(Instant::now() < deadline, "the server answered {status} {body} while PostgreSQL was down");
        sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(get(&address, "/ping").await.0, 200, "the server itself is up");

    postgres.restart().await.expect("restart PostgreSQL");
    poll(&health, "/health", &leads).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = api(&address, &key, "GET", "/api/queries", &Value::Null).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the server still answers {status} after PostgreSQL came back");
        sleep(Duration::from_millis(200)).await;
    }
    assert_eq!((server.pid(), scheduler.pid()), pids, "no process was restarted");
    assert!(scheduler.terminate().await.success());
    assert!(server.terminate().await.success());
}

/// Polls `GET path` on `address` until `accept` likes the answer, for up to 60 s.
async fn poll(address: &str, path: &str, accept: &dyn Fn(u16, &str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = get(address, path).await;
        if accept(status, &body) {
            return;
        }
        assert!(Instant::now() < deadline, "GET {path} still answers {status} {body}");
        sleep(Duration::from_millis(200)).await;
    }
}
