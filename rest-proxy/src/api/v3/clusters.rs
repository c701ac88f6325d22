//! `/v3/clusters`: the one cluster behind `bootstrap.servers`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::{check_cluster, Urls};
use crate::api::{v3_json, AppState, BaseUrl};
use crate::error::Result;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v3/clusters", get(list_clusters))
        .route("/v3/clusters/{cluster}", get(get_cluster))
}

async fn cluster_body(proxy: &AppState, urls: &Urls) -> Result<Value> {
    let md = proxy.kafka.metadata(None).await?;
    let controller = md.controller();
    Ok(urls.resource(
        "KafkaCluster",
        "",
        "",
        json!({
            "cluster_id": urls.cluster,
            "controller": urls.related(&format!("/brokers/{controller}")),
            "acls": urls.related("/acls"),
            "brokers": urls.related("/brokers"),
            "broker_configs": urls.related("/broker-configs"),
            "consumer_groups": urls.related("/consumer-groups"),
            "topics": urls.related("/topics"),
            "partition_reassignments": urls.related("/topics/-/partitions/-/reassignment"),
        }),
    ))
}

async fn list_clusters(State(proxy): State<AppState>, BaseUrl(base): BaseUrl) -> Result<Response> {
    let id = proxy.kafka.cluster_id().await?;
    let urls = Urls::new(&base, &id);
    let cluster = cluster_body(&proxy, &urls).await?;
    Ok(v3_json(
        StatusCode::OK,
        &json!({
            "kind": "KafkaClusterList",
            "metadata": {"self": format!("{}/v3/clusters", base), "next": null},
            "data": [cluster],
        }),
    ))
}

async fn get_cluster(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(cluster): Path<String>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    Ok(v3_json(StatusCode::OK, &cluster_body(&proxy, &urls).await?))
}
