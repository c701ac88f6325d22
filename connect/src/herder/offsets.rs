//! KIP-875 offsets: `GET|PATCH|DELETE /connectors/{c}/offsets`.
//!
//! Source connectors: the framework's offsets store, entries
//! `{"partition":{..},"offset":{..}}`. Sink connectors: the committed offsets
//! of consumer group `connect-<name>`, entries
//! `{"partition":{"kafka_topic":t,"kafka_partition":p},"offset":{"kafka_offset":o}}`.
//! Altering and resetting need the connector STOPPED (no tasks).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value as Json};

use super::Herder;
use crate::config::Props;
use crate::connectors::ConnectorType;
use crate::error::{Error, Result};
use crate::plugins;
use crate::runtime::sink::{group_id, subscription};
use crate::storage::config::TargetState;
use crate::storage::kafka::client_config;

const ALTERED: &str = "The offsets for this connector have been altered successfully";
const RESET: &str = "The offsets for this connector have been reset successfully";
const ALTERED_EXTERNAL: &str = "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.";
const RESET_EXTERNAL: &str = "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.";

impl Herder {
    /// `{"offsets":[...]}`.
    pub async fn connector_offsets(&self, name: &str) -> Result<Json> {
        let ty = self.plugin_type(name)?;
        let entries = match ty {
            ConnectorType::Source => {
                self.offsets.sync(Duration::from_secs(10)).await?;
                self.offsets
                    .connector_offsets(name)
                    .into_iter()
                    .map(|(p, o)| json!({"partition": p, "offset": o}))
                    .collect::<Vec<_>>()
            }
            ConnectorType::Sink => {
                let config = self.connector_config(name)?;
                self.sink_offsets(name, &config)
                    .await?
                    .into_iter()
                    .map(|(t, p, o)| {
                        json!({"partition": {"kafka_topic": t, "kafka_partition": p}, "offset": {"kafka_offset": o}})
                    })
                    .collect()
            }
        };
        Ok(json!({ "offsets": entries }))
    }

    fn check_stopped(&self, name: &str) -> Result<Props> {
        let snap = self.configs.snapshot();
        let entry = snap
            .get(name)
            .ok_or_else(|| Error::NotFound(format!("Connector {name} not found")))?;
        if entry.target != TargetState::Stopped || !entry.tasks.is_empty() {
            return Err(Error::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(entry.config.clone())
    }

    /// `PATCH`: write the given offsets (a `null` offset resets that partition).
    pub async fn alter_offsets(&self, name: &str, body: &Json) -> Result<Json> {
        let list = body
            .get("offsets")
            .and_then(Json::as_array)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                Error::BadRequest(
                    "Partitions / offsets need to be provided for an alter offsets request".into(),
                )
            })?;
        let config = self.check_stopped(name)?;
        self.check_leader()?;
        let mut entries = Vec::with_capacity(list.len());
        for e in list {
            let partition = e
                .get("partition")
                .filter(|p| p.is_object())
                .cloned()
                .ok_or_else(|| {
                    Error::BadRequest(
                        "Partitions / offsets need to be provided for an alter offsets request"
                            .into(),
                    )
                })?;
            let offset = e.get("offset").cloned().filter(|o| !o.is_null());
            entries.push((partition, offset));
        }
        let plugin = config
            .get("connector.class")
            .and_then(|c| plugins::connector(c))
            .ok_or_else(|| Error::Connect(format!("Connector {name} has an unknown class")))?;
        let handled = plugin.alter_offsets(&config, &entries)?;
        match plugin.connector_type() {
            ConnectorType::Source => self.offsets.put(name, entries).await?,
            ConnectorType::Sink => self.alter_sink_offsets(name, entries).await?,
        }
        Ok(json!({"message": if handled { ALTERED } else { ALTERED_EXTERNAL }}))
    }

    /// `DELETE`: forget every offset.
    pub async fn reset_offsets(&self, name: &str) -> Result<Json> {
        let config = self.check_stopped(name)?;
        self.check_leader()?;
        let plugin = config
            .get("connector.class")
            .and_then(|c| plugins::connector(c))
            .ok_or_else(|| Error::Connect(format!("Connector {name} has an unknown class")))?;
        let handled;
        match plugin.connector_type() {
            ConnectorType::Source => {
                self.offsets.sync(Duration::from_secs(10)).await?;
                let entries: Vec<(Json, Option<Json>)> = self
                    .offsets
                    .connector_offsets(name)
                    .into_iter()
                    .map(|(p, _)| (p, None))
                    .collect();
                handled = plugin.alter_offsets(&config, &entries)?;
                self.offsets.put(name, entries).await?;
            }
            ConnectorType::Sink => {
                handled = plugin.alter_offsets(&config, &[])?;
                self.delete_sink_group(name).await?;
            }
        }
        Ok(json!({"message": if handled { RESET } else { RESET_EXTERNAL }}))
    }

