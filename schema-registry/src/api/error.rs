//! The one place where registry errors become HTTP answers: status code and
//! Confluent's `{"error_code":N,"message":"..."}` body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::Error;

/// Confluent's error body.
#[derive(Serialize)]
pub struct ErrorBody {
    pub error_code: i32,
    pub message: String,
}

/// HTTP status and Confluent error code for an error.
pub fn status_and_code(e: &Error) -> (StatusCode, i32) {
    use Error::*;
    match e {
        SubjectNotFound(_) => (StatusCode::NOT_FOUND, 40401),
        VersionNotFound(_) => (StatusCode::NOT_FOUND, 40402),
        SchemaNotFound | SchemaIdNotFound(_) => (StatusCode::NOT_FOUND, 40403),
        SubjectSoftDeleted(_) => (StatusCode::NOT_FOUND, 40404),
        SubjectNotSoftDeleted(_) => (StatusCode::NOT_FOUND, 40405),
        VersionSoftDeleted(..) => (StatusCode::NOT_FOUND, 40406),
        VersionNotSoftDeleted(..) => (StatusCode::NOT_FOUND, 40407),
        SubjectCompatibilityNotConfigured(_) => (StatusCode::NOT_FOUND, 40408),
        SubjectModeNotConfigured(_) => (StatusCode::NOT_FOUND, 40409),
        IncompatibleSchema { .. } => (StatusCode::CONFLICT, 409),
        InvalidSchema(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
        InvalidVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
        InvalidCompatibilityLevel => (StatusCode::UNPROCESSABLE_ENTITY, 42203),
        InvalidMode => (StatusCode::UNPROCESSABLE_ENTITY, 42204),
        OperationNotPermitted(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42205),
        ReferenceExists(..) => (StatusCode::UNPROCESSABLE_ENTITY, 42206),
        IdDoesNotMatch { .. } => (StatusCode::UNPROCESSABLE_ENTITY, 42207),
        InvalidSubject(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42208),
        BadRequest(_) => (StatusCode::BAD_REQUEST, 400),
        BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, 413),
        Store(_) | Config(_) | Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
        Timeout(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50002),
        ForwardingFailed(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50003),
        UnknownLeader => (StatusCode::INTERNAL_SERVER_ERROR, 50004),
        Remote {
            status, error_code, ..
        } => (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            *error_code,
        ),
        Http(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
    }
}

/// An answer with a plain HTTP error (`error_code` = the status), as Jersey
/// gives for unknown paths and methods.
pub fn http_error(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    super::json_response(
        status,
        &ErrorBody {
            error_code: i32::from(status.as_u16()),
            message: format!("HTTP {} {reason}", status.as_u16()),
        },
    )
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, error_code) = status_and_code(&self);
        if status.is_server_error() {
            tracing::warn!(error_code, error = %self, "request failed");
        }
        let mut response = super::json_response(
            status,
            &ErrorBody {
                error_code,
                message: self.to_string(),
            },
        );
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read: the connection cannot be reused.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}
