//! A connector's tasks: configs, status, restart; and the internal endpoint
//! through which the worker running a connector hands its task configs to
//! the leader.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value as Json;

use super::error::http_error;
use super::{empty, ok, props_from_body, AppState, JsonBody};
use crate::error::Error;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connectors/{c}/tasks", get(list).post(put_task_configs))
        .route("/connectors/{c}/tasks-config", get(tasks_config))
        .route("/connectors/{c}/tasks/{t}/status", get(status))
        .route("/connectors/{c}/tasks/{t}/restart", post(restart))
}

async fn list(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    Ok(ok(&app.herder.task_configs(&c)?))
}

async fn tasks_config(
    State(app): State<AppState>,
    Path(c): Path<String>,
) -> Result<Response, Error> {
    Ok(ok(&app.herder.tasks_config_map(&c)?))
}

async fn put_task_configs(
    State(app): State<AppState>,
    Path(c): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, Error> {
    let list = match body {
        Some(Json::Array(l)) => l,
        _ => {
            return Err(Error::BadRequest(
                "Task configurations must be a JSON array".into(),
            ))
        }
    };
    let tasks = list
        .iter()
        .map(props_from_body)
        .collect::<Result<Vec<_>, _>>()?;
    app.herder.put_task_configs(&c, tasks).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn status(
    State(app): State<AppState>,
    Path((c, t)): Path<(String, String)>,
) -> Result<Response, Error> {
    let Ok(t) = t.parse::<u32>() else {
        return Ok(http_error(StatusCode::NOT_FOUND));
    };
    Ok(ok(&app.herder.task_status(&c, t)?))
}

async fn restart(
    State(app): State<AppState>,
    Path((c, t)): Path<(String, String)>,
) -> Result<Response, Error> {
    let Ok(t) = t.parse::<u32>() else {
        return Ok(http_error(StatusCode::NOT_FOUND));
    };
    app.herder.restart_task(&c, t).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
