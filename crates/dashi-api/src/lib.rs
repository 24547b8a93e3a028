//! The HTTP face of Dashi: Redash-compatible `/api/*`, the HTML auth routes, and the web UI.
//!
//! [`router`] builds the whole axum router from an [`AppState`]. Only this crate knows HTTP,
//! status codes and Redash's JSON shapes; every handler makes one `dashi-app` call. Read
//! `error.rs` (the one place faults become statuses), then `auth.rs` (who is calling), then
//! `routes/` (one module per area) and `wire/` (Redash's JSON shapes).

mod auth;
mod error;
mod extract;
mod html;
mod routes;
mod settings;
mod state;
mod wire;

pub use settings::ApiSettings;
pub use state::AppState;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::trace::TraceLayer;

/// The complete router: API, auth pages, health, and the embedded UI.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so login throttling
/// can tell clients apart.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    let inner = Router::new()
        .merge(routes::session::routes())
        .merge(routes::pages::routes())
        .merge(routes::users::routes())
        .merge(routes::groups::routes())
        .merge(routes::data_sources::routes())
        .merge(routes::alerts::routes())
        .merge(routes::destinations::routes())
        .merge(routes::events::routes())
        .merge(routes::jobs::routes())
        .merge(routes::query_results::routes())
        .merge(routes::query_runs::routes())
        .merge(routes::queries::routes())
        .merge(routes::snippets::routes())
        .merge(routes::visualizations::routes())
        .merge(routes::dashboards::routes())
        .merge(routes::widgets::routes())
        .merge(routes::acl::routes())
        .merge(routes::embeds::routes())
        .merge(routes::web::routes())
        .merge(routes::status::routes())
        .merge(routes::admin::routes())
        .merge(routes::ui::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), routes::status::count_requests))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    // Flask clients send `/api/queries/` and `/api/queries` alike; the path is trimmed before
    // routing, which a layer on the inner router would be too late for.
    Router::new().fallback_service(NormalizePath::trim_trailing_slash(inner))
}
