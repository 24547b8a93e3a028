//! The web UI: files of the built single-page app (`web/dist`, embedded in release builds and
//! read from disk in debug builds), served with long-lived caching for hashed assets and a
//! fallback to the app for client routes.
//!
//! Until the UI is built, `/` is a small server-rendered page that still leads a newcomer
//! through setup and login and says how to build the UI.

use std::borrow::Cow;

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

/// Cache policy of a file of the build. Vite names everything under `assets/` by content hash, so
/// a changed file gets a new name and caching it for a year is safe; `index.html` and unhashed
/// files must be revalidated so a deploy is seen at the next load.
fn cache_control(file_path: &str) -> &'static str {
    if file_path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" }
}

/// What the built UI answers for `path`, or `None` when no UI is built.
///
/// A path naming a file of the build gets that file; a missing file under `assets/` or with an
/// extension is a 404 (a stale page asking for an old bundle must fail, not parse HTML as
/// script); any other path is a client route and gets `index.html`.
fn ui_response(path: &str, lookup: impl Fn(&str) -> Option<Cow<'static, [u8]>>) -> Option<Response> {
    let index = lookup("index.html")?;
    let file_path = path.trim_start_matches('/');
    if !file_path.is_empty()
        && let Some(bytes) = lookup(file_path)
    {
        let mime = mime_guess::from_path(file_path).first_or_octet_stream();
        let content_type =
            HeaderValue::from_str(mime.as_ref()).unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let headers = [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache_control(file_path))),
        ];
        return Some((headers, bytes.into_owned()).into_response());
    }
    let last_segment = file_path.rsplit('/').next().unwrap_or_default();
    if file_path.starts_with("assets/") || last_segment.contains('.') {
        return Some((StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-cache")], "Not found.").into_response());
    }
    let headers = [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")];
    Some((headers, index.into_owned()).into_response())
}

async fn serve(State(state): State<AppState>, method: Method, uri: Uri, caller: MaybeCaller) -> ApiResult<Response> {
    let path = uri.path();
    if is_api_path(path) || (method != Method::GET && method != Method::HEAD) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "Not found."));
    }
    if state.settings.serve_web_ui
        && let Some(response) = ui_response(path, |name| WebAssets::get(name).map(|file| file.data))
    {
        return Ok(response);
    }
    without_ui(&state, path, caller).await
}

const BUILD_HINT: &str = "The web UI is not part of this build. Build it with <code>cargo xtask run</code> \
     (or <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>, then rebuild <code>dashi</code>).";

/// The page shown when no UI was built into this binary.
async fn without_ui(state: &AppState, path: &str, MaybeCaller(actor): MaybeCaller) -> ApiResult<Response> {
    if path != "/" {
        let body = format!("<h1>Not found</h1><p>{BUILD_HINT}</p><p><a href=\"/\">Home</a></p>");
        return Ok((StatusCode::NOT_FOUND, Html(page("Not found", &body))).into_response());
    }
    if state.app.needs_setup().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let Some(actor) = actor else {
        return Ok(Redirect::to("/login").into_response());
    };
    let body = format!(
        r#"<h1>Dashi is running</h1><p>Signed in as <strong>{name}</strong> ({email}) in <strong>{org}</strong>.</p>
<p>{BUILD_HINT} Or use the API now:</p>
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

#[cfg(test)]
mod tests {
    use super::*;

    fn built(name: &str) -> Option<Cow<'static, [u8]>> {
        match name {
            "index.html" => Some(Cow::Borrowed(b"<div id=root></div>")),
            "assets/index-3f2a9c.js" => Some(Cow::Borrowed(b"console.log(1)")),
            "favicon.svg" => Some(Cow::Borrowed(b"<svg/>")),
            _ => None,
        }
    }

    fn header_of(response: &Response, name: header::HeaderName) -> &str {
        response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    #[test]
    fn hashed_assets_are_cached_for_a_year() {
        let response = ui_response("/assets/index-3f2a9c.js", built).expect("ui is built");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "public, max-age=31536000, immutable");
        assert!(header_of(&response, header::CONTENT_TYPE).contains("javascript"));
    }

    #[test]
    fn unhashed_files_and_the_app_are_revalidated() {
        let response = ui_response("/favicon.svg", built).expect("ui is built");
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
        let response = ui_response("/", built).expect("ui is built");
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
        assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"));
    }

    #[test]
    fn client_routes_fall_back_to_the_app() {
        for path in ["/queries/12", "/queries/12/source", "/data_sources/new", "/dashboards/3-sales"] {
            let response = ui_response(path, built).expect("ui is built");
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"), "{path}");
        }
    }

    #[test]
    fn missing_files_are_not_answered_with_the_app() {
        for path in ["/assets/index-old.js", "/assets/gone", "/robots.txt"] {
            let response = ui_response(path, built).expect("ui is built");
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn nothing_is_answered_without_a_build() {
        assert!(ui_response("/", |_| None).is_none());
        assert!(ui_response("/queries/1", |_| None).is_none());
    }
}
