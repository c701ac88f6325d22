//! `/mode` and `/mode/{subject}`: READWRITE, READONLY, READONLY_OVERRIDE and
//! IMPORT (registering with given ids and versions; on a registry that
//! already has schemas only with `force=true`).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use super::{flag, ok, AppState, JsonBody, Params};
use crate::error::{Error, Result};
use crate::store::Mode;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/mode",
            get(get_global).put(put_global).delete(delete_global),
        )
        .route(
            "/mode/{subject}",
            get(get_subject).put(put_subject).delete(delete_subject),
        )
}

#[derive(Deserialize)]
struct ModeUpdate {
    #[serde(default)]
    mode: Option<String>,
}

#[derive(Serialize)]
struct ModeBody {
    mode: &'static str,
}

fn answer(m: Mode) -> Response {
    ok(&ModeBody { mode: m.as_str() })
}

async fn get_global(State(app): State<AppState>) -> Result<Response> {
    Ok(answer(app.registry.get_mode(None, true)?))
}

async fn get_subject(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response> {
    Ok(answer(
        app.registry
            .get_mode(Some(&subject), flag(&q, "defaultToGlobal"))?,
    ))
}

async fn put(
    app: AppState,
    subject: Option<&str>,
    body: Option<ModeUpdate>,
    force: bool,
) -> Result<Response> {
    let mode = body.and_then(|b| b.mode).ok_or(Error::InvalidMode)?;
    Ok(answer(app.registry.set_mode(subject, &mode, force).await?))
}

async fn put_global(
    State(app): State<AppState>,
    Query(q): Query<Params>,
    JsonBody(body): JsonBody<ModeUpdate>,
) -> Result<Response> {
    put(app, None, body, flag(&q, "force")).await
}

async fn put_subject(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<Params>,
    JsonBody(body): JsonBody<ModeUpdate>,
) -> Result<Response> {
    put(app, Some(&subject), body, flag(&q, "force")).await
}

async fn delete_global(State(app): State<AppState>) -> Result<Response> {
    Ok(answer(app.registry.delete_mode(None).await?))
}

async fn delete_subject(
    State(app): State<AppState>,
    Path(subject): Path<String>,
) -> Result<Response> {
    Ok(answer(app.registry.delete_mode(Some(&subject)).await?))
}
