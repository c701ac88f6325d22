//! v2 metadata: topics, partitions, their offsets, brokers.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::json;

use crate::api::{v2_json, AppState};
use crate::error::{Error, Result};
use crate::kafka::{PartitionMeta, TopicMeta, RESOURCE_TOPIC};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/topics", get(list_topics))
        .route("/topics/{topic}", get(get_topic))
        .route("/topics/{topic}/partitions", get(list_partitions))
        .route("/topics/{topic}/partitions/{partition}", get(get_partition))
        .route(
            "/topics/{topic}/partitions/{partition}/offsets",
            get(partition_offsets),
        )
        .route("/brokers", get(list_brokers))
}

#[derive(Serialize)]
struct Replica {
    broker: i32,
    leader: bool,
    in_sync: bool,
}

#[derive(Serialize)]
struct Partition {
    partition: i32,
    leader: i32,
    replicas: Vec<Replica>,
}

fn partition_body(p: &PartitionMeta) -> Partition {
    Partition {
        partition: p.id,
        leader: p.leader,
        replicas: p
            .replicas
            .iter()
            .map(|&b| Replica {
                broker: b,
                leader: b == p.leader,
                in_sync: p.isr.contains(&b),
            })
            .collect(),
    }
}

/// A topic that exists, or 40401.
pub async fn existing_topic(proxy: &AppState, topic: &str) -> Result<TopicMeta> {
    proxy.kafka.topic(topic).await?.ok_or(Error::TopicNotFound)
}

/// The topic of a produce: created first where the broker auto-creates
/// topics, as a Kafka producer would have it; else 40401.
pub async fn produce_topic(proxy: &AppState, topic: &str) -> Result<TopicMeta> {
    proxy
        .kafka
        .topic_for_produce(topic)
        .await?
        .ok_or(Error::TopicNotFound)
}

/// A partition id of the path, or 40402.
pub fn partition_id(topic: &TopicMeta, partition: &str) -> Result<i32> {
    partition
        .parse::<i32>()
        .ok()
        .filter(|p| topic.partition(*p).is_some())
        .ok_or(Error::PartitionNotFound)
}

/// Topic names, internal topics left out (as Kafka's `listTopics()` does).
async fn list_topics(State(proxy): State<AppState>) -> Result<Response> {
    let md = proxy.kafka.metadata(None).await?;
    let names: Vec<&str> = md
        .topics
        .iter()
        .filter(|t| !t.is_internal())
        .map(|t| t.name.as_str())
        .collect();
    Ok(v2_json(StatusCode::OK, &names))
}

async fn get_topic(State(proxy): State<AppState>, Path(topic): Path<String>) -> Result<Response> {
    let meta = existing_topic(&proxy, &topic).await?;
    let configs: BTreeMap<String, Option<String>> = proxy
        .kafka
        .describe_configs(RESOURCE_TOPIC, &topic, None)
        .await?
        .into_iter()
        .map(|c| (c.name, c.value))
        .collect();
    let partitions: Vec<Partition> = meta.partitions.iter().map(partition_body).collect();
    Ok(v2_json(
        StatusCode::OK,
        &json!({"name": meta.name, "configs": configs, "partitions": partitions}),
    ))
}

async fn list_partitions(
    State(proxy): State<AppState>,
    Path(topic): Path<String>,
) -> Result<Response> {
    let meta = existing_topic(&proxy, &topic).await?;
    let partitions: Vec<Partition> = meta.partitions.iter().map(partition_body).collect();
    Ok(v2_json(StatusCode::OK, &partitions))
}

async fn get_partition(
    State(proxy): State<AppState>,
    Path((topic, partition)): Path<(String, String)>,
) -> Result<Response> {
    let meta = existing_topic(&proxy, &topic).await?;
    let id = partition_id(&meta, &partition)?;
    let p = meta.partition(id).ok_or(Error::PartitionNotFound)?;
    Ok(v2_json(StatusCode::OK, &partition_body(p)))
}

async fn partition_offsets(
    State(proxy): State<AppState>,
    Path((topic, partition)): Path<(String, String)>,
) -> Result<Response> {
    let meta = existing_topic(&proxy, &topic).await?;
    let id = partition_id(&meta, &partition)?;
    let (low, high) = proxy.kafka.watermarks(&topic, id).await?;
    Ok(v2_json(
        StatusCode::OK,
        &json!({"beginning_offset": low, "end_offset": high}),
    ))
}

async fn list_brokers(State(proxy): State<AppState>) -> Result<Response> {
    let md = proxy.kafka.metadata(None).await?;
    let mut ids: Vec<i32> = md.brokers.iter().map(|b| b.id).collect();
    ids.sort_unstable();
    Ok(v2_json(StatusCode::OK, &json!({ "brokers": ids })))
}
