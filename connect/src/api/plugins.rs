//! `/connector-plugins`: the plugin list, a plugin's config definition, and
//! config validation with per-field errors.

use axum::extract::{Path, RawQuery};
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use serde_json::Value as Json;

use super::{ok, props_from_body, query_flag, AppState, JsonBody};
use crate::error::Error;
use crate::herder::validate;
use crate::plugins;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/connector-plugins", get(list))
        .route("/connector-plugins/", get(list))
        .route("/connector-plugins/{p}/config", get(config))
        .route(
            "/connector-plugins/{p}/config/validate",
            put(validate_config),
        )
}

/// `GET /connector-plugins[?connectorsOnly=false]`.
async fn list(RawQuery(q): RawQuery) -> Response {
    let connectors_only = query_flag(q.as_deref(), "connectorsOnly").unwrap_or(true);
    ok(&plugins::plugin_list(connectors_only))
}

async fn config(Path(p): Path<String>) -> Result<Response, Error> {
    let def = plugins::plugin_config_def(&p)
        .ok_or_else(|| Error::NotFound(format!("Unknown plugin {p}.")))?;
    Ok(ok(&def.keys.iter().map(|k| k.info()).collect::<Vec<_>>()))
}

fn simple_name(name: &str) -> String {
    name.rsplit('.')
        .next()
        .unwrap_or(name)
        .trim_end_matches("Connector")
        .to_string()
}

/// `PUT /connector-plugins/{p}/config/validate`: always 200 with the
/// per-field answer, unless the class itself is unusable (400).
async fn validate_config(
    Path(p): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, Error> {
    let mut props = props_from_body(&body.unwrap_or(Json::Object(Default::default())))?;
    if let Some(included) = props.get("connector.class") {
        if !simple_name(included).ends_with(&simple_name(&p))
            && simple_name(included) != simple_name(&p)
        {
            return Err(Error::BadRequest(format!(
                "Included connector type {included} does not match request type {p}"
            )));
        }
    }
    props.insert("connector.class".into(), p.clone());
    let infos = validate::validate(&props)?;
    Ok(ok(&infos.to_json()))
}
