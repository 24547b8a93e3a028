//! Delivery through Redis Streams, healing after FLUSHALL or without Redis, and redelivery of
//! entries a dead consumer read but never settled. Each test runs against PostgreSQL (the
//! distributed mode's ledger) and a Redis of its own.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dashi_queue::{Dispatcher, JobQueue, REDELIVER_AFTER, RedisDispatcher};
use dashi_store::{JobId, NewJob, Store, StoreSettings};
use dashi_testkit::{RedisServer, TestDb};
use tokio::time::{Instant, timeout};

const QUEUES: [&str; 1] = ["adhoc"];
/// Longer than any delay the dispatcher may add (a scan period, a redelivery delay).
const DEADLINE: Duration = Duration::from_secs(20);

struct Setup {
    store: Store,
    redis: RedisServer,
    _db: TestDb,
}

async fn setup() -> Setup {
    let db = TestDb::postgres().await;
    let store = Store::connect(&StoreSettings { url: db.url.clone(), max_connections: 4 }).await.unwrap();
    store.migrate().await.unwrap();
    let redis = RedisServer::start().await.unwrap();
    Setup { store, redis, _db: db }
}

fn dispatcher(setup: &Setup) -> Arc<RedisDispatcher> {
    Arc::new(RedisDispatcher::new(setup.store.clone(), &setup.redis.url(), "test-host").unwrap())
}

fn job() -> NewJob {
    NewJob {
        org_id: None,
        queue: "adhoc".into(),
        kind: "noop".into(),
        payload: serde_json::json!({}),
        data_source_id: None,
        query_id: None,
        query_hash: None,
        dedupe_key: None,
        run_key: None,
        max_attempts: 2,
        run_after: Utc::now() - chrono::Duration::seconds(1),
    }
}

async fn enqueue(store: &Store, via: &Arc<RedisDispatcher>) -> JobId {
    let queue = JobQueue::new(store.clone(), via.clone());
    queue.enqueue(&job()).await.unwrap().job.id
}

/// Marks a job running for a consumer that will never finish it, so ledger scans stop listing it
/// and only a stream entry can deliver it again.
async fn claim_for_nobody(store: &Store, id: &JobId) {
    let soon = Utc::now() + chrono::Duration::seconds(60);
    let claim = dashi_store::claim(store, id, "nobody", soon, Utc::now()).await.unwrap();
    assert!(matches!(claim, dashi_store::Claim::Claimed(_)), "{claim:?}");
}

/// Waits until `worker` offers `wanted`, settling every candidate; fails after the deadline.
async fn wait_for(worker: &RedisDispatcher, wanted: &JobId) -> Duration {
    let started = Instant::now();
    timeout(DEADLINE, async {
        loop {
            let candidates = worker.wait_for_work(&QUEUES, 4, Duration::from_secs(1)).await;
            for id in &candidates {
                worker.settle(id).await;
            }
            if candidates.contains(wanted) {
                return started.elapsed();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("job {wanted} was not offered within {DEADLINE:?}"))
}

/// Drains what a worker is offered right now (the first call also scans the ledger).
async fn drain(worker: &RedisDispatcher) {
    for _ in 0..2 {
        for id in worker.wait_for_work(&QUEUES, 16, Duration::from_millis(100)).await {
            worker.settle(&id).await;
        }
    }
}

#[tokio::test]
async fn a_job_published_in_one_process_reaches_a_worker_in_another_at_once() {
    let setup = setup().await;
    let server = dispatcher(&setup);
    let worker = dispatcher(&setup);
    assert_ne!(server.consumer(), worker.consumer(), "every process is its own consumer");
    drain(&worker).await;
    let id = enqueue(&setup.store, &server).await;
    // Hide the job from ledger scans: only the stream entry can deliver it now.
    claim_for_nobody(&setup.store, &id).await;
    let took = wait_for(&worker, &id).await;
    assert!(took < Duration::from_secs(1), "delivery took {took:?}");
}

#[tokio::test]
async fn after_flushall_every_queued_job_is_still_offered_and_new_ones_flow() {
    let setup = setup().await;
    let server = dispatcher(&setup);
    let worker = dispatcher(&setup);
    drain(&worker).await;
    // Accepted before the flush: its stream entry is lost with everything else.
    let before = enqueue(&setup.store, &server).await;
    setup.redis.flush_all().await.unwrap();
    // Accepted after it: XADD recreates the stream, but without the consumer group.
    let after = enqueue(&setup.store, &server).await;
    wait_for(&worker, &before).await;
    wait_for(&worker, &after).await;
    // The group is back: a new job comes through the stream again, not only through scans.
    let next = enqueue(&setup.store, &server).await;
    claim_for_nobody(&setup.store, &next).await;
    let took = wait_for(&worker, &next).await;
    assert!(took < Duration::from_secs(1), "delivery after the flush took {took:?}");
}

#[tokio::test]
async fn an_entry_read_by_a_consumer_that_died_is_redelivered() {
    let setup = setup().await;
    let server = dispatcher(&setup);
    let doomed = dispatcher(&setup);
    let survivor = dispatcher(&setup);
    drain(&doomed).await;
    drain(&survivor).await;
    let id = enqueue(&setup.store, &server).await;
    claim_for_nobody(&setup.store, &id).await;
    // The doomed consumer reads the entry, then dies before settling it.
    let read = timeout(DEADLINE, async {
        loop {
            let candidates = doomed.wait_for_work(&QUEUES, 1, Duration::from_secs(1)).await;
            if !candidates.is_empty() {
                return candidates;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(read, vec![id.clone()]);
    drop(doomed);
    let took = wait_for(&survivor, &id).await;
    assert!(took >= REDELIVER_AFTER - Duration::from_secs(1), "redelivered after {took:?}, before the entry was idle");
}

#[tokio::test]
async fn a_stopping_worker_hands_unsettled_entries_back_at_once() {
    let setup = setup().await;
    let server = dispatcher(&setup);
    let stopping = dispatcher(&setup);
    let other = dispatcher(&setup);
    drain(&stopping).await;
    drain(&other).await;
    let id = enqueue(&setup.store, &server).await;
    claim_for_nobody(&setup.store, &id).await;
    let read = timeout(DEADLINE, async {
        loop {
            let candidates = stopping.wait_for_work(&QUEUES, 1, Duration::from_secs(1)).await;
            if !candidates.is_empty() {
                return candidates;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(read, vec![id.clone()]);
    stopping.leave().await;
    let took = wait_for(&other, &id).await;
    assert!(took < REDELIVER_AFTER, "handed back after {took:?}: it waited for redelivery instead");
}

#[tokio::test]
async fn without_redis_workers_poll_the_ledger() {
    let mut setup = setup().await;
    let server = dispatcher(&setup);
    let worker = dispatcher(&setup);
    drain(&worker).await;
    setup.redis.kill();
    // Publishing fails (logged); the job is in the ledger all the same.
    let id = enqueue(&setup.store, &server).await;
    wait_for(&worker, &id).await;
}
