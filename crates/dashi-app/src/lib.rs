//! Use cases: one function per user action, in domain terms, called by the API and the CLI.
//!
//! [`App`] holds the store and the settings; each module adds the actions of one area
//! (`auth`: setup, login, sessions, keys; `user`; `group`). Permission checks live here, not
//! in handlers, so the CLI and the HTTP API cannot disagree. Nothing here knows HTTP.

mod acl;
mod actor;
mod alert;
mod auth;
mod dashboard;
mod dashboard_run;
mod data_source;
mod destination;
mod error;
mod event;
mod execute;
mod group;
mod job;
mod object_key;
mod query;
mod saved_run;
mod scheduled_run;
mod settings;
mod snippet;
mod status;
mod token;
mod user;
mod visualization;
mod widget;

pub use acl::GrantDetails;
pub use actor::{Actor, Credential};
pub use alert::{AlertDetails, AlertInput, SubscriptionDetails};
pub use destination::{DestinationInput, destination_kind, destination_kinds};
/// A destination type (its name, icon and option schema), for the API's listings.
pub use dashi_destinations::Kind as DestinationKind;
pub use event::EventOrigin;
pub use dashboard::{
    DashboardDetails, DashboardInput, DashboardListRequest, DashboardRef, ListedDashboard, PublicDashboard, ShownVisualization,
    WidgetView,
};
pub use dashboard_run::{DashboardParameter, MappedParameter, WidgetRun};
pub use object_key::KeyHolder;
pub use visualization::{VISUALIZATION_TYPES, VisualizationInput};
pub use widget::WidgetInput;
pub use data_source::{
    Access, DataSourceInput, SECRET_MASK, SchemaAnswer, VisibleDataSource, access_to,
};
pub use job::JobStatus;
pub use query::{
    ListedQuery, QueryDetails, QueryInput, QueryListRequest, QueryVersion, VisibleQuery, is_safe_query,
};
pub use snippet::{SnippetDetails, SnippetInput};
pub use auth::{DEFAULT_ORG_SLUG, NewSession, SetupForm};
pub use error::{Error, Result};
pub use execute::{AdhocRequest, ExecuteOutcome};
pub use saved_run::{DropdownOption, SavedRunRequest, storage_of};
pub use scheduled_run::ScheduledRefresh;
pub use settings::{AppSettings, FormatDefaults};
pub use status::{SCHEDULER_LEASE, SystemStatus};
pub use user::{Invited, LinkKind, UserListRequest, UserSummary, UserUpdate};

use std::sync::Arc;

use dashi_core::{KindInfo, OptionsCipher};
use dashi_queue::{Dispatcher, InProcessDispatcher, JobQueue};
use dashi_results::ResultsStore;
use dashi_store::Store;

/// The application: the store plus what every use case needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    store: Store,
    settings: Arc<AppSettings>,
    cipher: OptionsCipher,
    queue: JobQueue,
    catalog: Arc<Vec<KindInfo>>,
    results: Option<ResultsStore>,
}

impl App {
    /// An app on `store` with the in-process dispatcher and no data-source kinds; the binary
    /// adds the real catalog and, in distributed mode, the Redis dispatcher.
    pub fn new(store: Store, settings: AppSettings) -> App {
        let cipher = OptionsCipher::new(&settings.secret_key);
        let queue = JobQueue::new(store.clone(), Arc::new(InProcessDispatcher::new(store.clone())));
        App { store, settings: Arc::new(settings), cipher, queue, catalog: Arc::new(Vec::new()), results: None }
    }

    /// Replaces the dispatcher that wakes workers.
    pub fn with_dispatcher(mut self, dispatcher: Arc<dyn Dispatcher>) -> App {
        self.queue = JobQueue::new(self.store.clone(), dispatcher);
        self
    }

    /// Sets the kinds of data source this deployment can run.
    pub fn with_catalog(mut self, catalog: Vec<KindInfo>) -> App {
        self.catalog = Arc::new(catalog);
        self
    }

    /// Sets where query results are read from (and cleaned up).
    pub fn with_results(mut self, results: ResultsStore) -> App {
        self.results = Some(results);
        self
    }

    /// The results store; every role that serves or writes results is given one.
    pub fn results(&self) -> Result<&ResultsStore> {
        self.results.as_ref().ok_or(Error::NotConfigured("results store"))
    }

    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    pub fn cipher(&self) -> &OptionsCipher {
        &self.cipher
    }
}
