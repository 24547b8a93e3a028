//! Graceful stop: SIGTERM (what container platforms send on every deploy) and Ctrl-C cancel the
//! root token; each role holds a child of it, drains, and returns. A second signal exits at once
//! for an operator who does not want to wait.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Starts listening for SIGTERM and SIGINT and returns the token they cancel. Call it before a
/// role starts its work, so a signal during start-up also stops it cleanly.
pub(crate) fn on_signals() -> anyhow::Result<CancellationToken> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let token = CancellationToken::new();
    let root = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => info!(signal = "SIGTERM", "stopping"),
            _ = interrupt.recv() => info!(signal = "SIGINT", "stopping"),
        }
        root.cancel();
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        warn!("second signal; exiting without waiting");
        std::process::exit(130);
    });
    Ok(token)
}
