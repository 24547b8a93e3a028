//! The distributed dispatcher: Redis Streams carry job ids from enqueuers to workers in any
//! process; the ledger stays the truth.
//!
//! One stream per queue (`dashi:q:<queue>`), one consumer group (`workers`) and one consumer per
//! process, named after the host, the pid and a random suffix: a restarted process never inherits
//! a dead one's pending entries under the dead one's name.
//!
//! - Enqueue: the job is committed to the ledger first, then `XADD` announces its id.
//! - Workers `XREADGROUP` their queues' streams in one blocking call, claim each id in the
//!   ledger (one claimant wins) and then `XACK` + `XDEL` the entry, whatever the claim said: a
//!   job parked at its data source's concurrency limit stays queued in the ledger, not in the
//!   stream, so a busy source never blocks the stream for the others.
//! - An entry read but never settled (its worker died between the read and the claim, or the
//!   ledger was away) is taken over with `XAUTOCLAIM` once idle for [`REDELIVER_AFTER`].
//! - Healing: every worker also scans the ledger for due jobs every [`SCAN_EVERY`] (skipping
//!   sources at their limit), so a lost message, a parked job whose source freed a slot, or a
//!   job put back by the reclaimer starts without any message. After FLUSHALL (or a new empty
//!   Redis) `XREADGROUP` answers `NOGROUP`: the groups are recreated from id 0 (an enqueuer's
//!   `XADD` may have recreated the stream already) and the ledger is scanned at once. With Redis
//!   unreachable, workers fall back to polling the ledger every wait, as the embedded mode does.
//! - Cancel: the worker running a job polls its ledger flag every second; a cancel asked in the
//!   same process also wakes it at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use dashi_store::{JobId, Store};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamInfoConsumersReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Client, RedisError};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::cancel::LocalCancels;

/// The consumer group every worker joins.
const GROUP: &str = "workers";
/// The entry field carrying a job id.
const JOB_FIELD: &str = "job";
/// The entry field of a wake-up without a job: "scan the ledger".
const SCAN_FIELD: &str = "scan";
/// Streams are trimmed to about this many entries; settled entries are deleted anyway, so only a
/// fleet with no workers at all comes near it (and the ledger keeps every job).
const MAX_STREAM_LEN: usize = 100_000;
/// How often a worker scans the ledger for due jobs no message announced.
const SCAN_EVERY: Duration = Duration::from_secs(2);
/// How long an entry may sit unsettled with its consumer before another worker takes it over. A
/// live worker settles an entry milliseconds after reading it.
pub const REDELIVER_AFTER: Duration = Duration::from_secs(5);
/// How long a consumer with nothing pending may stay silent before it counts as gone and is
/// removed from the group (a worker that died without leaving).
const FORGET_CONSUMER_AFTER: Duration = Duration::from_secs(3600);
/// Answers from Redis for anything but the blocking read.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Wake-ups through Redis Streams; the ledger holds the jobs.
pub struct RedisDispatcher {
    store: Store,
    client: Client,
    /// Shared, reconnecting connection for short commands (publish, settle).
    shared: ConnectionManager,
    consumer: String,
    reader: tokio::sync::Mutex<Reader>,
    /// Entries handed to the worker and not settled yet, by job id.
    unsettled: Mutex<HashMap<JobId, Vec<Entry>>>,
    cancels: LocalCancels,
}

/// One stream entry: where it lives.
#[derive(Debug, Clone)]
struct Entry {
    stream: String,
    id: String,
}

/// The worker side's state: its own connection for blocking reads (never the shared one: a
/// blocking command would stall every other caller on a multiplexed connection), candidates read
/// beyond what the worker asked for, and when to scan or redeliver next.
struct Reader {
    connection: Option<MultiplexedConnection>,
    backlog: VecDeque<JobId>,
    streams: HashSet<String>,
    next_scan: Instant,
    next_redelivery: Instant,
    redis_away: bool,
}

impl std::fmt::Debug for RedisDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDispatcher").field("consumer", &self.consumer).finish_non_exhaustive()
    }
}

/// Prefix of the queue streams' keys.
const STREAM_PREFIX: &str = "dashi:q:";

/// The stream of a queue.
fn stream_name(queue: &str) -> String {
    format!("{STREAM_PREFIX}{queue}")
}

