//! The only place that turns an error into an HTTP status and a `{"message": …}` body.
//!
//! Client errors carry their message; for 5xx the client gets a plain sentence and the full
//! error chain goes to the log, never into the body (it may name tables or hosts).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dashi_core::{Classify, Fault};
use serde_json::json;

/// Redash compat: unauthenticated API calls get 404 with this message, not 401.
pub(crate) const LOGIN_REQUIRED: &str = "Couldn't find resource. Please login and try again.";

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Not found.")
    }

    pub(crate) fn login_required() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, LOGIN_REQUIRED)
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

fn status_of(fault: Fault) -> StatusCode {
    match fault {
        Fault::Invalid => StatusCode::BAD_REQUEST,
        // Redash compat: see LOGIN_REQUIRED.
        Fault::Unauthenticated => StatusCode::NOT_FOUND,
        Fault::Forbidden => StatusCode::FORBIDDEN,
        Fault::NotFound => StatusCode::NOT_FOUND,
        Fault::Conflict => StatusCode::CONFLICT,
        Fault::Throttled => StatusCode::TOO_MANY_REQUESTS,
        Fault::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Fault::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<dashi_app::Error> for ApiError {
    fn from(error: dashi_app::Error) -> ApiError {
        let status = status_of(error.fault());
        let message = match error.fault() {
            Fault::Unavailable => {
                tracing::warn!(error = &error as &dyn std::error::Error, "dependency unavailable");
                "The metadata database is unavailable. Please try again shortly.".to_owned()
            }
            Fault::Internal => {
                tracing::error!(error = &error as &dyn std::error::Error, "request failed");
                "Internal server error.".to_owned()
            }
            _ => error.to_string(),
        };
        ApiError { status, message }
    }
}

impl From<dashi_store::Error> for ApiError {
    fn from(error: dashi_store::Error) -> ApiError {
        ApiError::from(dashi_app::Error::from(error))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "message": self.message }))).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
