//! Roles benchmark: the idle resident memory of each role, and the scheduler's tick with 100,000
//! scheduled queries.
//!
//! `cargo run --release -p dashi-bench --bin roles` builds a release `dashi` (unless `--dashi`
//! names one), starts a PostgreSQL (testkit), then:
//!
//! - starts `dashi server`, `dashi worker`, `dashi scheduler` and `dashi all` one at a time on it,
//!   lets each idle for `--idle-secs` and reads its `VmRSS` from `/proc`;
//! - writes `--queries` scheduled queries (one a day each, none due) and reads the leader's
//!   `last_tick_ms` from the scheduler's `/health` over `--ticks` ticks: the steady tick;
//! - makes `--due` of them due at once and reads the tick that enqueues them: the busy tick.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use dashi_testkit::TestDb;
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

#[derive(Debug, Parser)]
#[command(name = "roles", about = "Idle memory of each role and the scheduler's tick time")]
struct Args {
    /// A `dashi` binary to measure; by default `cargo build --release -p dashi` makes one.
    #[arg(long)]
    dashi: Option<PathBuf>,
    /// Scheduled queries in the tick measurement.
    #[arg(long, default_value_t = 100_000)]
    queries: i64,
    /// Of those, how many fall due at once for the busy tick.
    #[arg(long, default_value_t = 1_000)]
    due: i64,
    /// Ticks sampled for the steady tick.
    #[arg(long, default_value_t = 10)]
    ticks: usize,
    /// Seconds each role idles before its memory is read.
    #[arg(long, default_value_t = 10)]
    idle_secs: u64,
}

const SECRET: &str = "bench-secret-key";
const DEADLINE: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dashi = match &args.dashi {
        Some(path) => path.clone(),
        None => build_dashi().await?,
    };
    let metadata = TestDb::postgres().await;
    let data_dir = tempfile::tempdir().context("creating a data folder")?;
    let status = role_command(&dashi, data_dir.path(), &metadata.url, &["migrate"]).status().await?;
    if !status.success() {
        bail!("dashi migrate failed");
    }
    let pool = PgPool::connect(&metadata.url).await.context("connecting to the metadata database")?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;

    writeln!(out, "idle resident memory (VmRSS after {} s idle, PostgreSQL metadata)", args.idle_secs)?;
    for role in ["server", "worker", "scheduler", "all"] {
        let mut child = role_command(&dashi, data_dir.path(), &metadata.url, &[role]).spawn().context("starting dashi")?;
        let pid = child.id().context("the child has a pid")?;
        sleep(Duration::from_secs(args.idle_secs)).await;
        let rss = rss_bytes(pid)?;
        writeln!(out, "  dashi {role:<10} {:>7.1} MiB", rss as f64 / (1024.0 * 1024.0))?;
        stop(&mut child).await?;
    }

    seed_queries(&pool, args.queries).await?;
    let mut command = role_command(&dashi, data_dir.path(), &metadata.url, &["scheduler"]);
    command.env("DASHI_HEALTH_BIND", "127.0.0.1:0").env("DASHI_SCHEDULER_LEASE_TTL", "3").stderr(Stdio::piped());
    let mut scheduler = command.spawn().context("starting dashi scheduler")?;
    let health = health_address(&mut scheduler).await?;
    let mut steady = Vec::new();
    let mut last = None;
    let deadline = Instant::now() + DEADLINE;
    while steady.len() < args.ticks {
        let report = get_json(&health, "/health").await?;
        let tick = report["last_tick_ms"].as_u64();
        if report["leader"] == true && tick.is_some() && tick != last {
            steady.push(tick.unwrap_or_default());
        }
        last = tick;
        if Instant::now() > deadline {
            bail!("the scheduler did not lead within {DEADLINE:?}");
        }
        sleep(Duration::from_millis(250)).await;
    }
    sqlx::query(
        "UPDATE queries SET schedule_due_at = now() - interval '1 second' WHERE id IN (SELECT id FROM queries ORDER BY id LIMIT $1)",
    )
    .bind(args.due)
    .execute(&pool)
    .await?;
    // A long tick is followed at once by a short one, so keep the longest tick seen until the
    // due set is empty and a few ticks after.
    let deadline = Instant::now() + DEADLINE;
    let mut busy = 0;
    let mut settled_at = None;
    loop {
        busy = busy.max(get_json(&health, "/health").await?["last_tick_ms"].as_u64().unwrap_or_default());
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM queries WHERE schedule_due_at <= now()").fetch_one(&pool).await?;
        if left == 0 {
            let since = *settled_at.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("{left} queries still due after {DEADLINE:?}");
        }
        sleep(Duration::from_millis(50)).await;
    }
    let (enqueued,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE run_key LIKE 'refresh:%'").fetch_one(&pool).await?;
    stop(&mut scheduler).await?;
    steady.sort_unstable();
    writeln!(out, "scheduler tick with {} scheduled queries (PostgreSQL)", args.queries)?;
    writeln!(
        out,
        "  none due: median {} ms, max {} ms over {} ticks",
        steady[steady.len() / 2],
        steady.last().copied().unwrap_or_default(),
        steady.len()
    )?;
    writeln!(out, "  {} due at once: {busy} ms for the tick that enqueued them ({enqueued} jobs)", args.due)?;
    Ok(())
}

