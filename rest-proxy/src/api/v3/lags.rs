//! `/v3/clusters/{c}/consumer-groups/{g}/lags` and `lag-summary`: per
//! partition with a committed offset, the committed offset, the log end
//! offset and their difference; the consumer it is assigned to, if any.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::groups::existing_group;
use super::{check_cluster, Urls};
use crate::api::{v3_json, AppState, BaseUrl};
use crate::error::{Error, Result};

pub fn routes() -> Router<AppState> {
    let g = "/v3/clusters/{cluster}/consumer-groups/{group}";
    Router::new()
        .route(&format!("{g}/lags"), get(list_lags))
        .route(
            &format!("{g}/lags/{{topic}}/partitions/{{partition}}"),
            get(get_lag),
        )
        .route(&format!("{g}/lag-summary"), get(lag_summary))
}

struct Lag {
    topic: String,
    partition: i32,
    consumer_id: String,
    client_id: String,
    current: i64,
    end: i64,
}

impl Lag {
    fn lag(&self) -> i64 {
        (self.end - self.current).max(0)
    }
}

async fn lags(proxy: &AppState, group: &str) -> Result<Vec<Lag>> {
    let g = existing_group(proxy, group).await?;
    let offsets = proxy.kafka.group_offsets(group).await?;
    let mut out = Vec::with_capacity(offsets.len());
    for (topic, partition, current) in offsets {
        let (_, end) = proxy.kafka.watermarks(&topic, partition).await?;
        let owner = g
            .members
            .iter()
            .find(|m| m.assignment.contains(&(topic.clone(), partition)));
        out.push(Lag {
            consumer_id: owner.map(|m| m.member_id.clone()).unwrap_or_default(),
            client_id: owner.map(|m| m.client_id.clone()).unwrap_or_default(),
            topic,
            partition,
            current,
            end,
        });
    }
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(out)
}

fn lag_body(urls: &Urls, group: &str, l: &Lag) -> Value {
    let (t, p) = (&l.topic, l.partition);
    urls.resource(
        "KafkaConsumerLag",
        &format!("/consumer-groups/{group}/lags/{t}/partitions/{p}"),
        &format!("/consumer-group={group}/lag={t}/partition={p}"),
        json!({
            "cluster_id": urls.cluster,
            "consumer_group_id": group,
            "topic_name": t,
            "partition_id": p,
            "consumer_id": l.consumer_id,
            "instance_id": null,
            "client_id": l.client_id,
            "current_offset": l.current,
            "log_end_offset": l.end,
            "lag": l.lag(),
        }),
    )
}

async fn list_lags(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, group)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let lags = lags(&proxy, &group).await?;
    let data = lags.iter().map(|l| lag_body(&urls, &group, l)).collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list(
            "KafkaConsumerLagList",
            &format!("/consumer-groups/{group}/lags"),
            data,
        ),
    ))
}

async fn get_lag(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, group, topic, partition)): Path<(String, String, String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let p: i32 = partition.parse().map_err(|_| Error::NotFound)?;
    let lags = lags(&proxy, &group).await?;
    let l = lags
        .iter()
        .find(|l| l.topic == topic && l.partition == p)
        .ok_or(Error::NotFound)?;
    Ok(v3_json(StatusCode::OK, &lag_body(&urls, &group, l)))
}

async fn lag_summary(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, group)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let lags = lags(&proxy, &group).await?;
    let total: i64 = lags.iter().map(Lag::lag).sum();
    // The first partition with the largest lag.
    let max = lags
        .iter()
        .reduce(|best, l| if l.lag() > best.lag() { l } else { best });
    let fields = match max {
        Some(m) => json!({
            "cluster_id": urls.cluster,
            "consumer_group_id": group,
            "max_lag_consumer_id": m.consumer_id,
            "max_lag_instance_id": null,
            "max_lag_client_id": m.client_id,
            "max_lag_topic_name": m.topic,
            "max_lag_partition_id": m.partition,
            "max_lag": m.lag(),
            "total_lag": total,
            "max_lag_consumer": urls.related(&format!("/consumer-groups/{group}/consumers/{}", m.consumer_id)),
            "max_lag_partition": urls.related(&format!("/topics/{}/partitions/{}", m.topic, m.partition)),
        }),
        None => json!({
            "cluster_id": urls.cluster,
            "consumer_group_id": group,
            "max_lag_consumer_id": "",
            "max_lag_instance_id": null,
            "max_lag_client_id": "",
            "max_lag_topic_name": "",
            "max_lag_partition_id": 0,
            "max_lag": 0,
            "total_lag": 0,
        }),
    };
    Ok(v3_json(
        StatusCode::OK,
        &urls.resource(
            "KafkaConsumerGroupLagSummary",
            &format!("/consumer-groups/{group}/lag-summary"),
            &format!("/consumer-group={group}/lag-summary"),
            fields,
        ),
    ))
}
