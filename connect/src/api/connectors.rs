//! `/connectors` and a connector's config, status and lifecycle.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{Map, Value as Json};

use super::{
    empty, json_response, ok, props_from_body, query_flag, query_pairs, AppState, JsonBody,
};
use crate::error::Error;
use crate::storage::config::TargetState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connectors", get(list).post(create))
        .route("/connectors/", get(list).post(create))
        .route("/connectors/{c}", get(info).delete(destroy))
        .route(
            "/connectors/{c}/config",
            get(config).put(put_config).patch(patch_config),
        )
        .route("/connectors/{c}/status", get(status))
        .route("/connectors/{c}/restart", post(restart))
        .route("/connectors/{c}/pause", put(pause))
        .route("/connectors/{c}/resume", put(resume))
        .route("/connectors/{c}/stop", put(stop))
}

/// `GET /connectors[?expand=status&expand=info]`.
async fn list(State(app): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let expansions: Vec<String> = query_pairs(q.as_deref())
        .into_iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v)
        .collect();
    let h = &app.herder;
    if expansions.is_empty() && !query_pairs(q.as_deref()).iter().any(|(k, _)| k == "expand") {
        return ok(&h.connectors());
    }
    let mut out = Map::new();
    for name in h.connectors() {
        let mut e = Map::new();
        for x in &expansions {
            match x.as_str() {
                "status" => {
                    if let Ok(s) = h.connector_status(&name) {
                        e.insert("status".into(), s);
                    }
                }
                "info" => {
                    if let Ok(i) = h.connector_info(&name) {
                        e.insert("info".into(), i);
                    }
                }
                other => tracing::info!(expansion = other, "Ignoring unknown expansion type"),
            }
        }
        out.insert(name, Json::Object(e));
    }
    ok(&Json::Object(out))
}

fn created(info: &Json, name: &str) -> Response {
    let mut r = json_response(StatusCode::CREATED, info);
    if let Ok(v) = HeaderValue::from_str(&format!("/connectors/{name}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Check a `name` in the config against the URL's, or add it (Connect's `checkAndPutConnectorConfigName`).
fn check_name(name: &str, config: &mut crate::config::Props) -> Result<(), Error> {
    match config.get("name") {
        Some(n) if n != name => Err(Error::BadRequest(format!(
            "Connector name configuration ({n}) doesn't match connector name in the URL ({name})"
        ))),
        Some(_) => Ok(()),
        None => {
            config.insert("name".into(), name.to_string());
            Ok(())
        }
    }
}

/// `POST /connectors` `{"name","config","initial_state"}`.
async fn create(State(app): State<AppState>, JsonBody(body): JsonBody) -> Result<Response, Error> {
    let body = body.ok_or_else(|| Error::BadRequest("Request body is required".into()))?;
    let name = body
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let mut config = props_from_body(body.get("config").ok_or_else(|| {
        Error::BadRequest("Connector configuration (config) must be provided".into())
    })?)?;
    let initial = match body.get("initial_state").and_then(Json::as_str) {
        None => None,
        Some("RUNNING") => Some(TargetState::Started),
        Some("PAUSED") => Some(TargetState::Paused),
        Some("STOPPED") => Some(TargetState::Stopped),
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "Invalid initial state {other}; must be one of RUNNING, PAUSED, STOPPED"
            )))
        }
    };
    check_name(&name, &mut config)?;
    let c = app
        .herder
        .put_connector_config(&name, config, false, initial)
        .await?;
    Ok(created(&c.info, &name))
}

async fn info(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    Ok(ok(&app.herder.connector_info(&c)?))
}

async fn destroy(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    app.herder.delete_connector(&c).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn config(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    Ok(ok(&app.herder.connector_config(&c)?))
}

/// `PUT /connectors/{c}/config`: 201 when it creates, 200 when it updates.
async fn put_config(
    State(app): State<AppState>,
    Path(c): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, Error> {
    let mut config = props_from_body(&body.unwrap_or(Json::Null))?;
    check_name(&c, &mut config)?;
    let r = app
        .herder
        .put_connector_config(&c, config, true, None)
        .await?;
    Ok(if r.created {
        created(&r.info, &c)
    } else {
        ok(&r.info)
    })
}

/// `PATCH /connectors/{c}/config` (KIP-477).
async fn patch_config(
    State(app): State<AppState>,
    Path(c): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, Error> {
    let patch = match body {
        Some(Json::Object(m)) => m,
        _ => {
            return Err(Error::BadRequest(
                "Connector configuration must be a JSON object".into(),
            ))
        }
    };
    Ok(ok(&app.herder.patch_connector_config(&c, patch).await?))
}

async fn status(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    Ok(ok(&app.herder.connector_status(&c)?))
}

/// `POST /connectors/{c}/restart[?includeTasks=&onlyFailed=]`.
async fn restart(
    State(app): State<AppState>,
    Path(c): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Error> {
    let include_tasks = query_flag(q.as_deref(), "includeTasks").unwrap_or(false);
    let only_failed = query_flag(q.as_deref(), "onlyFailed").unwrap_or(false);
    match app
        .herder
        .restart_connector(&c, include_tasks, only_failed)
        .await?
    {
        None => Ok(empty(StatusCode::NO_CONTENT)),
        Some(state) => Ok(json_response(StatusCode::ACCEPTED, &state)),
    }
}

async fn pause(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    app.herder.pause_connector(&c).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

async fn resume(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    app.herder.resume_connector(&c).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

async fn stop(State(app): State<AppState>, Path(c): Path<String>) -> Result<Response, Error> {
    app.herder.stop_connector(&c).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
