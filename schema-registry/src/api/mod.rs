//! The REST API, path for path as Confluent's Schema Registry serves it.
//!
//! - [`subjects`] — `/subjects...` (list, register, lookup, versions, delete, referencedby)
//! - [`schemas`] — `/schemas...` (by id, types, list)
//! - [`config`], [`mode`] — `/config[/{subject}]`, `/mode[/{subject}]`
//! - [`compatibility`] — `/compatibility/subjects/{subject}/versions[/{version}]`
//! - [`forward`] — followers forward writes to the leader
//! - [`error`] — errors → HTTP status + `{"error_code","message"}`
//!
//! Request bodies are read as JSON whatever their content type
//! (`application/vnd.schemaregistry.v1+json`, `application/vnd.schemaregistry+json`,
//! `application/json`, ...); answers are `application/vnd.schemaregistry.v1+json`.

pub mod compatibility;
pub mod config;
pub mod error;
pub mod forward;
pub mod mode;
pub mod schemas;
pub mod subjects;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;
use crate::registry::Registry;

/// The content type of every answer.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub registry: Arc<Registry>,
    pub http: reqwest::Client,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let max_body = state.registry.config().max_request_bytes;
    Router::new()
        .route("/", get(root))
        .merge(subjects::routes())
        .merge(schemas::routes())
        .merge(config::routes())
        .merge(mode::routes())
        .merge(compatibility::routes())
        .route("/contexts", get(contexts))
        .route("/v1/metadata/id", get(metadata_id))
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forward::forward_writes,
        ))
        .fallback(|| async { error::http_error(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { error::http_error(StatusCode::METHOD_NOT_ALLOWED) })
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
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

async fn root() -> Response {
    json_response(StatusCode::OK, &serde_json::json!({}))
}

async fn contexts(axum::extract::State(app): axum::extract::State<AppState>) -> Response {
    ok(&app.registry.contexts())
}

async fn metadata_id(axum::extract::State(app): axum::extract::State<AppState>) -> Response {
    ok(&serde_json::json!({
        "scope": {"path": [], "clusters": {"kafka-cluster": "strom", "schema-registry-cluster": app.registry.config().group_id}}
    }))
}

/// Prometheus text: a few gauges read from the image and the election.
async fn metrics(axum::extract::State(app): axum::extract::State<AppState>) -> Response {
    let r = &app.registry;
    let subjects = r.subjects(None, false, false).len();
    let versions = r.list_schemas(None, false, false).len();
    let leader = u8::from(r.leader().current() == crate::leader::Leader::Me);
    let body = format!(
        "# HELP strom_schema_registry_subjects Subjects with at least one live version.\n\
         # TYPE strom_schema_registry_subjects gauge\n\
         strom_schema_registry_subjects {subjects}\n\
         # HELP strom_schema_registry_schema_versions Live subject versions.\n\
         # TYPE strom_schema_registry_schema_versions gauge\n\
         strom_schema_registry_schema_versions {versions}\n\
         # HELP strom_schema_registry_is_leader 1 if this instance is the leader.\n\
         # TYPE strom_schema_registry_is_leader gauge\n\
         strom_schema_registry_is_leader {leader}\n"
    );
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

/// A JSON answer with the registry's content type.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            bytes,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// 200 with a JSON body.
pub fn ok<T: Serialize + ?Sized>(body: &T) -> Response {
    json_response(StatusCode::OK, body)
}

/// A schema text as the body (the `/schema` endpoints).
pub fn raw_schema(text: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        text,
    )
        .into_response()
}

/// A JSON request body of any content type; `None` when the body is empty.
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
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| JsonBody(Some(v)))
            .map_err(|e| Error::BadRequest(format!("Unrecognized JSON body: {e}")))
    }
}

/// Query parameters.
pub type Params = HashMap<String, String>;

/// A boolean query flag (`true`, any case); absent or anything else is false.
pub fn flag(params: &Params, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}
