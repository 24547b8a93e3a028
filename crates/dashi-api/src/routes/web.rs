//! What the web UI reads before it has a session: `GET /api/openapi.yaml` (the API document the
//! UI's typed client is generated from) and `GET /api/setup` (whether to show the setup page).
//!
//! The document is `openapi/dashi.yaml`, written by hand and compiled into the binary; a test
//! below fails when a route registered in `routes/` is missing from it.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.yaml", get(document)).route("/api/setup", get(setup_state))
}

const DOCUMENT: &str = include_str!("../../../../openapi/dashi.yaml");

/// `GET /api/openapi.yaml`: public, like Redash's own login-free endpoints, since it holds no data.
async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml; charset=utf-8"))], DOCUMENT)
}

/// `GET /api/setup`: the server-rendered `/setup` page answers the same question with a redirect,
/// which a script cannot read without following it.
async fn setup_state(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(json!({"needs_setup": state.app.needs_setup().await?})))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::DOCUMENT;

    /// `(METHOD, path)` pairs of the document, read from its layout: paths are indented two
    /// spaces under `paths:`, their operations four.
    fn documented() -> BTreeSet<(String, String)> {
        let mut operations = BTreeSet::new();
        let mut in_paths = false;
        let mut path = String::new();
        for line in DOCUMENT.lines() {
            if !line.starts_with(' ') && !line.is_empty() {
                in_paths = line == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            if let Some(rest) = line.strip_prefix("  /") {
                path = format!("/{}", rest.trim_end().trim_end_matches(':'));
            } else if let Some(rest) = line.strip_prefix("    ") {
                let key = rest.split(':').next().unwrap_or_default();
                if ["get", "post", "delete", "put", "patch"].contains(&key) {
                    operations.insert((key.to_uppercase(), path.clone()));
                }
            }
        }
        operations
    }

    /// `(METHOD, path)` pairs registered with `.route(path, get(handler).post(…))` in `src/routes/*.rs`.
    fn registered() -> BTreeSet<(String, String)> {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut operations = BTreeSet::new();
        for entry in std::fs::read_dir(&folder).expect("routes folder") {
            let source = std::fs::read_to_string(entry.expect("entry").path()).expect("route module");
            for call in source.split(".route(\"").skip(1) {
                let Some((path, rest)) = call.split_once('"') else { continue };
                // The method list ends where the `.route(` call's parentheses close.
                let mut depth = 1;
                let end = rest
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '(' => 1,
                            ')' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map_or(rest.len(), |(at, _)| at);
                let methods = &rest[..end];
                for method in ["get", "post", "delete", "put", "patch"] {
                    let called = methods
                        .match_indices(&format!("{method}("))
                        .any(|(at, _)| at == 0 || !methods[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                    if called {
                        operations.insert((method.to_uppercase(), path.to_owned()));
                    }
                }
            }
        }
        operations
    }

    #[test]
    fn every_registered_route_is_in_the_openapi_document() {
        let registered = registered();
        assert!(
            registered.contains(&("GET".into(), "/api/queries".into())),
            "the route scan found nothing: {registered:?}"
        );
        let documented = documented();
        let missing: Vec<_> = registered.difference(&documented).collect();
        assert!(missing.is_empty(), "routes missing from openapi/dashi.yaml: {missing:?}");
    }

    /// A path listed twice is invalid YAML (a duplicated key), which stops the UI's build.
    #[test]
    fn the_document_lists_each_path_once() {
        let mut seen = BTreeSet::new();
        let in_paths = DOCUMENT
            .split("\npaths:\n")
            .nth(1)
            .and_then(|rest| rest.split("\ncomponents:\n").next())
            .expect("paths section");
        for line in in_paths.lines().filter(|line| line.starts_with("  /")) {
            assert!(seen.insert(line), "listed twice in openapi/dashi.yaml: {line}");
        }
        assert!(seen.len() > 50, "the path scan found only {} paths", seen.len());
    }

    #[test]
    fn the_document_scan_reads_operations() {
        let documented = documented();
        assert!(documented.contains(&("DELETE".into(), "/api/queries/{id}".into())));
        assert!(documented.contains(&("GET".into(), "/api/openapi.yaml".into())));
    }
}
