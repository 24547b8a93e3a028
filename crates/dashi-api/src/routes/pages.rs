//! The server-rendered auth pages Redash has outside its SPA: `/setup`, `/login`, `/logout`,
//! `/invite/<token>` and `/reset/<token>`. Their form fields are Redash's, so scripts that log
//! in with a form post keep working.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Extensions, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use dashi_app::{Credential, SetupForm};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::{login_cookies, logout_cookies};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::html::{escape, page};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_form).post(setup))
        .route("/login", get(login_form).post(login))
        .route("/logout", get(logout).post(logout))
        .route("/invite/{token}", get(link_form).post(set_password))
        .route("/reset/{token}", get(link_form).post(set_password))
}

/// A form body; a malformed one is a 400 with a message, not a plain-text rejection.
fn form<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|error| ApiError::bad_request(format!("Invalid form: {error}")))
}

/// The client's address for throttling; behind a proxy this is the proxy until proxy
/// awareness (trusted `X-Forwarded-For`) is configured.
fn client_ip(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Only same-site paths may be redirected to after login, never `//host` or `https://…`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_owned(),
        _ => "/".to_owned(),
    }
}

fn form_page(title: &str, action: &str, error: Option<&str>, fields: &str, submit: &str) -> String {
    let error = error.map(|message| format!(r#"<p class="error" role="alert">{}</p>"#, escape(message))).unwrap_or_default();
    page(title, &format!(
        r#"<h1>{title}</h1>{error}<form method="post" action="{action}">{fields}<button type="submit">{submit}</button></form>"#,
        title = escape(title),
        action = escape(action),
    ))
}

fn field(label: &str, name: &str, kind: &str, value: &str) -> String {
    format!(
        r#"<label>{label}<input name="{name}" type="{kind}" value="{value}" required></label>"#,
        label = escape(label),
        value = escape(value),
    )
}

fn setup_page(error: Option<&str>, form: &SetupFields) -> String {
    let fields = [
        field("Your name", "name", "text", &form.name),
        field("Email", "email", "email", &form.email),
        field("Password (at least 6 characters)", "password", "password", ""),
        field("Organization name", "org_name", "text", &form.org_name),
    ]
    .concat();
    form_page("Welcome to Dashi: create the first admin", "/setup", error, &fields, "Set up")
}

#[derive(Deserialize, Default)]
struct SetupFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    org_name: String,
}

async fn setup_form(State(state): State<AppState>) -> ApiResult<Response> {
    if !state.app.needs_setup().await? {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(Html(setup_page(None, &SetupFields::default())).into_response())
}

/// `POST /setup`: creates the org and admin, then logs the admin in.
async fn setup(State(state): State<AppState>, jar: CookieJar, body: Bytes) -> ApiResult<Response> {
    if !state.app.needs_setup().await? {
        return Ok(Redirect::to("/").into_response());
    }
    let fields: SetupFields = form(&body)?;
    let setup_form = SetupForm {
        name: fields.name.clone(),
        email: fields.email.clone(),
        password: fields.password.clone(),
        org_name: fields.org_name.clone(),
    };
    match state.app.setup(&setup_form).await {
        Ok(_) => {}
        Err(error @ (dashi_app::Error::Invalid(_) | dashi_app::Error::Conflict(_))) => {
            let status = if matches!(error, dashi_app::Error::Conflict(_)) { StatusCode::CONFLICT } else { StatusCode::BAD_REQUEST };
            return Ok((status, Html(setup_page(Some(&error.to_string()), &fields))).into_response());
        }
        Err(error) => return Err(error.into()),
    }
    let session = state.app.login(&fields.email, &fields.password, false).await?;
    let jar = with_session(&state, jar, &session).await?;
    Ok((jar, Redirect::to("/")).into_response())
}

async fn with_session(state: &AppState, jar: CookieJar, session: &dashi_app::NewSession) -> ApiResult<CookieJar> {
    let actor = state.app.session_actor(&session.token).await?.ok_or_else(ApiError::login_required)?;
    let Credential::Session { csrf_token, .. } = &actor.credential else {
        return Err(ApiError::login_required());
    };
    Ok(login_cookies(state, jar, session, csrf_token))
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

fn login_page(error: Option<&str>, email: &str, next: &str) -> String {
    let fields = [
        field("Email", "email", "email", email),
        field("Password", "password", "password", ""),
        r#"<label class="inline"><input name="remember" type="checkbox" value="on"> Remember me</label>"#.to_owned(),
    ]
    .concat();
    form_page("Log in to Dashi", &format!("/login?next={}", urlencode(next)), error, &fields, "Log in")
}

fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).map(|encoded| encoded[2..].to_owned()).unwrap_or_default()
}

async fn login_form(State(state): State<AppState>, Query(params): Query<NextParam>) -> ApiResult<Response> {
    if state.app.needs_setup().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    Ok(Html(login_page(None, "", &safe_next(params.next.as_deref()))).into_response())
}

#[derive(Deserialize)]
struct LoginFields {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    remember: Option<String>,
}

/// `POST /login`: throttled per client address (Redash's `REDASH_THROTTLE_LOGIN_PATTERN`).
async fn login(
    State(state): State<AppState>,
    Query(params): Query<NextParam>,
    jar: CookieJar,
    request: axum::extract::Request,
) -> ApiResult<Response> {
    let next = safe_next(params.next.as_deref());
    if state.login_limiter.check_key(&client_ip(request.extensions())).is_err() {
        return Err(dashi_app::Error::Throttled.into());
    }
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| ApiError::bad_request("The login form is too large."))?;
    let fields: LoginFields = form(&body)?;
    match state.app.login(&fields.email, &fields.password, fields.remember.is_some()).await {
        Ok(session) => {
            let jar = with_session(&state, jar, &session).await?;
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(error @ (dashi_app::Error::Invalid(_) | dashi_app::Error::Forbidden(_))) => {
            let status = if matches!(error, dashi_app::Error::Forbidden(_)) { StatusCode::FORBIDDEN } else { StatusCode::UNAUTHORIZED };
            Ok((status, Html(login_page(Some(&error.to_string()), &fields.email, &next))).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET|POST /logout`: ends the session and clears the cookies.
async fn logout(State(state): State<AppState>, jar: CookieJar) -> ApiResult<Response> {
    if let Some(cookie) = jar.get(&state.settings.session_cookie_name) {
        state.app.logout(cookie.value()).await?;
    }
    Ok((logout_cookies(&state, jar), Redirect::to("/login")).into_response())
}

fn password_page(path: &str, error: Option<&str>) -> String {
    let fields = field("New password (at least 6 characters)", "password", "password", "");
    form_page("Set your password", path, error, &fields, "Save password")
}

async fn link_form(State(state): State<AppState>, Path(token): Path<String>, uri: axum::http::Uri) -> ApiResult<Response> {
    if state.app.user_for_link(&token).await?.is_none() {
        return Ok((StatusCode::BAD_REQUEST, Html(page("Link expired", "<h1>This link is invalid or has expired.</h1><p>Ask an administrator for a new one.</p>"))).into_response());
    }
    Ok(Html(password_page(uri.path(), None)).into_response())
}

#[derive(Deserialize)]
struct PasswordFields {
    #[serde(default)]
    password: String,
}

/// `POST /invite/<token>` and `/reset/<token>`: sets the password and logs the user in.
async fn set_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    uri: axum::http::Uri,
    jar: CookieJar,
    body: Bytes,
) -> ApiResult<Response> {
    let fields: PasswordFields = form(&body)?;
    match state.app.set_password_with_link(&token, &fields.password).await {
        Ok(session) => {
            let jar = with_session(&state, jar, &session).await?;
            Ok((jar, Redirect::to("/")).into_response())
        }
        Err(error @ dashi_app::Error::Invalid(_)) => {
            Ok((StatusCode::BAD_REQUEST, Html(password_page(uri.path(), Some(&error.to_string())))).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_parameter_stays_on_this_site() {
        assert_eq!(safe_next(Some("/queries/1")), "/queries/1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