impl RedisDispatcher {
    /// Prepares a dispatcher for `url` (`redis://`, `rediss://` for TLS, with `user:password@`
    /// as managed services need). Connects lazily: a Redis that is away at start-up delays
    /// jobs, it does not stop the process. `hostname` names this process's consumer.
    pub fn new(store: Store, url: &str, hostname: &str) -> Result<RedisDispatcher, RedisError> {
        if url.starts_with("rediss") {
            // The redis client builds its TLS config with rustls' process-wide provider; this
            // binary links two providers (ring and aws-lc-rs through other crates), so rustls
            // cannot pick one by itself. Another caller may have installed one already.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1);
        let shared = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let consumer = format!("{hostname}-{}-{}", std::process::id(), &suffix[..8]);
        let now = Instant::now();
        let reader = Reader {
            connection: None,
            backlog: VecDeque::new(),
            streams: HashSet::new(),
            next_scan: now,
            next_redelivery: now,
            redis_away: false,
        };
        Ok(RedisDispatcher {
            store,
            client,
            shared,
            consumer,
            reader: tokio::sync::Mutex::new(reader),
            unsettled: Mutex::new(HashMap::new()),
            cancels: LocalCancels::default(),
        })
    }

    /// This process's consumer name in the group.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    fn unsettled(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Vec<Entry>>> {
        self.unsettled.lock().expect("the unsettled map is never poisoned: nothing panics while holding it")
    }

    async fn add(&self, queue: &str, field: &str, value: &str) -> Result<(), RedisError> {
        let mut shared = self.shared.clone();
        redis::cmd("XADD")
            .arg(stream_name(queue))
            .arg("MAXLEN")
            .arg("~")
            .arg(MAX_STREAM_LEN)
            .arg("*")
            .arg(field)
            .arg(value)
            .query_async::<String>(&mut shared)
            .await
            .map(drop)
    }

    /// Acknowledges and deletes entries (settled, or handed back under a new entry).
    async fn remove(&self, entries: &[Entry]) {
        if entries.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for entry in entries {
            pipe.cmd("XACK").arg(&entry.stream).arg(GROUP).arg(&entry.id).ignore();
            pipe.cmd("XDEL").arg(&entry.stream).arg(&entry.id).ignore();
        }
        let mut shared = self.shared.clone();
        if let Err(error) = pipe.query_async::<()>(&mut shared).await {
            // The entries stay pending and are redelivered; the ledger claim makes that harmless.
            warn!(error = %error, "could not acknowledge stream entries");
        }
    }

    /// Due jobs from the ledger, skipping data sources at their limit.
    async fn scan(&self, queues: &[&str], max: usize) -> Vec<JobId> {
        match dashi_store::due_job_ids(&self.store, queues, Utc::now(), max as i64).await {
            Ok(ids) => ids,
            Err(error) => {
                warn!(error = &error as &dyn std::error::Error, "could not scan the job ledger");
                Vec::new()
            }
        }
    }

    /// Records what was read: job entries become candidates (registered as unsettled); wake-up
    /// entries are removed at once and ask for a scan. Returns (candidates, scan asked).
    async fn take_entries(&self, read: Vec<(String, StreamId)>) -> (Vec<JobId>, bool) {
        let mut candidates = Vec::new();
        let mut wake_ups = Vec::new();
        {
            let mut unsettled = self.unsettled();
            for (stream, item) in read {
                let entry = Entry { stream, id: item.id.clone() };
                match item.map.get(JOB_FIELD).and_then(|value| redis::from_redis_value_ref::<String>(value).ok()) {
                    Some(job) => {
                        let job = JobId(job);
                        let entries = unsettled.entry(job.clone()).or_default();
                        if entries.is_empty() {
                            candidates.push(job);
                        }
                        entries.push(entry);
                    }
                    None => wake_ups.push(entry),
                }
            }
        }
        let scan = !wake_ups.is_empty();
        self.remove(&wake_ups).await;
        (candidates, scan)
    }

