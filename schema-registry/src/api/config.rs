//! `/config` and `/config/{subject}`: compatibility levels (and `normalize`).
//! GET answers `{"compatibilityLevel":...}`; PUT takes and answers
//! `{"compatibility":...}`; DELETE answers the configuration it removed.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use super::{flag, ok, AppState, JsonBody, Params};
use crate::error::{Error, Result};
use crate::registry::EffectiveConfig;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/config",
            get(get_global).put(put_global).delete(delete_global),
        )
        .route(
            "/config/{subject}",
            get(get_subject).put(put_subject).delete(delete_subject),
        )
}

#[derive(Deserialize)]
struct ConfigUpdate {
    #[serde(default)]
    compatibility: Option<String>,
    #[serde(rename = "compatibilityLevel", default)]
    compatibility_level: Option<String>,
    #[serde(default)]
    normalize: Option<bool>,
}

#[derive(Serialize)]
struct ConfigGet {
    #[serde(rename = "compatibilityLevel")]
    compatibility_level: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    normalize: Option<bool>,
}

impl From<EffectiveConfig> for ConfigGet {
    fn from(c: EffectiveConfig) -> Self {
        ConfigGet {
            compatibility_level: c.compatibility_level.to_string(),
            normalize: c.normalize,
        }
    }
}

#[derive(Serialize)]
struct ConfigPut {
    compatibility: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    normalize: Option<bool>,
}

async fn get_global(State(app): State<AppState>) -> Result<Response> {
    Ok(ok(&ConfigGet::from(app.registry.get_config(None, true)?)))
}

async fn get_subject(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    Query(q): Query<Params>,
) -> Result<Response> {
    let c = app
        .registry
        .get_config(Some(&subject), flag(&q, "defaultToGlobal"))?;
    Ok(ok(&ConfigGet::from(c)))
}

async fn put(app: AppState, subject: Option<&str>, body: Option<ConfigUpdate>) -> Result<Response> {
    let body = body.ok_or(Error::InvalidCompatibilityLevel)?;
    let level = body.compatibility.or(body.compatibility_level);
    let c = app
        .registry
        .set_config(subject, level.as_deref(), body.normalize)
        .await?;
    Ok(ok(&ConfigPut {
        compatibility: c.compatibility_level.to_string(),
        normalize: body.normalize,
    }))
}

async fn put_global(
    State(app): State<AppState>,
    JsonBody(body): JsonBody<ConfigUpdate>,
) -> Result<Response> {
    put(app, None, body).await
}

async fn put_subject(
    State(app): State<AppState>,
    Path(subject): Path<String>,
    JsonBody(body): JsonBody<ConfigUpdate>,
) -> Result<Response> {
    put(app, Some(&subject), body).await
}

async fn delete_global(State(app): State<AppState>) -> Result<Response> {
    Ok(ok(&ConfigGet::from(
        app.registry.delete_config(None).await?,
    )))
}

async fn delete_subject(
    State(app): State<AppState>,
    Path(subject): Path<String>,
) -> Result<Response> {
    Ok(ok(&ConfigGet::from(
        app.registry.delete_config(Some(&subject)).await?,
    )))
}
