//! One-shot commands: `migrate`, `status`, `settings`, `create-user` and `reset-password`.
//!
//! They print their result on stdout (logs go to stderr) and exit non-zero on failure. The
//! account commands call the same `dashi-app` use cases as the HTTP API.

use std::io::{BufRead, Write};

use anyhow::Context;
use chrono::{DateTime, Utc};
use dashi_app::App;
use dashi_config::{SPECS, Settings};
use dashi_store::{Backlog, Backlogs, Lease, Process, Store};
use rand::Rng;
use serde_json::{Value, json};

use crate::cli::{CreateUser, ResetPassword};
use crate::wiring::{self, Migrations};

/// A process whose heartbeat is older than this is shown as silent (heartbeats come every 5 s).
const SILENT_AFTER_SECS: i64 = 30;

/// `dashi migrate`: applies pending migrations, waiting for any other migrating process.
pub(crate) async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = wiring::open_store(settings, Migrations::Apply).await?;
    store.close().await;
    writeln!(std::io::stdout(), "metadata database {} is up to date", settings.database_url())?;
    Ok(())
}

/// `dashi settings`: every setting with its names, default, current value and origin.
pub(crate) fn print_settings(settings: &Settings, markdown: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if markdown {
        out.write_all(dashi_config::markdown_table().as_bytes())?;
        return Ok(());
    }
    for spec in SPECS {
        let current = match (spec.key, settings.shown_value(spec.key)) {
            ("database_url", _) => settings.database_url().to_string(),
            ("worker_concurrency", _) => settings.worker_concurrency().to_string(),
            (_, Some(value)) if !value.is_empty() => value,
            _ => "(none)".to_owned(),
        };
        let origin = settings.origin(spec.key).map(ToString::to_string).unwrap_or_default();
        writeln!(out, "{} = {current}  [{origin}]", spec.env[0])?;
        writeln!(out, "    {}", spec.meaning())?;
        let default = if spec.shown_default.is_empty() { "(none)" } else { spec.shown_default };
        write!(out, "    default: {default}")?;
        if spec.env.len() > 1 {
            write!(out, "; aliases: {}", spec.env[1..].join(", "))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `dashi status`: processes, the scheduler leader, queue backlogs and database reachability. Exits non-zero
/// when the database cannot be read.
pub(crate) async fn status(settings: &Settings, as_json: bool) -> anyhow::Result<()> {
    let url = settings.database_url();
    let now = Utc::now();
    let observed = observe(settings).await;
    let mut out = std::io::stdout().lock();
    if as_json {
        let report = match &observed {
            Ok((processes, lease, backlogs)) => json!({
                "database": {"url": url.to_string(), "reachable": true, "error": null},
                "scheduler_lease": lease.as_ref().map(|lease| lease_json(lease, now)),
                "processes": processes.iter().map(|process| process_json(process, now)).collect::<Vec<_>>(),
                "queues": backlogs.queues.iter().map(|(queue, backlog)| (queue.clone(), backlog_json(backlog, now)))
                    .collect::<serde_json::Map<_, _>>(),
            }),
            Err(error) => json!({
                "database": {"url": url.to_string(), "reachable": false, "error": format!("{error:#}")},
                "scheduler_lease": null,
                "processes": [],
                "queues": {},
            }),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        match &observed {
            Ok((processes, lease, backlogs)) => {
                writeln!(out, "database   {url}: reachable")?;
                match lease {
                    Some(lease) if lease.is_live(now) => writeln!(
                        out,
                        "scheduler  led by {} (fence {}, lease expires in {} s)",
                        lease.holder,
                        lease.fence,
                        (lease.expires_at - now).num_seconds()
                    )?,
                    Some(lease) => writeln!(out, "scheduler  no leader (last: {}, fence {})", lease.holder, lease.fence)?,
                    None => writeln!(out, "scheduler  no leader yet")?,
                }
                writeln!(out, "processes  {}", processes.len())?;
                for process in processes {
                    let age = seconds_since(process.heartbeat_at, now);
                    let silent = if age > SILENT_AFTER_SECS { " (silent)" } else { "" };
                    let queues =
                        if process.queues.is_empty() { String::new() } else { format!(" queues {}", process.queues.join(",")) };
                    writeln!(
                        out,
                        "  {:<9}  {}  pid {} on {}{queues}  heartbeat {age} s ago{silent}",
                        process.role, process.id, process.pid, process.hostname
                    )?;
                }
                writeln!(out, "queues     {}", if backlogs.queues.is_empty() { "empty" } else { "" })?;
                for (queue, backlog) in &backlogs.queues {
                    let oldest = backlog
                        .oldest_queued_at
                        .map_or_else(String::new, |at| format!(", oldest waiting {} s", seconds_since(at, now)));
                    writeln!(out, "  {queue:<13}  {} queued, {} running{oldest}", backlog.queued, backlog.running)?;
                }
            }
            Err(error) => writeln!(out, "database   {url}: unreachable ({error:#})")?,
        }
    }
    drop(out);
    observed.map(drop)
}

type Observed = (Vec<Process>, Option<Lease>, Backlogs);

async fn observe(settings: &Settings) -> anyhow::Result<Observed> {
    let store = wiring::open_store(settings, Migrations::Skip).await?;
    let observed = read_status(&store).await;
    store.close().await;
    observed
}

async fn read_status(store: &Store) -> anyhow::Result<Observed> {
    store.ping().await.context("the database does not answer")?;
    let processes = dashi_store::list_processes(store).await.context("cannot list processes")?;
    let lease = dashi_store::lease_holder(store, dashi_scheduler::LEASE_NAME).await.context("cannot read the lease")?;
    let backlogs = dashi_store::backlogs(store).await.context("cannot read the job ledger")?;
    Ok((processes, lease, backlogs))
}

fn seconds_since(at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - at).num_seconds().max(0)
}

fn process_json(process: &Process, now: DateTime<Utc>) -> Value {
    let age = seconds_since(process.heartbeat_at, now);
    json!({
        "id": process.id,
        "role": process.role,
        "hostname": process.hostname,
        "pid": process.pid,
        "queues": process.queues,
        "started_at": process.started_at.to_rfc3339(),
        "last_heartbeat_at": process.heartbeat_at.to_rfc3339(),
        "seconds_since_heartbeat": age,
        "alive": age <= SILENT_AFTER_SECS,
    })
}

fn backlog_json(backlog: &Backlog, now: DateTime<Utc>) -> Value {
    json!({
        "queued": backlog.queued,
        "running": backlog.running,
        "oldest_queued_seconds": backlog.oldest_queued_at.map(|at| seconds_since(at, now)),
    })
}

fn lease_json(lease: &Lease, now: DateTime<Utc>) -> Value {
    json!({
        "holder": lease.holder,
        "fence": lease.fence,
        "expires_at": lease.expires_at.to_rfc3339(),
        "live": lease.is_live(now),
    })
}

/// `dashi create-user`.
pub(crate) async fn create_user(settings: &Settings, request: CreateUser) -> anyhow::Result<()> {
    let password = match (request.password, request.password_stdin) {
        (Some(password), _) => Some(password),
        (None, true) => Some(read_password_line()?),
        (None, false) => None,
    };
    let app = open_app(settings).await?;
    let created = app
        .admin_create_user(&request.org, &request.name, &request.email, password.as_deref(), request.admin)
        .await
        .with_context(|| format!("cannot create {} in organization {:?}", request.email, request.org));
    app.store().close().await;
    let user = created?;
    let mut out = std::io::stdout().lock();
    let role = if request.admin { "admin" } else { "user" };
    writeln!(out, "created {role} {} <{}> with id {}", user.name, user.email, user.id)?;
    if password.is_none() {
        writeln!(out, "no password was set: send them an invite link, or run `dashi reset-password`")?;
    }
    Ok(())
}

/// `dashi reset-password`.
pub(crate) async fn reset_password(settings: &Settings, request: ResetPassword) -> anyhow::Result<()> {
    let (password, generated) = match (request.password, request.password_stdin) {
        (Some(password), _) => (password, false),
        (None, true) => (read_password_line()?, false),
        (None, false) => (random_password(), true),
    };
    let app = open_app(settings).await?;
    let changed = app
        .admin_set_password(&request.org, &request.email, &password)
        .await
        .with_context(|| format!("cannot set the password of {} in organization {:?}", request.email, request.org));
    app.store().close().await;
    changed?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "password of {} changed; their sessions were ended", request.email)?;
    if generated {
        writeln!(out, "new password: {password}")?;
    }
    Ok(())
}

async fn open_app(settings: &Settings) -> anyhow::Result<App> {
    let secrets = settings.secrets()?;
    let store = wiring::open_store(settings, Migrations::ApplyIfEmbedded).await?;
    let results = wiring::results_store(settings)?;
    Ok(wiring::app(store.clone(), settings, &secrets, wiring::dispatcher(settings, &store)?, results))
}

/// The first line of stdin without its line ending; spaces are part of a password.
fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
    let password = line.strip_suffix('\n').map(|rest| rest.strip_suffix('\r').unwrap_or(rest)).unwrap_or(&line);
    anyhow::ensure!(!password.is_empty(), "no password on stdin");
    Ok(password.to_owned())
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}