    /// Creates the consumer group on each stream (and the stream), keeping existing groups.
    /// From id 0, not `$`: after a flush an enqueuer's XADD may have recreated the stream with
    /// entries no group has seen.
    async fn ensure_groups(
        connection: &mut MultiplexedConnection,
        streams: &HashSet<String>,
    ) -> Result<(), RedisError> {
        for stream in streams {
            let created = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async::<()>(connection)
                .await;
            match created {
                Ok(()) => {}
                Err(error) if error.code() == Some("BUSYGROUP") => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    async fn connect(&self, streams: &HashSet<String>) -> Result<MultiplexedConnection, RedisError> {
        // The blocking read waits up to a few seconds; its answer must be allowed longer.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT + MAX_BLOCK));
        let mut connection = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        Self::ensure_groups(&mut connection, streams).await?;
        Ok(connection)
    }

    /// Takes over entries other consumers read but never settled, and forgets consumers that are
    /// long gone with nothing pending.
    async fn redeliver(
        &self,
        connection: &mut MultiplexedConnection,
        streams: &HashSet<String>,
        max: usize,
    ) -> Result<Vec<(String, StreamId)>, RedisError> {
        let mut taken = Vec::new();
        for stream in streams {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(stream)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(REDELIVER_AFTER.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(max)
                .query_async(connection)
                .await?;
            if !reply.claimed.is_empty() {
                info!(stream = %stream, entries = reply.claimed.len(), "took over job messages a worker read but never settled");
            }
            taken.extend(reply.claimed.into_iter().map(|item| (stream.clone(), item)));
            let consumers: StreamInfoConsumersReply =
                redis::cmd("XINFO").arg("CONSUMERS").arg(stream).arg(GROUP).query_async(connection).await?;
            for gone in consumers.consumers.iter().filter(|consumer| {
                consumer.pending == 0
                    && consumer.idle as u128 > FORGET_CONSUMER_AFTER.as_millis()
                    && consumer.name != self.consumer
            }) {
                redis::cmd("XGROUP")
                    .arg("DELCONSUMER")
                    .arg(stream)
                    .arg(GROUP)
                    .arg(&gone.name)
                    .query_async::<i64>(connection)
                    .await?;
            }
        }
        Ok(taken)
    }

    /// Reads new entries of `streams`, blocking up to `timeout`.
    async fn read(
        &self,
        connection: &mut MultiplexedConnection,
        streams: &HashSet<String>,
        max: usize,
        timeout: Duration,
    ) -> Result<Vec<(String, StreamId)>, RedisError> {
        let mut command = redis::cmd("XREADGROUP");
        command
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(max)
            .arg("BLOCK")
            .arg(timeout.min(MAX_BLOCK).as_millis().max(1) as u64)
            .arg("STREAMS");
        // Sorted, so the queues are read in a stable order.
        let mut names: Vec<&String> = streams.iter().collect();
        names.sort();
        for name in &names {
            command.arg(*name);
        }
        for _ in &names {
            command.arg(">");
        }
        let reply: Option<StreamReadReply> = command.query_async(connection).await?;
        Ok(reply
            .map(|reply| {
                reply
                    .keys
                    .into_iter()
                    .flat_map(|key| key.ids.into_iter().map(move |id| (key.key.clone(), id)))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The longest a single blocking read waits.
const MAX_BLOCK: Duration = Duration::from_secs(5);

#[async_trait::async_trait]
impl super::Dispatcher for RedisDispatcher {
    async fn publish(&self, queue: &str, id: &JobId) {
        if let Err(error) = self.add(queue, JOB_FIELD, &id.0).await {
            warn!(error = %error, queue, job.id = %id, "could not announce a job on Redis; a worker will find it in the ledger");
        }
    }

    async fn wake(&self, queue: &str) {
        if let Err(error) = self.add(queue, SCAN_FIELD, "1").await {
            warn!(error = %error, queue, "could not send a wake-up on Redis; workers scan the ledger anyway");
        }
    }

    async fn wait_for_work(&self, queues: &[&str], max: usize, timeout: Duration) -> Vec<JobId> {
        let max = max.max(1);
        let mut reader = self.reader.lock().await;
        if !reader.backlog.is_empty() {
            let take = reader.backlog.len().min(max);
            return reader.backlog.drain(..take).collect();
        }
        let streams: HashSet<String> = queues.iter().map(|queue| stream_name(queue)).collect();
        if streams != reader.streams {
            reader.streams = streams;
            reader.connection = None;
        }
        if Instant::now() >= reader.next_scan {
            reader.next_scan = Instant::now() + SCAN_EVERY;
            let found = self.scan(queues, max).await;
            if !found.is_empty() {
                return found;
            }
        }
        let mut connection = match reader.connection.take() {
            Some(connection) => connection,
            None => match self.connect(&reader.streams).await {
                Ok(connection) => {
                    if reader.redis_away {
                        info!("Redis answers again; jobs are dispatched through it");
                        reader.redis_away = false;
                    }
                    connection
                }
                Err(error) => {
                    if !reader.redis_away {
                        warn!(error = %error, "Redis is unreachable; polling the job ledger until it answers");
                        reader.redis_away = true;
                    }
                    drop(reader);
                    tokio::time::sleep(timeout).await;
                    return self.scan(queues, max).await;
                }
            },
        };
        let streams = reader.streams.clone();
        let mut read = Vec::new();
        let mut outcome = Ok(());
        if Instant::now() >= reader.next_redelivery {
            reader.next_redelivery = Instant::now() + REDELIVER_AFTER;
            match self.redeliver(&mut connection, &streams, max).await {
                Ok(taken) => read = taken,
                Err(error) => outcome = Err(error),
            }
        }
        if outcome.is_ok() && read.is_empty() {
            match self.read(&mut connection, &streams, max, timeout).await {
                Ok(entries) => read = entries,
                Err(error) => outcome = Err(error),
            }
        }
        match outcome {
            Ok(()) => reader.connection = Some(connection),
            Err(error) if error.code().is_some() => {
                // NOGROUP (the stream or its group is gone: FLUSHALL, a new empty Redis) or the
                // read was unblocked because its stream was deleted. Recreate the groups and
                // trust the ledger for whatever Redis forgot.
                warn!(error = %error, "Redis lost the job streams; recreating them and scanning the job ledger");
                match Self::ensure_groups(&mut connection, &streams).await {
                    Ok(()) => reader.connection = Some(connection),
                    Err(error) => warn!(error = %error, "could not recreate the job streams"),
                }
                reader.next_scan = Instant::now() + SCAN_EVERY;
                return self.scan(queues, max).await;
            }
            Err(error) => {
                // The connection broke; reconnect on the next wait, and do not spin meanwhile.
                warn!(error = %error, "lost the Redis connection; reconnecting");
                drop(reader);
                tokio::time::sleep(timeout.min(Duration::from_secs(1))).await;
                return self.scan(queues, max).await;
            }
        }
        let (mut candidates, scan_asked) = self.take_entries(read).await;
        if candidates.len() > max {
            reader.backlog.extend(candidates.split_off(max));
        }
        if scan_asked && candidates.len() < max {
            reader.next_scan = Instant::now() + SCAN_EVERY;
            let found = self.scan(queues, max - candidates.len()).await;
            candidates.extend(found.into_iter().filter(|id| !candidates.contains(id)).collect::<Vec<_>>());
        }
        candidates
    }

    async fn settle(&self, id: &JobId) {
        let entries = self.unsettled().remove(id).unwrap_or_default();
        self.remove(&entries).await;
    }

    async fn leave(&self) {
        let mut reader = self.reader.lock().await;
        reader.backlog.clear();
        let unsettled: Vec<(JobId, Vec<Entry>)> = self.unsettled().drain().collect();
        // Announce each job again under a fresh entry so another worker sees it now, not after
        // the redelivery delay, then drop the old entries.
        for (job, entries) in unsettled {
            if let Some(entry) = entries.first() {
                let queue = entry.stream.trim_start_matches(STREAM_PREFIX).to_owned();
                if let Err(error) = self.add(&queue, JOB_FIELD, &job.0).await {
                    warn!(error = %error, job.id = %job, "could not hand a job message back; it stays pending for redelivery");
                    continue;
                }
            }
            self.remove(&entries).await;
        }
        let mut shared = self.shared.clone();
        for stream in &reader.streams {
            let removed = redis::cmd("XGROUP")
                .arg("DELCONSUMER")
                .arg(stream)
                .arg(GROUP)
                .arg(&self.consumer)
                .query_async::<i64>(&mut shared)
                .await;
            if let Err(error) = removed {
                warn!(error = %error, stream = %stream, "could not leave the consumer group");
            }
        }
        reader.connection = None;
    }

    async fn signal_cancel(&self, id: &JobId) {
        self.cancels.signal(id);
    }

    async fn cancel_signalled(&self, id: &JobId) {
        self.cancels.wait(id).await;
    }
}
