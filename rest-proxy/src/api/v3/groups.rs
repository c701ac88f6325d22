//! `/v3/clusters/{c}/consumer-groups`: groups, their consumers (members)
//! and the consumers' assignments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::{check_cluster, Urls};
use crate::api::{v3_json, AppState, BaseUrl};
use crate::error::{Error, Result};
use crate::kafka::{GroupInfo, GroupMember};

pub fn routes() -> Router<AppState> {
    let g = "/v3/clusters/{cluster}/consumer-groups/{group}";
    Router::new()
        .route("/v3/clusters/{cluster}/consumer-groups", get(list_groups))
        .route(g, get(get_group))
        .route(&format!("{g}/consumers"), get(list_consumers))
        .route(&format!("{g}/consumers/{{consumer}}"), get(get_consumer))
        .route(
            &format!("{g}/consumers/{{consumer}}/assignments"),
            get(list_assignments),
        )
        .route(
            &format!("{g}/consumers/{{consumer}}/assignments/{{topic}}/partitions/{{partition}}"),
            get(get_assignment),
        )
}

/// The group, or 404.
pub async fn existing_group(proxy: &AppState, group: &str) -> Result<GroupInfo> {
    proxy
        .kafka
        .consumer_groups(Some(group))
        .await?
        .into_iter()
        .find(|g| g.group_id == group)
        .ok_or(Error::NotFound)
}

fn group_body(urls: &Urls, g: &GroupInfo, coordinator: i32) -> Value {
    let id = &g.group_id;
    urls.resource(
        "KafkaConsumerGroup",
        &format!("/consumer-groups/{id}"),
        &format!("/consumer-group={id}"),
        json!({
            "cluster_id": urls.cluster,
            "consumer_group_id": id,
            "is_simple": g.protocol_type.is_empty(),
            "partition_assignor": g.protocol,
            "state": g.state,
            "coordinator": urls.related(&format!("/brokers/{coordinator}")),
            "consumers": urls.related(&format!("/consumer-groups/{id}/consumers")),
            "lag_summary": urls.related(&format!("/consumer-groups/{id}/lag-summary")),
        }),
    )
}

fn consumer_body(urls: &Urls, group: &str, m: &GroupMember) -> Value {
    let id = &m.member_id;
    urls.resource(
        "KafkaConsumer",
        &format!("/consumer-groups/{group}/consumers/{id}"),
        &format!("/consumer-group={group}/consumer={id}"),
        json!({
            "cluster_id": urls.cluster,
            "consumer_group_id": group,
            "consumer_id": id,
            "instance_id": null,
            "client_id": m.client_id,
            "assignments": urls.related(&format!("/consumer-groups/{group}/consumers/{id}/assignments")),
        }),
    )
}

fn assignment_body(urls: &Urls, group: &str, consumer: &str, topic: &str, p: i32) -> Value {
    urls.resource(
        "KafkaConsumerAssignment",
        &format!(
            "/consumer-groups/{group}/consumers/{consumer}/assignments/{topic}/partitions/{p}"
        ),
        &format!(
            "/consumer-group={group}/consumer={consumer}/assignment=topic={topic}/partition={p}"
        ),
        json!({
            "cluster_id": urls.cluster,
            "consumer_group_id": group,
            "consumer_id": consumer,
            "topic_name": topic,
            "partition_id": p,
            "partition": urls.related(&format!("/topics/{topic}/partitions/{p}")),
            "lag": urls.related(&format!("/consumer-groups/{group}/lags/{topic}/partitions/{p}")),
        }),
    )
}

async fn list_groups(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(cluster): Path<String>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let groups = proxy.kafka.consumer_groups(None).await?;
    let mut data = Vec::with_capacity(groups.len());
    for g in &groups {
        let coordinator = proxy.kafka.group_coordinator(&g.group_id).await?;
        data.push(group_body(&urls, g, coordinator));
    }
    Ok(v3_json(
        StatusCode::OK,
        &urls.list("KafkaConsumerGroupList", "/consumer-groups", data),
    ))
}

async fn get_group(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, group)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let g = existing_group(&proxy, &group).await?;
    let coordinator = proxy.kafka.group_coordinator(&group).await?;
    Ok(v3_json(StatusCode::OK, &group_body(&urls, &g, coordinator)))
}

async fn list_consumers(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, group)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let g = existing_group(&proxy, &group).await?;
    let mut members = g.members.clone();
    members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let data = members
        .iter()
        .map(|m| consumer_body(&urls, &group, m))
        .collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list(
            "KafkaConsumerList",
            &format!("/consumer-groups/{group}/consumers"),
            data,
        ),
    ))
}

async fn member(proxy: &AppState, group: &str, consumer: &str) -> Result<GroupMember> {
    existing_group(proxy, group)
        .await?
        .members
        .into_iter()
        .find(|m| m.member_id == consumer)
        .ok_or(Error::NotFound)
}

async fn get_consumer(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, group, consumer)): Path<(String, String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let m = member(&proxy, &group, &consumer).await?;
    Ok(v3_json(StatusCode::OK, &consumer_body(&urls, &group, &m)))
}

async fn list_assignments(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, group, consumer)): Path<(String, String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let m = member(&proxy, &group, &consumer).await?;
    let mut parts = m.assignment.clone();
    parts.sort();
    let data = parts
        .iter()
        .map(|(t, p)| assignment_body(&urls, &group, &consumer, t, *p))
        .collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list(
            "KafkaConsumerAssignmentList",
            &format!("/consumer-groups/{group}/consumers/{consumer}/assignments"),
            data,
        ),
    ))
}

async fn get_assignment(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, group, consumer, topic, partition)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let m = member(&proxy, &group, &consumer).await?;
    let p = partition
        .parse::<i32>()
        .ok()
        .filter(|p| m.assignment.contains(&(topic.clone(), *p)))
        .ok_or(Error::NotFound)?;
    Ok(v3_json(
        StatusCode::OK,
        &assignment_body(&urls, &group, &consumer, &topic, p),
    ))
}
