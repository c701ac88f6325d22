//! The HTTP API, path for path as Confluent's REST Proxy serves it.
//!
//! - [`v2`] — `/topics`, `/brokers`, `/consumers` — answers are
//!   `application/vnd.kafka.v2+json`.
//! - [`v3`] — `/v3/clusters/...` — answers are `application/json`, resources
//!   carry `kind`, `metadata.self`/`resource_name` and `related` links.
//! - `GET /` and `GET /metrics` (Prometheus text).
//!
//! Errors are `{"error_code","message"}` ([`crate::error`]), in the content
//! type of the API they answer.

pub mod v2;
pub mod v3;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{http_error, Error};
use crate::Proxy;

/// Content type of v2 answers.
pub const V2_JSON: &str = "application/vnd.kafka.v2+json";
/// Content type of v3 answers.
pub const V3_JSON: &str = "application/json";

/// Shared by all handlers.
pub type AppState = Arc<Proxy>;

/// The whole API.
pub fn router(proxy: Arc<Proxy>) -> Router {
    let max_body = proxy.config.max_request_bytes;
    Router::new()
        .route("/", get(root))
        .route("/metrics", get(metrics))
        .merge(v2::routes())
        .merge(v3::routes())
        .route_layer(axum::middleware::from_fn(remember_route))
        .fallback(|| async { http_error(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { http_error(StatusCode::METHOD_NOT_ALLOWED) })
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(proxy.clone(), observe))
        .with_state(proxy)
}

/// Per request: a tracing span, the request counter, and v2's content type
/// on JSON answers outside `/v3`.
async fn observe(
    State(proxy): State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    use tracing::Instrument;
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let span = tracing::debug_span!("request", %method, %path);
    let mut response = next.run(req).instrument(span).await;
    let status = response.status().as_u16();
    let endpoint = response
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    proxy.metrics.request(&method, &endpoint, status);
    if !path.starts_with("/v3") {
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == V3_JSON.as_bytes());
        if is_json {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(V2_JSON));
        }
    }
    tracing::debug!(status, "answered");
    response
}

/// Routing happens inside the outer middleware: hand the matched route out
/// on the response.
async fn remember_route(req: Request, next: axum::middleware::Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(req).await;
    if let Some(m) = matched {
        response.extensions_mut().insert(m);
    }
    response
}

async fn root() -> Response {
    v2_json(StatusCode::OK, &serde_json::json!({}))
}

async fn metrics(State(proxy): State<AppState>) -> Response {
    let body = proxy.metrics.render(proxy.consumer_instance_count());
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}

fn json_with(status: StatusCode, content_type: &'static str, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            bytes,
        )
            .into_response(),
        Err(e) => Error::Internal(e.to_string()).into_response(),
    }
}

/// A v2 JSON answer.
pub fn v2_json(status: StatusCode, body: &impl Serialize) -> Response {
    json_with(status, V2_JSON, body)
}

/// A v3 JSON answer.
pub fn v3_json(status: StatusCode, body: &impl Serialize) -> Response {
    json_with(status, V3_JSON, body)
}

/// 204 No Content.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The request's `Content-Type`, lower-cased, parameters dropped.
pub fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// A JSON request body: `None` when empty; malformed JSON is 400, JSON of
/// the wrong shape 422 (as Confluent's Jackson mappers answer).
pub struct JsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::BodyTooLarge
            } else {
                Error::BadRequest(e.body_text())
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parse a JSON body (see [`JsonBody`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::BadRequest(format!("Unexpected JSON input: {e}")))?;
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| Error::Unprocessable(format!("Invalid request body: {e}")))
}

/// The base of absolute URLs in answers: `advertised.listeners` when set,
/// else `http://` + the request's `Host`.
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, proxy: &AppState) -> Result<Self, Error> {
        if let Some(url) = &proxy.config.advertised_url {
            return Ok(BaseUrl(url.clone()));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "localhost".to_string());
        Ok(BaseUrl(format!("http://{host}")))
    }
}

/// Query parameters.
pub type Params = HashMap<String, String>;