async fn build_dashi() -> anyhow::Result<PathBuf> {
    let status = Command::new(env!("CARGO")).args(["build", "--release", "-p", "dashi"]).status().await?;
    if !status.success() {
        bail!("cargo build --release -p dashi failed");
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release").join("dashi"))
}

fn role_command(dashi: &PathBuf, data_dir: &std::path::Path, url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(dashi);
    command
        .env_clear()
        .env("DASHI_DATA_DIR", data_dir)
        .env("DASHI_DATABASE_URL", url)
        .env("DASHI_SECRET_KEY", SECRET)
        .env("DASHI_BIND", "127.0.0.1:0")
        .env("DASHI_LOG_FORMAT", "json")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// An organization, a user and a data source, then `n` queries scheduled once a day, none due.
async fn seed_queries(pool: &PgPool, n: i64) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO organizations (name, slug, settings, created_at, updated_at) VALUES ('Bench', 'default', '{}', now(), now())")
    .execute(pool)
    .await
    .context("seeding the organization")?;
    let org: i64 = sqlx::query_scalar("SELECT id FROM organizations").fetch_one(pool).await?;
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO users (org_id, name, email, password_hash, api_key, details, search_text, created_at, updated_at) \
         VALUES ($1, 'Bench', 'bench@example.com', NULL, repeat('k', 40), '{}', 'bench', now(), now()) RETURNING id",
    )
    .bind(org)
    .fetch_one(pool)
    .await
    .context("seeding the user")?;
    let source: i64 = sqlx::query_scalar(
        "INSERT INTO data_sources (org_id, name, type, encrypted_options, queue_name, scheduled_queue_name, paused, created_at, updated_at) \
         VALUES ($1, 'bench', 'pg', '', 'adhoc', 'scheduled', false, now(), now()) RETURNING id",
    )
    .bind(org)
    .fetch_one(pool)
    .await
    .context("seeding the data source")?;
    sqlx::query(
        "INSERT INTO queries (version, org_id, data_source_id, name, query, query_hash, api_key, user_id, is_archived, is_draft, \
         schedule, schedule_failures, options, search_text, created_at, updated_at, schedule_due_at) \
         SELECT 1, $1, $2, 'q' || i, 'select ' || i, md5('select ' || i), md5('key' || i) || substr(md5('k' || i), 1, 8), $3, \
         false, false, '{\"interval\": 86400}', 0, '{}', 'q' || i, now(), now(), now() + interval '1 day' \
         FROM generate_series(1, $4) AS i",
    )
    .bind(org)
    .bind(source)
    .bind(user)
    .bind(n)
    .execute(pool)
    .await
    .context("seeding the scheduled queries")?;
    sqlx::query("ANALYZE queries").execute(pool).await?;
    Ok(())
}

/// Reads the `addr` of the "health listening" log line.
async fn health_address(child: &mut Child) -> anyhow::Result<String> {
    let stderr = child.stderr.take().context("stderr is piped")?;
    let mut lines = BufReader::new(stderr).lines();
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await? {
            let Ok(event) = serde_json::from_str::<Value>(&line) else { continue };
            if event["fields"]["message"] == "health listening" {
                return Ok(event["fields"]["addr"].as_str().unwrap_or_default().to_owned());
            }
        }
        bail!("dashi scheduler exited before listening for health")
    })
    .await
    .context("no health listener within the deadline")??;
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(found)
}

async fn get_json(address: &str, path: &str) -> anyhow::Result<Value> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    Ok(serde_json::from_str(body).unwrap_or(Value::Null))
}

fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc status")?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).context("no VmRSS line")?;
    let kib: u64 = line.split_whitespace().nth(1).context("a VmRSS value")?.parse()?;
    Ok(kib * 1024)
}

async fn stop(child: &mut Child) -> anyhow::Result<()> {
    if let Some(pid) = child.id() {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(i32::try_from(pid)?), nix::sys::signal::Signal::SIGTERM)?;
    }
    tokio::time::timeout(Duration::from_secs(30), child.wait()).await.context("dashi did not stop")??;
    Ok(())
}
