//! The REST API, path for path as Kafka Connect serves it (port 8083).
//!
//! - [`root`] — `GET /`, `GET /metrics`
//! - [`connectors`] — `/connectors`, `/connectors/{c}`, `…/config`, `…/status`,
//!   `…/restart`, `…/pause`, `…/resume`, `…/stop`
//! - [`tasks`] — `…/tasks`, `…/tasks-config`, `…/tasks/{t}/status`, `…/tasks/{t}/restart`
//! - [`topics`] — `…/topics`, `…/topics/reset`
//! - [`offsets`] — `…/offsets` (KIP-875)
//! - [`plugins`] — `/connector-plugins`, `…/{p}/config`, `…/{p}/config/validate`
//! - [`forward`] — a request that belongs to another worker is forwarded
//! - [`error`] — errors → HTTP status + `{"error_code","message"}`

pub mod connectors;
pub mod error;
pub mod forward;
pub mod offsets;
pub mod plugins;
pub mod root;
pub mod tasks;
pub mod topics;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::Error;
use crate::herder::Herder;

/// The largest request body accepted.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub herder: Arc<Herder>,
    pub http: reqwest::Client,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(root::routes())
        .merge(connectors::routes())
        .merge(tasks::routes())
        .merge(topics::routes())
        .merge(offsets::routes())
        .merge(plugins::routes())
        .fallback(|| async { error::http_error(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { error::http_error(StatusCode::METHOD_NOT_ALLOWED) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forward::forward,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(request_span))
        .with_state(state)
}

/// One tracing span per request; the outcome logged at debug level.
async fn request_span(req: Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    let span = tracing::debug_span!("request", method = %req.method(), path = %req.uri().path());
    async move {
        let response = next.run(req).await;
        tracing::debug!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// A JSON answer.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

pub fn ok<T: Serialize + ?Sized>(body: &T) -> Response {
    json_response(StatusCode::OK, body)
}

/// An answer without a body.
pub fn empty(status: StatusCode) -> Response {
    status.into_response()
}

/// A JSON request body of any content type; `None` when empty.
pub struct JsonBody(pub Option<Json>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::BadRequest(e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| JsonBody(Some(v)))
            .map_err(|e| Error::BadRequest(format!("Unrecognized JSON body: {e}")))
    }
}

/// Query parameters in order (repeats kept: `expand=status&expand=info`).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// A boolean query flag; `None` when absent.
pub fn query_flag(query: Option<&str>, name: &str) -> Option<bool> {
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.eq_ignore_ascii_case("true"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON object of config values as Connect's `Map<String,String>` reads it:
/// strings as they are, other scalars as their text; `null` values are
/// refused (as Connect's validation does).
pub fn props_from_body(v: &Json) -> Result<crate::config::Props, Error> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::BadRequest("Connector configuration must be a JSON object".into()))?;
    let mut out = crate::config::Props::new();
    let mut nulls = 0;
    for (k, v) in obj {
        match v {
            Json::String(s) => {
                out.insert(k.clone(), s.clone());
            }
            Json::Null => nulls += 1,
            other => {
                out.insert(k.clone(), other.to_string());
            }
        }
    }
    if nulls > 0 {
        let mut msg = format!(
            "Connector configuration is invalid and contains the following {nulls} error(s):"
        );
        for _ in 0..nulls {
            msg.push_str("\nNull value can not be supplied as the configuration value.");
        }
        msg.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
        return Err(Error::BadRequest(msg));
    }
    Ok(out)
}