    fn group_consumer(&self, name: &str) -> Result<BaseConsumer> {
        client_config(&self.config, "consumer.")
            .set("group.id", group_id(name))
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| Error::Kafka(format!("creating a consumer: {e}")))
    }

    /// The committed offsets of the sink's group: (topic, partition, offset).
    async fn sink_offsets(&self, name: &str, config: &Props) -> Result<Vec<(String, i32, i64)>> {
        let consumer = self.group_consumer(name)?;
        let subs = subscription(config);
        tokio::task::spawn_blocking(move || -> Result<Vec<(String, i32, i64)>> {
            let timeout = Duration::from_secs(10);
            let md = consumer
                .fetch_metadata(None, timeout)
                .map_err(|e| Error::Kafka(format!("metadata: {e}")))?;
            let patterns: Vec<regex::Regex> = subs
                .iter()
                .filter(|s| s.starts_with('^'))
                .filter_map(|s| regex::Regex::new(s).ok())
                .collect();
            let mut tpl = TopicPartitionList::new();
            for t in md.topics() {
                let wanted = subs.iter().any(|s| s == t.name())
                    || patterns.iter().any(|p| p.is_match(t.name()));
                if wanted {
                    for p in t.partitions() {
                        tpl.add_partition(t.name(), p.id());
                    }
                }
            }
            if tpl.count() == 0 {
                return Ok(Vec::new());
            }
            let committed = consumer
                .committed_offsets(tpl, timeout)
                .map_err(|e| Error::Kafka(format!("committed offsets: {e}")))?;
            Ok(committed
                .elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some((e.topic().to_string(), e.partition(), o)),
                    _ => None,
                })
                .collect())
        })
        .await
        .map_err(|e| Error::Connect(e.to_string()))?
    }

    async fn alter_sink_offsets(
        &self,
        name: &str,
        entries: Vec<(Json, Option<Json>)>,
    ) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for (p, o) in &entries {
            let topic = p.get("kafka_topic").and_then(Json::as_str).ok_or_else(|| {
                Error::BadRequest(
                    "Partitions for sink connectors must contain the 'kafka_topic' key".into(),
                )
            })?;
            let partition = p
                .get("kafka_partition")
                .and_then(|v| {
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .ok_or_else(|| {
                    Error::BadRequest(
                        "Partitions for sink connectors must contain the 'kafka_partition' key"
                            .into(),
                    )
                })?;
            let Some(o) = o else {
                return Err(Error::BadRequest(
                    "Resetting the offset of a single sink partition (a null offset) is not supported yet; reset all offsets with DELETE".into(),
                ));
            };
            let offset = o
                .get("kafka_offset")
                .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
                .filter(|v| *v >= 0)
                .ok_or_else(|| Error::BadRequest("Offsets for sink connectors must contain the 'kafka_offset' key with a non-negative integer".into()))?;
            tpl.add_partition_offset(topic, partition as i32, Offset::Offset(offset))
                .map_err(|e| Error::BadRequest(e.to_string()))?;
        }
        let consumer = self.group_consumer(name)?;
        tokio::task::spawn_blocking(move || {
            consumer.commit(&tpl, CommitMode::Sync).map_err(|e| {
                Error::Kafka(format!(
                    "Failed to alter consumer group offsets for connector {e}"
                ))
            })
        })
        .await
        .map_err(|e| Error::Connect(e.to_string()))?
    }

    async fn delete_sink_group(&self, name: &str) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = client_config(&self.config, "admin.")
            .create()
            .map_err(|e| Error::Kafka(format!("creating the admin client: {e}")))?;
        let group = group_id(name);
        let results = admin
            .delete_groups(&[group.as_str()], &AdminOptions::new())
            .await
            .map_err(|e| Error::Kafka(format!("deleting group {group}: {e}")))?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((g, code)) => {
                    return Err(Error::Kafka(format!(
                        "Failed to reset consumer group offsets for connector: deleting group {g}: {code}"
                    )))
                }
            }
        }
        Ok(())
    }
}
