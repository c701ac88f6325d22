//! The one place where errors become HTTP answers: status code and
//! Connect's `{"error_code":<status>,"message":"..."}` body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;

/// A response that must be sent to another worker (the leader, or the
/// worker running a task): the forwarding middleware picks it up.
#[derive(Clone, Debug)]
pub struct ForwardTo(pub String);

pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::AlreadyExists(_) | Error::Conflict(_) => StatusCode::CONFLICT,
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotLeader(_) => StatusCode::CONFLICT,
        Error::Data(_)
        | Error::Connect(_)
        | Error::Retriable(_)
        | Error::Kafka(_)
        | Error::Config(_)
        | Error::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `{"error_code","message"}` with the given status.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    super::json_response(
        status,
        &json!({"error_code": status.as_u16(), "message": message}),
    )
}

/// Jersey's answer for unknown paths and methods: `HTTP 404 Not Found`.
pub fn http_error(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    error_response(status, &format!("HTTP {} {reason}", status.as_u16()))
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::NotLeader(url) = &self {
            let mut r = error_response(StatusCode::CONFLICT, super::super::herder::REBALANCING);
            r.extensions_mut().insert(ForwardTo(url.clone()));
            return r;
        }
        let status = status_of(&self);
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        error_response(status, &self.to_string())
    }
}
