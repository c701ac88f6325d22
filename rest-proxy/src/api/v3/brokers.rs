//! `/v3/clusters/{c}/brokers`: brokers and their configs (read-only: the
//! broker takes no dynamic broker configs yet, so updates are not routed).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::{check_cluster, Urls};
use crate::api::{v3_json, AppState, BaseUrl};
use crate::error::{Error, Result};
use crate::kafka::{BrokerMeta, ConfigEntry, RESOURCE_BROKER};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v3/clusters/{cluster}/brokers", get(list_brokers))
        .route("/v3/clusters/{cluster}/brokers/{broker}", get(get_broker))
        .route(
            "/v3/clusters/{cluster}/brokers/{broker}/configs",
            get(list_broker_configs),
        )
        .route(
            "/v3/clusters/{cluster}/brokers/{broker}/configs/{name}",
            get(get_broker_config),
        )
}

fn broker_body(urls: &Urls, b: &BrokerMeta) -> Value {
    urls.resource(
        "KafkaBroker",
        &format!("/brokers/{}", b.id),
        &format!("/broker={}", b.id),
        json!({
            "cluster_id": urls.cluster,
            "broker_id": b.id,
            "host": b.host,
            "port": b.port,
            "rack": null,
            "configs": urls.related(&format!("/brokers/{}/configs", b.id)),
            "partition_replicas": urls.related(&format!("/brokers/{}/partition-replicas", b.id)),
        }),
    )
}

/// Config synonyms as Confluent lists them.
pub fn synonyms(c: &ConfigEntry) -> Vec<Value> {
    c.synonyms
        .iter()
        .map(|(name, value, source)| {
            json!({"name": name, "value": value, "source": ConfigEntry::source_name(*source)})
        })
        .collect()
}

fn config_body(urls: &Urls, broker: i32, c: &ConfigEntry) -> Value {
    urls.resource(
        "KafkaBrokerConfig",
        &format!("/brokers/{broker}/configs/{}", c.name),
        &format!("/broker={broker}/config={}", c.name),
        json!({
            "cluster_id": urls.cluster,
            "broker_id": broker,
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

async fn broker(proxy: &AppState, broker: &str) -> Result<BrokerMeta> {
    let id: i32 = broker.parse().map_err(|_| Error::NotFound)?;
    let md = proxy.kafka.metadata(None).await?;
    md.broker(id).cloned().ok_or(Error::NotFound)
}

async fn list_brokers(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(cluster): Path<String>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let md = proxy.kafka.metadata(None).await?;
    let mut brokers = md.brokers.clone();
    brokers.sort_by_key(|b| b.id);
    let data = brokers.iter().map(|b| broker_body(&urls, b)).collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list("KafkaBrokerList", "/brokers", data),
    ))
}

async fn get_broker(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, b)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let b = broker(&proxy, &b).await?;
    Ok(v3_json(StatusCode::OK, &broker_body(&urls, &b)))
}

async fn broker_configs(proxy: &AppState, b: &BrokerMeta) -> Result<Vec<ConfigEntry>> {
    proxy
        .kafka
        .describe_configs(
            RESOURCE_BROKER,
            &b.id.to_string(),
            Some(format!("{}:{}", b.host, b.port)),
        )
        .await
}

async fn list_broker_configs(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, b)): Path<(String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let b = broker(&proxy, &b).await?;
    let configs = broker_configs(&proxy, &b).await?;
    let data = configs
        .iter()
        .map(|c| config_body(&urls, b.id, c))
        .collect();
    Ok(v3_json(
        StatusCode::OK,
        &urls.list(
            "KafkaBrokerConfigList",
            &format!("/brokers/{}/configs", b.id),
            data,
        ),
    ))
}

async fn get_broker_config(
    State(proxy): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((cluster, b, name)): Path<(String, String, String)>,
) -> Result<Response> {
    let id = check_cluster(&proxy, &cluster).await?;
    let urls = Urls::new(&base, &id);
    let b = broker(&proxy, &b).await?;
    let configs = broker_configs(&proxy, &b).await?;
    let c = configs
        .iter()
        .find(|c| c.name == name)
        .ok_or(Error::NotFound)?;
    Ok(v3_json(StatusCode::OK, &config_body(&urls, b.id, c)))
}
