//! API v3 (`application/json`): resources with `kind`, `metadata`
//! (`self`, `resource_name` as a `crn:///kafka=...` name) and `related` links.
//!
//! - [`clusters`] — `/v3/clusters[/{c}]`
//! - [`brokers`] — `/v3/clusters/{c}/brokers[/{b}[/configs[/{name}]]]`
//! - [`topics`] — `/v3/clusters/{c}/topics[/{t}]` (list, create, get, delete)
//! - [`configs`] — `/v3/clusters/{c}/topics/{t}/configs[/{name}]`, `configs:alter`
//! - [`partitions`] — `/v3/clusters/{c}/topics/{t}/partitions[/{p}[/replicas[/{b}]]]`
//! - [`groups`] — `/v3/clusters/{c}/consumer-groups[/{g}[/consumers[/{m}[/assignments[/{t}/partitions/{p}]]]]]`
//! - [`lags`] — `/v3/clusters/{c}/consumer-groups/{g}/lags[/{t}/partitions/{p}]`, `lag-summary`
//! - [`records`] — `POST /v3/clusters/{c}/topics/{t}/records` (single and streamed)

pub mod brokers;
pub mod clusters;
pub mod configs;
pub mod groups;
pub mod lags;
pub mod partitions;
pub mod records;
pub mod topics;

use axum::Router;
use serde_json::{json, Map, Value};

use super::AppState;
use crate::error::{Error, Result};

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(clusters::routes())
        .merge(brokers::routes())
        .merge(topics::routes())
        .merge(configs::routes())
        .merge(partitions::routes())
        .merge(records::routes())
        .merge(groups::routes())
        .merge(lags::routes())
}

/// The cluster id of the path, checked against the broker's; 404 otherwise.
pub async fn check_cluster(proxy: &AppState, cluster_id: &str) -> Result<String> {
    let id = proxy.kafka.cluster_id().await?;
    if id == cluster_id {
        Ok(id)
    } else {
        Err(Error::NotFound)
    }
}

/// URLs and resource names of one cluster's resources.
pub struct Urls {
    pub base: String,
    pub cluster: String,
}

impl Urls {
    pub fn new(base: &str, cluster: &str) -> Urls {
        Urls {
            base: format!("{}/v3/clusters/{cluster}", base.trim_end_matches('/')),
            cluster: cluster.to_string(),
        }
    }

    /// `…/v3/clusters/{c}` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `crn:///kafka={c}` + `path`.
    pub fn crn(&self, path: &str) -> String {
        format!("crn:///kafka={}{path}", self.cluster)
    }

    /// `{"related": url(path)}`
    pub fn related(&self, path: &str) -> Value {
        json!({ "related": self.url(path) })
    }

    /// A resource: `kind`, `metadata` and the fields given.
    pub fn resource(&self, kind: &str, path: &str, crn: &str, fields: Value) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), Value::String(kind.into()));
        m.insert(
            "metadata".into(),
            json!({"self": self.url(path), "resource_name": self.crn(crn)}),
        );
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        Value::Object(m)
    }

    /// A list: `kind`, `metadata` (`self`, `next`) and `data`.
    pub fn list(&self, kind: &str, path: &str, data: Vec<Value>) -> Value {
        json!({
            "kind": kind,
            "metadata": {"self": self.url(path), "next": null},
            "data": data,
        })
    }
}
