//! Runs a blocking driver (SQLite, file parsing) on tokio's blocking pool and brings its rows to
//! the async sink through a bounded channel, so a slow sink slows the driver down instead of
//! letting rows pile up in memory.
//!
//! Cancellation: the driver registers how to interrupt itself ([`Feed::on_cancel`]); when the
//! token fires, that is called and the run ends as cancelled once the driver has stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dashi_core::{Cell, Column, RowSink};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// Rows in flight between the driver thread and the sink.
const CHANNEL_ROWS: usize = 1024;

enum Message {
    Columns(Vec<Column>),
    Row(Vec<Cell>),
}

type Interrupt = Box<dyn FnOnce() + Send>;

/// The driver thread's end: hand columns and rows to the sink.
pub(crate) struct Feed {
    sender: mpsc::Sender<Message>,
    interrupt: Arc<Mutex<Interrupter>>,
}

#[derive(Default)]
struct Interrupter {
    fired: bool,
    flag: Arc<AtomicBool>,
    action: Option<Interrupt>,
}

impl Feed {
    /// Sends the columns; an error means the run is over (cancelled or the sink failed) and
    /// the driver should return it.
    pub(crate) fn columns(&self, columns: Vec<Column>) -> Result<()> {
        self.sender
            .blocking_send(Message::Columns(columns))
            .map_err(|_| Error::Cancelled)
    }

    pub(crate) fn row(&self, cells: Vec<Cell>) -> Result<()> {
        self.sender
            .blocking_send(Message::Row(cells))
            .map_err(|_| Error::Cancelled)
    }

    /// Registers how to interrupt the driver; called at once if the run is already cancelled.
    pub(crate) fn on_cancel(&self, action: impl FnOnce() + Send + 'static) {
        let mut interrupter = lock(&self.interrupt);
        if interrupter.fired {
            drop(interrupter);
            action();
        } else {
            interrupter.action = Some(Box::new(action));
        }
    }

    /// A flag that turns true when the run is cancelled, for drivers that poll it (SQLite's
    /// progress handler): an interrupt sent before a statement starts would be lost.
    pub(crate) fn cancelled_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&lock(&self.interrupt).flag)
    }
}

fn lock(interrupter: &Mutex<Interrupter>) -> std::sync::MutexGuard<'_, Interrupter> {
    // A panic while holding this lock leaves plain data behind; keep using it.
    interrupter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn fire(interrupter: &Mutex<Interrupter>) {
    let action = {
        let mut interrupter = lock(interrupter);
        interrupter.fired = true;
        interrupter.flag.store(true, Ordering::Relaxed);
        interrupter.action.take()
    };
    if let Some(action) = action {
        action();
    }
}

/// Runs `work` on the blocking pool and forwards what it feeds into `sink`.
pub(crate) async fn drive<F>(
    work: F,
    sink: &mut dyn RowSink,
    cancel: &CancellationToken,
) -> Result<()>
where
    F: FnOnce(&Feed) -> Result<()> + Send + 'static,
{
    let (sender, mut receiver) = mpsc::channel(CHANNEL_ROWS);
    let interrupt = Arc::new(Mutex::new(Interrupter::default()));
    let feed = Feed {
        sender,
        interrupt: Arc::clone(&interrupt),
    };
    let handle = tokio::task::spawn_blocking(move || work(&feed));

    let mut failure: Option<Error> = None;
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled(), if failure.is_none() => {
                fire(&interrupt);
                failure = Some(Error::Cancelled);
                receiver.close();
            }
            message = receiver.recv() => match message {
                Some(_) if failure.is_some() => {}
                Some(Message::Columns(columns)) => {
                    if let Err(error) = sink.columns(&columns) {
                        fire(&interrupt);
                        failure = Some(error.into());
                        receiver.close();
                    }
                }
                Some(Message::Row(cells)) => {
                    if let Err(error) = sink.row(&cells) {
                        fire(&interrupt);
                        failure = Some(error.into());
                        receiver.close();
                    }
                }
                None => break,
            },
        }
    }
    let outcome = match handle.await {
        Ok(outcome) => outcome,
        Err(join_error) => Err(Error::Internal(format!(
            "runner thread failed: {join_error}"
        ))),
    };
    match failure {
        Some(error) => Err(error),
        None => outcome,
    }
}
