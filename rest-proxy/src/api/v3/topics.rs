//! `/v3/clusters/{c}/topics`: list, create, get, delete.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{check_cluster, Urls};
use crate::api::{no_content, v3_json, AppState, BaseUrl, JsonBody};
use crate::error::{Error, Result};
use crate::kafka::TopicMeta;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v3/clusters/{cluster}/topics",
            get(list_topics).post(create_topic),
        )
        .route(
            "/v3/clusters/{cluster}/topics/{topic}",
            get(get_topic).delete(delete_topic),
        )
}

/// A topic as v3 shows it.
pub fn topic_body(urls: &Urls, t: &TopicMeta) -> Value {
    let name = &t.name;
    urls.resource(
        "KafkaTopic",
        &format!("/topics/{name}"),
        &format!("/topic={name}"),
        json!({
            "cluster_id": urls.cluster,
            "topic_name": name,
            "is_internal": t.is_internal(),
            "replication_factor": t.replication_factor(),
            "partitions_count": t.partitions.len(),
            "partitions": urls.related(&format!("/topics/{name}/partitions")),
            "configs": urls.related(&format!("/topics/{name}/configs")),
            "partition_reassignments": urls.related(&format!("/topics/{name}/partitions/-/reassignment")),
            "authorized_operations": [],
        }),
    )
}

/// A topic that exists, or 404 / 40403 (Kafka's `UnknownTopicOrPartitionException`).
pub async fn existing_topic(proxy: &AppState, topic: &str) -> Result<TopicMeta> {
    proxy
        .kafka
        .topic(topic)
        .await?
        .ok_or(Error::UnknownTopicOrPartition)
}

async fn list_topics(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(cluster): Path<String>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let md = proxy.kafka.metadata(None).await?;
    let data = md.topics.iter().map(|t| topic_body(&urls, t)).collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list("KafkaTopicList", "/topics", data),
    ))
}

#[derive(Deserialize)]
struct ConfigPair {
    name: String,
    value: Option<String>,
}

#[derive(Deserialize)]
struct CreateTopicRequest {
    topic_name: Option<String>,
    partitions_count: Option<i32>,
    replication_factor: Option<i32>,
    #[serde(default)]
    configs: Vec<ConfigPair>,
    #[serde(default)]
    validate_only: bool,
}

async fn create_topic(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(cluster): Path<String>,
    JsonBody(body): JsonBody<CreateTopicRequest>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let body = body.ok_or_else(|| Error::BadRequest("Request body is required.".into()))?;
    let name = body
        .topic_name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::BadRequest("topic_name is required.".into()))?;
    let configs: Vec<(String, String)> = body
        .configs
        .into_iter()
        .filter_map(|c| c.value.map(|v| (c.name, v)))
        .collect();
    proxy
        .kafka
        .create_topic(
            &name,
            body.partitions_count,
            body.replication_factor,
            &configs,
            body.validate_only,
        )
        .await?;
    let meta = if body.validate_only {
        let partitions = body.partitions_count.unwrap_or(1).max(0);
        let rf = body.replication_factor.unwrap_or(1).max(0) as usize;
        TopicMeta {
            name: name.clone(),
            partitions: (0..partitions)
                .map(|p| crate::kafka::PartitionMeta {
                    id: p,
                    leader: -1,
                    replicas: vec![-1; rf],
                    isr: Vec::new(),
                })
                .collect(),
        }
    } else {
        wait_for_topic(&proxy, &name).await?
    };
    Ok(v3_json(StatusCode::CREATED, &topic_body(&urls, &meta)))
}

/// A created topic shows up in metadata shortly after CreateTopics answers.
async fn wait_for_topic(proxy: &AppState, name: &str) -> Result<TopicMeta> {
    let deadline = tokio::time::Instant::now() + proxy.kafka.timeout;
    loop {
        if let Some(t) = proxy.kafka.topic(name).await? {
            if !t.partitions.is_empty() {
                return Ok(t);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Kafka {
                message: format!("topic {name} created but not yet in metadata"),
                retriable: true,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn get_topic(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, topic)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let meta = existing_topic(&proxy, &topic).await?;
    Ok(v3_json(StatusCode::OK, &topic_body(&urls, &meta)))
}

async fn delete_topic(
    State(proxy): State<AppState>,
    Path((cluster, topic)): Path<(String, String)>,
) -> Result<Response> {
    check_cluster(&proxy, &cluster).await?;
    existing_topic(&proxy, &topic).await?;
    proxy.kafka.delete_topic(&topic).await?;
    Ok(no_content())
}
