//! The router's shared state.

use std::sync::Arc;

use dashi_app::App;

use crate::ApiSettings;

/// Everything a handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) app: App,
    pub(crate) settings: Arc<ApiSettings>,
}

impl AppState {
    pub fn new(app: App, settings: ApiSettings) -> AppState {
        AppState { app, settings: Arc::new(settings) }
    }
}
