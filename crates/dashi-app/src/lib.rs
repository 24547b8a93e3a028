//! Use cases: one function per user action, in domain terms, called by the API and the CLI.
//!
//! [`App`] holds the store and the settings; each module adds the actions of one area
//! (`auth`: setup, login, sessions, keys; `user`; `group`). Permission checks live here, not
//! in handlers, so the CLI and the HTTP API cannot disagree. Nothing here knows HTTP.

mod actor;
mod auth;
mod error;
mod group;
mod settings;
mod token;
mod user;

pub use actor::{Actor, Credential};
pub use auth::{DEFAULT_ORG_SLUG, NewSession, SetupForm};
pub use error::{Error, Result};
pub use settings::{AppSettings, FormatDefaults};
pub use user::{Invited, LinkKind, UserListRequest, UserSummary, UserUpdate};

use dashi_core::OptionsCipher;
use dashi_store::Store;

/// The application: the store plus what every use case needs. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    store: Store,
    settings: std::sync::Arc<AppSettings>,
    cipher: OptionsCipher,
}

impl App {
    pub fn new(store: Store, settings: AppSettings) -> App {
        let cipher = OptionsCipher::new(&settings.secret_key);
        App { store, settings: std::sync::Arc::new(settings), cipher }
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
