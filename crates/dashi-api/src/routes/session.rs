//! `/api/session`, `/api/config` and `/ping`: what the web UI asks before anything else.

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use dashi_app::{Actor, Credential, DEFAULT_ORG_SLUG};
use serde_json::{Value, json};

use crate::auth::{Caller, MaybeCaller, csrf_cookie};
use crate::error::ApiResult;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ping", get(ping))
        .route("/api/session", get(session))
        .route("/api/config", get(config))
}

/// Redash compat: load balancers and Redash's own health checks expect exactly this text.
async fn ping() -> &'static str {
    "PONG."
}

/// Redash's `client_config`, from deployment settings and the org's own settings.
fn client_config(state: &AppState, actor: Option<&Actor>) -> Value {
    let settings = state.app.settings();
    let org_setting = |key: &str| actor.and_then(|actor| actor.org.settings.pointer(&format!("/settings/{key}")).cloned());
    let text = |key: &str, default: &str| org_setting(key).unwrap_or_else(|| json!(default));
    let formats = &settings.formats;
    let date_format = text("date_format", &formats.date_format);
    let time_format = text("time_format", &formats.time_format);
    let date_time_format = json!(format!(
        "{} {}",
        date_format.as_str().unwrap_or(&formats.date_format),
        time_format.as_str().unwrap_or(&formats.time_format)
    ));
    let mut config = json!({
        "allowScriptsInUserInput": false,
        "showPermissionsControl": org_setting("feature_show_permissions_control").unwrap_or(json!(false)),
        "hidePlotlyModeBar": org_setting("hide_plotly_mode_bar").unwrap_or(json!(false)),
        "disablePublicUrls": org_setting("disable_public_urls").unwrap_or(json!(false)),
        "multiByteSearchEnabled": org_setting("multi_byte_search_enabled").unwrap_or(json!(false)),
        "allowCustomJSVisualizations": false,
        "autoPublishNamedQueries": true,
        "extendedAlertOptions": true,
        "mailSettingsMissing": !settings.mail_configured,
        "dashboardRefreshIntervals": settings.dashboard_refresh_intervals,
        "queryRefreshIntervals": settings.query_refresh_intervals,
        "googleLoginEnabled": settings.google_login_enabled,
        "ldapLoginEnabled": settings.ldap_login_enabled,
        "pageSize": settings.page_size,
        "pageSizeOptions": settings.page_size_options,
        "tableCellMaxJSONSize": 50_000,
        "basePath": settings.base_url.as_deref().map(|base| format!("{}/", base.trim_end_matches('/'))).unwrap_or_else(|| "/".into()),
        "dateFormat": date_format,
        "dateFormatList": ["DD/MM/YY", "YYYY-MM-DD", "MM/DD/YY"],
        "timeFormatList": ["HH:mm", "HH:mm:ss", "HH:mm:ss.SSS"],
        "dateTimeFormat": date_time_format,
        "integerFormat": text("integer_format", &formats.integer_format),
        "floatFormat": text("float_format", &formats.float_format),
        "thousandsSeparator": text("thousands_separator", &formats.thousands_separator),
        "decimalSeparator": text("decimal_separator", &formats.decimal_separator),
        "nullValue": text("null_value", &formats.null_value),
        "newVersionAvailable": false,
    });
    if actor.is_some() {
        config["version"] = json!(env!("CARGO_PKG_VERSION"));
    }
    config
}

/// `GET /api/session`: the caller's identity and permissions. Also re-issues the readable CSRF
/// cookie, so a web UI that lost it can recover without logging in again.
async fn session(State(state): State<AppState>, Caller(actor): Caller, jar: CookieJar) -> ApiResult<impl IntoResponse> {
    let permissions: Vec<&String> = actor.permissions.iter().collect();
    let user = json!({
        "id": actor.user.id.0,
        "name": actor.user.name,
        "email": actor.user.email,
        "profile_image_url": actor.user.details.profile_image_url.clone().unwrap_or_else(|| dashi_core::gravatar_url(&actor.user.email)),
        "groups": actor.user.group_ids.iter().map(|id| id.0).collect::<Vec<_>>(),
        "permissions": permissions,
    });
    let body = json!({
        "user": user,
        "messages": [],
        "org_slug": actor.org.slug,
        "client_config": client_config(&state, Some(&actor)),
    });
    let jar = match &actor.credential {
        Credential::Session { csrf_token, .. } => jar.add(csrf_cookie(&state, csrf_token)),
        Credential::UserApiKey => jar,
    };
    Ok((jar, axum::Json(body)))
}

/// `GET /api/config`: open to everyone; the login page reads it to show SSO buttons.
async fn config(State(state): State<AppState>, MaybeCaller(actor): MaybeCaller) -> ApiResult<axum::Json<Value>> {
    let org_slug = actor.as_ref().map(|actor| actor.org.slug.clone()).unwrap_or_else(|| DEFAULT_ORG_SLUG.into());
    Ok(axum::Json(json!({
        "org_slug": org_slug,
        "client_config": client_config(&state, actor.as_ref()),
    })))
}
