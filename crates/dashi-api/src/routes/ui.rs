//! The web UI: files of the built single-page app (`web/dist`, embedded in release builds),
//! served with long-lived caching for hashed assets and a fallback to the app for client routes.
//!
//! Until the UI is built, `/` is a small server-rendered page that still leads a newcomer
//! through setup and login and says how to build the UI.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use rust_embed::RustEmbed;

use crate::auth::MaybeCaller;
use crate::error::{ApiError, ApiResult};
use crate::html::{escape, page};
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "../../web/dist/"]
#[allow_missing = true]
struct WebAssets;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().fallback(serve)
}

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

async fn serve(State(state): State<AppState>, method: Method, uri: Uri, caller: MaybeCaller) -> ApiResult<Response> {
    let path = uri.path();
    if is_api_path(path) || (method != Method::GET && method != Method::HEAD) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "Not found."));
    }
    let file_path = path.trim_start_matches('/');
    if !file_path.is_empty()
        && let Some(file) = WebAssets::get(file_path)
    {
        let mime = mime_guess::from_path(file_path).first_or_octet_stream();
        // Vite names assets by content hash: a changed file gets a new name, so caching forever
        // is safe; everything else must be revalidated.
        let cache = if file_path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
        return Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_str(mime.as_ref()).unwrap_or(HeaderValue::from_static("application/octet-stream"))),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
            file.data.into_owned(),
        )
            .into_response());
    }
    if let Some(index) = WebAssets::get("index.html") {
        return Ok((
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
            index.data.into_owned(),
        )
            .into_response());
    }
    without_ui(&state, path, caller).await
}

/// The page shown when no UI was built into this binary.
async fn without_ui(state: &AppState, path: &str, MaybeCaller(actor): MaybeCaller) -> ApiResult<Response> {
    if path != "/" {
        return Ok((StatusCode::NOT_FOUND, Html(page("Not found", "<h1>Not found</h1><p><a href=\"/\">Home</a></p>"))).into_response());
    }
    if state.app.needs_setup().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let Some(actor) = actor else {
        return Ok(Redirect::to("/login").into_response());
    };
    let body = format!(
        r#"<h1>Dashi is running</h1><p>Signed in as <strong>{name}</strong> ({email}) in <strong>{org}</strong>.</p>
<p>The web UI is not part of this build. Build it with <code>cargo xtask run</code>, or use the API now:</p>
<pre><code>curl -H "Authorization: Key {key}" {base}/api/session</code></pre>
<p><a href="/logout">Log out</a></p>"#,
        name = escape(&actor.user.name),
        email = escape(&actor.user.email),
        org = escape(&actor.org.name),
        key = escape(&actor.user.api_key),
        base = escape(state.app.settings().base_url.as_deref().unwrap_or("http://127.0.0.1:5000")),
    );
    Ok(Html(page("Dashi", &body)).into_response())
}
