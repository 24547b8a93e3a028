//! Who is calling: the [`Caller`] extractor and the session cookies.
//!
//! Redash's order: an API key (`?api_key=` first, then `Authorization: Key …`) wins over the
//! session cookie. A cookie-authenticated write must carry the session's CSRF token (header
//! `X-CSRFToken` or `X-CSRF-Token`); API-key calls are exempt because a browser never adds
//! them on its own.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use dashi_app::{Actor, Credential, KeyHolder, NewSession};

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the readable cookie carrying the CSRF token for the web UI.
pub(crate) const CSRF_COOKIE: &str = "csrf_token";

/// An authenticated caller. Extracting it fails with Redash's 404 when nobody is logged in.
pub(crate) struct Caller(pub Actor);

/// The API key a request carries, if any, with Redash's precedence.
pub(crate) fn api_key_of(parts: &Parts) -> Option<String> {
    let from_query = parts.uri.query().and_then(|query| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()?
            .into_iter()
            .find(|(name, _)| name == "api_key")
            .map(|(_, value)| value)
    });
    from_query.or_else(|| {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
        header.strip_prefix("Key ").map(|key| key.trim().to_owned())
    })
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrftoken").or_else(|| headers.get("x-csrf-token")).and_then(|value| value.to_str().ok())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(key) = api_key_of(parts) {
            return match state.app.api_key_actor(&key).await? {
                Some(actor) => Ok(Caller(actor)),
                None => Err(ApiError::login_required()),
            };
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(&state.settings.session_cookie_name).map(|cookie| cookie.value().to_owned()) else {
            return Err(ApiError::login_required());
        };
        let Some(actor) = state.app.session_actor(&token).await? else {
            return Err(ApiError::login_required());
        };
        if state.settings.enforce_csrf && is_write(&parts.method) {
            let Credential::Session { csrf_token, .. } = &actor.credential else {
                return Err(ApiError::login_required());
            };
            let sent = csrf_header(&parts.headers).unwrap_or_default();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), csrf_token.as_bytes())) {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "The CSRF token is missing or invalid."));
            }
        }
        Ok(Caller(actor))
    }
}

/// A caller of the routes that read results: a user, or the holder of a query's own key or of a
/// dashboard share token (Redash's API-key pseudo-users). A user key wins over an object key,
/// as in Redash; without a key, the session cookie decides as for [`Caller`].
pub(crate) enum Reader {
    User(Box<Actor>),
    Key(KeyHolder),
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(key) = api_key_of(parts) {
            if let Some(actor) = state.app.api_key_actor(&key).await? {
                return Ok(Reader::User(Box::new(actor)));
            }
            return match state.app.object_key_holder(&key).await? {
                Some(holder) => Ok(Reader::Key(holder)),
                None => Err(ApiError::login_required()),
            };
        }
        Caller::from_request_parts(parts, state).await.map(|Caller(actor)| Reader::User(Box::new(actor)))
    }
}

/// An authenticated caller or nobody; for routes that answer both (e.g. `/api/config`).
pub(crate) struct MaybeCaller(pub Option<Actor>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await {
            Ok(Caller(actor)) => Ok(MaybeCaller(Some(actor))),
            Err(error) if error.status() == StatusCode::NOT_FOUND => Ok(MaybeCaller(None)),
            Err(error) => Err(error),
        }
    }
}

/// The cookies a fresh login sets: the HttpOnly session cookie and the readable CSRF cookie.
pub(crate) fn login_cookies(state: &AppState, jar: CookieJar, session: &NewSession, csrf_token: &str) -> CookieJar {
    let max_age = (session.expires_at - chrono::Utc::now()).num_seconds().max(0);
    let session_cookie = Cookie::build((state.settings.session_cookie_name.clone(), session.token.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.cookies_secure)
        .max_age(cookie::time::Duration::seconds(max_age));
    jar.add(session_cookie).add(csrf_cookie(state, csrf_token))
}

/// The readable cookie the web UI copies into `X-CSRFToken`.
pub(crate) fn csrf_cookie(state: &AppState, csrf_token: &str) -> Cookie<'static> {
    Cookie::build((CSRF_COOKIE, csrf_token.to_owned()))
        .path("/")
        .http_only(false)
        .same_site(SameSite::Lax)
        .secure(state.settings.cookies_secure)
        .build()
}

/// Removes the login cookies.
pub(crate) fn logout_cookies(state: &AppState, jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(state.settings.session_cookie_name.clone()).path("/"))
        .remove(Cookie::build(CSRF_COOKIE).path("/"))
}
