//! Extractors whose rejections are our JSON errors, so every 4xx a Redash client sees has a
//! `{"message": …}` body.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Redash compat: the content type is not required (Redash parses with
/// `force=True`), so a script that forgot the header still works.
pub(crate) struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|rejection| {
            ApiError::new(rejection.status(), format!("Could not read the request body: {}", rejection.body_text()))
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("The request body must be a JSON object."));
        }
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))
    }
}

/// An integer id from the path. A non-numeric id is a 404, as Flask's `<int:id>` routes answer.
pub(crate) struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        raw.parse::<i64>().map(Id).map_err(|_| ApiError::not_found())
    }
}

/// Two integer ids from the path (`/groups/<id>/members/<user_id>`).
pub(crate) struct Ids(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Ids {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((first, second)) = axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        match (first.parse::<i64>(), second.parse::<i64>()) {
            (Ok(first), Ok(second)) => Ok(Ids(first, second)),
            _ => Err(ApiError::not_found()),
        }
    }
}

/// Query-string parameters with a JSON 400 on bad values.
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(|error| ApiError::bad_request(format!("Invalid query parameters: {error}")))
    }
}
