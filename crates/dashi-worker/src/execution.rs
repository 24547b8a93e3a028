//! What a worker needs to run jobs, handed in by the binary.

use std::sync::Arc;
use std::time::Duration;

use dashi_core::OptionsCipher;
use dashi_queue::Dispatcher;
use dashi_results::ResultsStore;
use dashi_runners::RunnerContext;

use crate::notify::Notifications;

/// Everything shared by the jobs a worker runs.
#[derive(Clone)]
pub struct Execution {
    /// Where job ids come from (and cancel signals); the ledger stays the truth.
    pub dispatcher: Arc<dyn Dispatcher>,
    /// Where results are written.
    pub results: ResultsStore,
    /// Decrypts data-source options.
    pub cipher: OptionsCipher,
    /// What runners may use from outside (private-address policy, other queries' results).
    pub runner_context: RunnerContext,
    /// How long a claim lasts without renewal; renewed every third of it. A worker killed with
    /// SIGKILL loses its jobs to the reclaimer after this long.
    pub lease_ttl: Duration,
    /// Time limits when the data source sets none (`None`: no limit), per queue class.
    pub adhoc_timeout: Option<Duration>,
    pub scheduled_timeout: Option<Duration>,
    /// On shutdown, how long running jobs may take to finish before they are handed back.
    pub shutdown_grace: Duration,
    /// How alert notifications are rendered and delivered.
    pub notifications: Notifications,
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution").field("lease_ttl", &self.lease_ttl).finish_non_exhaustive()
    }
}

impl Execution {
    /// Defaults: 10 s leases (renewed every ~3 s, so a killed worker's job is retried within
    /// seconds), no query time limit, 30 s shutdown grace.
    pub fn new(dispatcher: Arc<dyn Dispatcher>, results: ResultsStore, cipher: OptionsCipher) -> Execution {
        Execution {
            dispatcher,
            results,
            cipher,
            runner_context: RunnerContext::default(),
            lease_ttl: Duration::from_secs(10),
            adhoc_timeout: None,
            scheduled_timeout: None,
            shutdown_grace: Duration::from_secs(30),
            notifications: Notifications::default(),
        }
    }
}
