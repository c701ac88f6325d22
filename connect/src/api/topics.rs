//! `GET /connectors/{c}/topics` and `PUT /connectors/{c}/topics/reset` (KIP-558).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;

use super::{empty, ok, AppState};
use crate::error::Error;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connectors/{c}/topics", get(topics))
        .route("/connectors/{c}/topics/reset", put(reset))
}

async fn topics(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    Ok(ok(&app.herder.active_topics(&c)?))
}

async fn reset(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    app.herder.reset_active_topics(&c)?;
    Ok(empty(StatusCode::ACCEPTED))
}
