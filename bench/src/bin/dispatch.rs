//! Dispatch benchmark: how fast a job goes from enqueue to a worker, and how many jobs two
//! workers get through, with the embedded in-process dispatcher and with Redis.
//!
//! `cargo run --release -p dashi-bench --bin dispatch` starts a PostgreSQL and a Redis (testkit)
//! and, for each setup, two real `dashi_worker::Worker`s (concurrency 4 each) and a
//! `JobQueue`:
//!
//! - in-process on SQLite: `dashi` with no settings (one process, the embedded ledger);
//! - in-process on PostgreSQL: the same dispatcher over the distributed ledger, for reference;
//! - Redis on PostgreSQL: the distributed mode, each worker with a dispatcher (consumer) of its
//!   own, as two `dashi worker` processes would have.
//!
//! Latency: `--latency-jobs` jobs enqueued one at a time, 10 ms apart (an idle fleet), each
//! measured from `created_at` to `started_at` in the ledger (the claim). Throughput:
//! `--burst-jobs` jobs enqueued at once; jobs per second from the first enqueue until the ledger
//! shows every one finished. The jobs have a kind the workers do not know, so their work is
//! empty: the worker records them failed at once and the numbers are dispatch, claim and record
//! alone, not any data source.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Parser;
use dashi_core::{OptionsCipher, Queue};
use dashi_queue::{Dispatcher, InProcessDispatcher, JobQueue, RedisDispatcher};
use dashi_results::ResultsStore;
use dashi_store::{NewJob, Store, StoreSettings};
use dashi_testkit::{RedisServer, TestDb};
use dashi_worker::{Execution, Worker, WorkerSettings};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(name = "dispatch", about = "Dispatch latency and throughput: in-process against Redis")]
struct Args {
    /// Jobs enqueued one at a time for the latency figures.
    #[arg(long, default_value_t = 300)]
    latency_jobs: usize,
    /// Jobs enqueued at once for the throughput figure.
    #[arg(long, default_value_t = 2000)]
    burst_jobs: usize,
}

/// Workers per setup, and jobs each runs at once.
const WORKERS: usize = 2;
const CONCURRENCY: usize = 4;
/// How long one measurement may take before the benchmark gives up.
const MEASURE_DEADLINE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
enum Mode {
    InProcess,
    Redis,
}

struct Figures {
    label: &'static str,
    p50: Duration,
    p99: Duration,
    jobs_per_second: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let redis = RedisServer::start().await.context("starting Redis")?;
    let setups: [(&str, Mode, TestDb); 3] = [
        ("in-process, SQLite ledger", Mode::InProcess, TestDb::sqlite().await),
        ("in-process, PostgreSQL ledger", Mode::InProcess, TestDb::postgres().await),
        ("Redis, PostgreSQL ledger", Mode::Redis, TestDb::postgres().await),
    ];
    let mut report = Vec::new();
    for (label, mode, db) in &setups {
        eprintln!("measuring {label}");
        report.push(measure(label, *mode, db, &redis, &args).await?);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "dispatch: {WORKERS} workers × concurrency {CONCURRENCY}; latency = enqueue → claimed (ledger times)"
    )?;
    writeln!(out, "{:<32} {:>10} {:>10} {:>12}", "setup", "p50", "p99", "jobs/s")?;
    for figures in &report {
        let p50 = format!("{:.1} ms", figures.p50.as_secs_f64() * 1000.0);
        let p99 = format!("{:.1} ms", figures.p99.as_secs_f64() * 1000.0);
        writeln!(out, "{:<32} {p50:>10} {p99:>10} {:>12.0}", figures.label, figures.jobs_per_second)?;
    }
    Ok(())
}

async fn measure(
    label: &'static str,
    mode: Mode,
    db: &TestDb,
    redis: &RedisServer,
    args: &Args,
) -> anyhow::Result<Figures> {
    let store = Store::connect(&StoreSettings { url: db.url.clone(), max_connections: 16 }).await?;
    store.migrate().await?;
    let results_dir = tempfile::tempdir()?;
    let results = ResultsStore::local(results_dir.path())?;
    let shared: Arc<dyn Dispatcher> = Arc::new(InProcessDispatcher::new(store.clone()));
    let new_dispatcher = |name: &str| -> anyhow::Result<Arc<dyn Dispatcher>> {
        Ok(match mode {
            Mode::InProcess => shared.clone(),
            Mode::Redis => Arc::new(RedisDispatcher::new(store.clone(), &redis.url(), name)?),
        })
    };
    let shutdown = CancellationToken::new();
    let mut workers = Vec::new();
    for n in 0..WORKERS {
        let execution =
            Execution::new(new_dispatcher(&format!("bench-worker-{n}"))?, results.clone(), OptionsCipher::new("bench"));
        let settings = WorkerSettings::new(vec![Queue::Adhoc], CONCURRENCY, format!("bench-{n}"));
        workers.push(tokio::spawn(Worker::new(store.clone(), settings, execution).run(shutdown.clone())));
    }
    let queue = JobQueue::new(store.clone(), new_dispatcher("bench-server")?);

    // Latency on an idle fleet.
    let mut ids = Vec::new();
    for _ in 0..args.latency_jobs {
        ids.push(queue.enqueue(&job()).await?.job.id);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut waits = Vec::new();
    for id in &ids {
        let job = wait_finished(&store, id).await?;
        let started = job.started_at.context("a finished job was started")?;
        waits.push((started - job.created_at).to_std().unwrap_or_default());
    }
    waits.sort();

    // Throughput on a burst.
    let began = Instant::now();
    let mut burst = Vec::new();
    for _ in 0..args.burst_jobs {
        burst.push(queue.enqueue(&job()).await?.job.id);
    }
    for id in &burst {
        wait_finished(&store, id).await?;
    }
    let elapsed = began.elapsed();

    shutdown.cancel();
    for worker in workers {
        worker.await?;
    }
    store.close().await;
    Ok(Figures {
        label,
        p50: percentile(&waits, 0.50),
        p99: percentile(&waits, 0.99),
        jobs_per_second: args.burst_jobs as f64 / elapsed.as_secs_f64(),
    })
}

/// A job with no work (a kind no worker knows): only dispatch, claim and record are measured.
fn job() -> NewJob {
    NewJob {
        org_id: None,
        queue: Queue::Adhoc.as_str().to_owned(),
        kind: "bench_noop".into(),
        payload: serde_json::json!({}),
        data_source_id: None,
        query_id: None,
        query_hash: None,
        dedupe_key: None,
        run_key: None,
        max_attempts: 1,
        run_after: Utc::now(),
    }
}

async fn wait_finished(store: &Store, id: &dashi_store::JobId) -> anyhow::Result<dashi_store::Job> {
    let deadline = Instant::now() + MEASURE_DEADLINE;
    loop {
        if let Some(job) = dashi_store::job_by_id(store, id).await?
            && job.state.is_finished()
        {
            return Ok(job);
        }
        if Instant::now() > deadline {
            bail!("job {id} did not finish within {MEASURE_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn percentile(sorted: &[Duration], quantile: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * quantile).round() as usize;
    sorted[index]
}
