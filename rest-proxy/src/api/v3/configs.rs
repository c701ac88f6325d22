//! `/v3/clusters/{c}/topics/{t}/configs`: list, get, update, reset, and the
//! `configs:alter` batch — IncrementalAlterConfigs underneath.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::brokers::synonyms;
use super::topics::existing_topic;
use super::{check_cluster, Urls};
use crate::api::{no_content, v3_json, AppState, BaseUrl, JsonBody};
use crate::error::{Error, Result};
use crate::kafka::{AlterOp, ConfigEntry, RESOURCE_TOPIC};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v3/clusters/{cluster}/topics/{topic}/configs",
            get(list_configs),
        )
        .route(
            "/v3/clusters/{cluster}/topics/{topic}/configs:alter",
            post(alter_configs),
        )
        .route(
            "/v3/clusters/{cluster}/topics/{topic}/configs/{name}",
            get(get_config).put(update_config).delete(reset_config),
        )
}

fn config_body(urls: &Urls, topic: &str, c: &ConfigEntry) -> Value {
    urls.resource(
        "KafkaTopicConfig",
        &format!("/topics/{topic}/configs/{}", c.name),
        &format!("/topic={topic}/config={}", c.name),
        json!({
            "cluster_id": urls.cluster,
            "topic_name": topic,
            "name": c.name,
            "value": if c.sensitive { None } else { c.value.clone() },
            "is_default": c.is_default(),
            "is_read_only": c.read_only,
            "is_sensitive": c.sensitive,
            "source": ConfigEntry::source_name(c.source),
            "synonyms": synonyms(c),
        }),
    )
}

async fn topic_configs(proxy: &AppState, topic: &str) -> Result<Vec<ConfigEntry>> {
    existing_topic(proxy, topic).await?;
    proxy
        .kafka
        .describe_configs(RESOURCE_TOPIC, topic, None)
        .await
}

async fn list_configs(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, topic)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let configs = topic_configs(&proxy, &topic).await?;
    let data = configs
        .iter()
        .map(|c| config_body(&urls, &topic, c))
        .collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list(
            "KafkaTopicConfigList",
            &format!("/topics/{topic}/configs"),
            data,
        ),
    ))
}

async fn get_config(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, topic, name)): Path<(String, String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let configs = topic_configs(&proxy, &topic).await?;
    let c = configs
        .iter()
        .find(|c| c.name == name)
        .ok_or(Error::NotFound)?;
    Ok(v3_json(StatusCode::OK, &config_body(&urls, &topic, c)))
}

#[derive(Deserialize)]
struct UpdateConfigRequest {
    value: Option<String>,
}

async fn update_config(
    State(proxy): State<AppState>,
    Path((cluster, topic, name)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<UpdateConfigRequest>,
) -> Result<Response> {
    check_cluster(&proxy, &cluster).await?;
    let value = body
        .and_then(|b| b.value)
        .ok_or_else(|| Error::BadRequest("value is required.".into()))?;
    existing_topic(&proxy, &topic).await?;
    proxy
        .kafka
        .alter_topic_configs(&topic, &[(name, AlterOp::Set, Some(value))], false)
        .await?;
    Ok(no_content())
}

async fn reset_config(
    State(proxy): State<AppState>,
    Path((cluster, topic, name)): Path<(String, String, String)>,
) -> Result<Response> {
    check_cluster(&proxy, &cluster).await?;
    existing_topic(&proxy, &topic).await?;
    proxy
        .kafka
        .alter_topic_configs(&topic, &[(name, AlterOp::Delete, None)], false)
        .await?;
    Ok(no_content())
}

#[derive(Deserialize)]
struct AlterEntry {
    name: String,
    value: Option<String>,
    operation: Option<String>,
}

#[derive(Deserialize)]
struct AlterBatchRequest {
    #[serde(default)]
    data: Vec<AlterEntry>,
    #[serde(default)]
    validate_only: bool,
}

async fn alter_configs(
    State(proxy): State<AppState>,
    Path((cluster, topic)): Path<(String, String)>,
    JsonBody(body): JsonBody<AlterBatchRequest>,
) -> Result<Response> {
    check_cluster(&proxy, &cluster).await?;
    let body = body.ok_or_else(|| Error::BadRequest("Request body is required.".into()))?;
    let mut changes = Vec::with_capacity(body.data.len());
    for e in body.data {
        let op = match e
            .operation
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("SET") => AlterOp::Set,
            Some("DELETE") => AlterOp::Delete,
            Some("APPEND") => AlterOp::Append,
            Some("SUBTRACT") => AlterOp::Subtract,
            Some(other) => {
                return Err(Error::BadRequest(format!(
                    "Unknown config operation: {other}"
                )))
            }
        };
        if op != AlterOp::Delete && e.value.is_none() {
            return Err(Error::BadRequest(format!(
                "A value is required for config {}",
                e.name
            )));
        }
        changes.push((e.name, op, e.value));
    }
    existing_topic(&proxy, &topic).await?;
    proxy
        .kafka
        .alter_topic_configs(&topic, &changes, body.validate_only)
        .await?;
    Ok(no_content())
}
