//! Distributed mode: workers sharing a `group.id` form a cluster through the
//! Kafka group protocol with protocol type `connect`.
//!
//! - [`protocol`]: Connect's eager protocol (metadata and assignment in
//!   Connect's binary schemas) and the round-robin assignor.
//! - [`member`]: the group membership (join, sync, heartbeat, rejoin on a
//!   config change, leave).
//!
//! State lives in three compacted topics read by every worker:
//! `config.storage.topic` (one partition), `offset.storage.topic` and
//! `status.storage.topic`, in Connect's key and value formats (see
//! [`crate::storage`]). The leader writes configs; any worker's REST API
//! answers, forwarding leader-only requests to the leader.

pub mod member;
pub mod protocol;

use std::sync::Arc;

use crate::error::Result;
use crate::herder::Herder;
use crate::storage::kafka::KafkaLog;

/// A distributed worker's cluster machinery: the three topics and the membership.
pub struct Cluster {
    logs: Vec<Arc<KafkaLog>>,
    member: member::Member,
}

impl Cluster {
    /// Read the three topics to their ends (creating them if needed), then join the group.
    pub async fn start(herder: Arc<Herder>) -> Result<Cluster> {
        let c = herder.config.clone();
        let offsets = herder.offsets.clone();
        let offset_log = KafkaLog::start(
            &c,
            &c.offset_topic,
            c.offset_partitions,
            c.offset_replication_factor,
            Arc::new(move |k, v| offsets.apply_bytes(k, v)),
        )
        .await?;
        herder.offsets.attach(offset_log.clone());
        let statuses = herder.statuses.clone();
        let status_log = KafkaLog::start(
            &c,
            &c.status_topic,
            c.status_partitions,
            c.status_replication_factor,
            Arc::new(move |k, v| statuses.apply_bytes(k, v)),
        )
        .await?;
        herder.statuses.attach(status_log.clone());
        let configs = herder.configs.clone();
        let config_log = KafkaLog::start(
            &c,
            &c.config_topic,
            1,
            c.config_replication_factor,
            Arc::new(move |k, v| configs.apply_bytes(k, v)),
        )
        .await?;
        herder.configs.attach(config_log.clone());
        if c.connect_protocol != "eager" {
            tracing::info!(
                connect_protocol = %c.connect_protocol,
                "only the eager protocol is spoken; Java workers agree on it through the protocol list"
            );
        }
        let member = member::Member::start(herder.clone());
        // Like Connect's startup, serve once the first rebalance is done (bounded).
        let joined = async {
            loop {
                if herder.assignment().is_some() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        };
        if tokio::time::timeout(
            c.rebalance_timeout.min(std::time::Duration::from_secs(60)),
            joined,
        )
        .await
        .is_err()
        {
            tracing::warn!("no assignment from the connect group yet; serving anyway");
        }
        Ok(Cluster {
            logs: vec![config_log, status_log, offset_log],
            member,
        })
    }

    /// Leave the group and stop reading the topics.
    pub async fn shutdown(self) {
        self.member.leave().await;
        for log in self.logs {
            log.close().await;
        }
    }
}
