//! `/compatibility/subjects/{subject}/versions[/{version}]`: would this
//! schema be accepted? `{"is_compatible":bool}`, plus `"messages"` with
//! `verbose=true`.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::Serialize;

use super::subjects::SchemaBody;
use super::{flag, ok, AppState, JsonBody, Params};
use crate::error::Result;
use crate::registry::VersionId;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(against_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(against_one),
        )
}

#[derive(Serialize)]
struct CompatibilityResult {
    is_compatible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<String>>,
}

fn answer(messages: Vec<String>, verbose: bool) -> Response {
    ok(&CompatibilityResult {
        is_compatible: messages.is_empty(),
        messages: verbose.then_some(messages),
    })
}

async fn against_all(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<Params>,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Response> {
    let request = body.unwrap_or_default().into_request()?;
    let messages = app.registry.test_compatibility(&subject, None, &request)?;
    Ok(answer(messages, flag(&q, "verbose")))
}

async fn against_one(
    State(app): State<AppState>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Query<Params>,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Response> {
    let version = VersionId::parse(&version)?;
    let request = body.unwrap_or_default().into_request()?;
    let messages = app
        .registry
        .test_compatibility(&subject, Some(version), &request)?;
    Ok(answer(messages, flag(&q, "verbose")))
}
