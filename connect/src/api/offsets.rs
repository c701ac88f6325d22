//! `GET|PATCH|DELETE /connectors/{c}/offsets` (KIP-875).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value as Json;

use super::{ok, AppState, JsonBody};
use crate::error::Error;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/connectors/{c}/offsets",
        get(list).patch(alter).delete(reset),
    )
}

async fn list(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    Ok(ok(&app.herder.connector_offsets(&c).await?))
}

async fn alter(
    State(app): State<AppState>,
    Path(c): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, Error> {
    Ok(ok(&app
        .herder
        .alter_offsets(&c, &body.unwrap_or(Json::Null))
        .await?))
}

async fn reset(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    Ok(ok(&app.herder.reset_offsets(&c).await?))
}
