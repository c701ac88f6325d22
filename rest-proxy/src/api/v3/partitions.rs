//! `/v3/clusters/{c}/topics/{t}/partitions`: partitions and their replicas.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::topics::existing_topic;
use super::{check_cluster, Urls};
use crate::api::{v3_json, AppState, BaseUrl};
use crate::error::{Error, Result};
use crate::kafka::{PartitionMeta, TopicMeta};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v3/clusters/{cluster}/topics/{topic}/partitions",
            get(list_partitions),
        )
        .route(
            "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}",
            get(get_partition),
        )
        .route(
            "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/replicas",
            get(list_replicas),
        )
        .route(
            "/v3/clusters/{cluster}/topics/{topic}/partitions/{partition}/replicas/{broker}",
            get(get_replica),
        )
}

fn partition_body(urls: &Urls, topic: &str, p: &PartitionMeta) -> Value {
    let id = p.id;
    urls.resource(
        "KafkaPartition",
        &format!("/topics/{topic}/partitions/{id}"),
        &format!("/topic={topic}/partition={id}"),
        json!({
            "cluster_id": urls.cluster,
            "topic_name": topic,
            "partition_id": id,
            "leader": urls.related(&format!("/topics/{topic}/partitions/{id}/replicas/{}", p.leader)),
            "replicas": urls.related(&format!("/topics/{topic}/partitions/{id}/replicas")),
            "reassignment": urls.related(&format!("/topics/{topic}/partitions/{id}/reassignment")),
        }),
    )
}

fn replica_body(urls: &Urls, topic: &str, p: &PartitionMeta, broker: i32) -> Value {
    let id = p.id;
    urls.resource(
        "KafkaReplica",
        &format!("/topics/{topic}/partitions/{id}/replicas/{broker}"),
        &format!("/topic={topic}/partition={id}/replica={broker}"),
        json!({
            "cluster_id": urls.cluster,
            "topic_name": topic,
            "partition_id": id,
            "broker_id": broker,
            "is_leader": broker == p.leader,
            "is_in_sync": p.isr.contains(&broker),
            "broker": urls.related(&format!("/brokers/{broker}")),
        }),
    )
}

/// The partition of the path, or 404 / 40403 as Kafka's
/// `UnknownTopicOrPartitionException` maps.
fn partition<'a>(t: &'a TopicMeta, partition: &str) -> Result<&'a PartitionMeta> {
    partition
        .parse::<i32>()
        .ok()
        .and_then(|p| t.partition(p))
        .ok_or(Error::UnknownTopicOrPartition)
}

async fn list_partitions(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, topic)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let t = existing_topic(&proxy, &topic).await?;
    let data = t
        .partitions
        .iter()
        .map(|p| partition_body(&urls, &topic, p))
        .collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list(
            "KafkaPartitionList",
            &format!("/topics/{topic}/partitions"),
            data,
        ),
    ))
}

async fn get_partition(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, topic, p)): Path<(String, String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let t = existing_topic(&proxy, &topic).await?;
    let p = partition(&t, &p)?;
    Ok(v3_json(StatusCode::OK, &partition_body(&urls, &topic, p)))
}

async fn list_replicas(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, topic, p)): Path<(String, String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let t = existing_topic(&proxy, &topic).await?;
    let p = partition(&t, &p)?;
    let data = p
        .replicas
        .iter()
        .map(|&b| replica_body(&urls, &topic, p, b))
        .collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list(
            "KafkaReplicaList",
            &format!("/topics/{topic}/partitions/{}/replicas", p.id),
            data,
        ),
    ))
}

async fn get_replica(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, topic, p, broker)): Path<(String, String, String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let t = existing_topic(&proxy, &topic).await?;
    let p = partition(&t, &p)?;
    let b = broker
        .parse::<i32>()
        .ok()
        .filter(|b| p.replicas.contains(b))
        .ok_or(Error::NotFound)?;
    Ok(v3_json(StatusCode::OK, &replica_body(&urls, &topic, p, b)))
}
