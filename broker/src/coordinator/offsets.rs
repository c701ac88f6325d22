//! Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete and offset
//! retention, after Kafka's `OffsetMetadataManager` for classic groups.
//!
//! A commit is validated against the group (generation, member, state), written
//! to the group's partition of `__consumer_offsets` as one batch, applied in
//! memory, and answered once the batch is durable. A group without members
//! accepts "simple" commits (generation -1, no member id), as from the admin
//! client or a consumer that assigns partitions itself.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;

use super::group::{Group, GroupState, CONSUMER_PROTOCOL_TYPE};
use super::records::{group_key, offset_key, offset_value, OffsetValue};
use super::{store, Env, GroupCoordinator};
use crate::broker::Broker;

/// One partition of an OffsetCommit.
#[derive(Debug, Clone)]
pub struct CommitPartition {
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// An OffsetCommit request, decoded.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    pub api_version: i16,
    pub group_id: String,
    pub generation: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v2–v4: -1 for the broker's retention.
    pub retention_time_ms: i64,
    pub topics: Vec<(String, Vec<CommitPartition>)>,
}

/// Per topic, per partition: None or the partition's error.
pub type PartitionErrors = Vec<Vec<Option<ResponseError>>>;

/// A committed offset as OffsetFetch reports it; None when there is none.
pub type FetchedTopic = (String, Vec<(i32, Option<OffsetValue>)>);

impl GroupCoordinator {
    /// OffsetCommit. Blocking: answers after the commit is durable.
    pub fn commit_offsets(&self, broker: &Broker, req: &CommitRequest) -> PartitionErrors {
        let all = |e: ResponseError| -> PartitionErrors {
            req.topics
                .iter()
                .map(|(_, ps)| vec![Some(e); ps.len()])
                .collect()
        };
        let mut env = Env::new(broker, &self.config);
        let mut groups = self.groups.lock();
        if !groups.contains_key(&req.group_id) {
            if req.generation >= 0 {
                // A member of a group this coordinator does not know.
                return all(if req.api_version >= 9 {
                    ResponseError::GroupIdNotFound
                } else {
                    ResponseError::IllegalGeneration
                });
            }
            groups.insert(req.group_id.clone(), Group::new(&req.group_id, env.now_ms));
        }
        let Some(group) = groups.get_mut(&req.group_id) else {
            return all(ResponseError::CoordinatorNotAvailable);
        };
        if let Err(e) = validate_offset_commit(group, req) {
            return all(e);
        }
        let mut results: PartitionErrors = Vec::with_capacity(req.topics.len());
        let mut records = Vec::new();
        let mut applied = Vec::new();
        for (topic_name, partitions) in &req.topics {
            let topic = broker.topic(topic_name);
            let mut errors = Vec::with_capacity(partitions.len());
            for p in partitions {
                if topic
                    .as_ref()
                    .and_then(|t| t.partition(p.partition))
                    .is_none()
                {
                    errors.push(Some(ResponseError::UnknownTopicOrPartition));
                    continue;
                }
                let metadata = p.metadata.clone().unwrap_or_default();
                if metadata.len() > self.config.max_metadata_bytes {
                    errors.push(Some(ResponseError::OffsetMetadataTooLarge));
                    continue;
                }
                let expire_timestamp = (req.api_version <= 4 && req.retention_time_ms >= 0)
                    .then(|| env.now_ms.saturating_add(req.retention_time_ms));
                let value = OffsetValue {
                    offset: p.offset,
                    leader_epoch: p.leader_epoch,
                    metadata,
                    commit_timestamp: env.now_ms,
                    expire_timestamp,
                };
                records.push((
                    offset_key(&req.group_id, topic_name, p.partition),
                    Some(offset_value(&value)),
                ));
                applied.push(((topic_name.clone(), p.partition), value));
                errors.push(None);
            }
            results.push(errors);
        }
        let failed = |results: &mut PartitionErrors, e: ResponseError| {
            for r in results.iter_mut().flatten().filter(|r| r.is_none()) {
                *r = Some(e);
            }
        };
        match store::append(
            broker,
            &self.config,
            &req.group_id,
            records,
            env.now_ms,
            &mut env.writes,
        ) {
            Ok(()) => group.offsets.extend(applied),
            Err(e) => failed(&mut results, e.code),
        }
        if let Some(m) = group.members.get_mut(&req.member_id) {
            m.heartbeat_deadline = Some(env.now + m.session_timeout());
        }
        if group.is_forgettable() {
            groups.remove(&req.group_id);
        }
        drop(groups);
        if let Err(e) = env.writes.sync(broker.fsync_on_ack) {
            failed(&mut results, e.code);
        }
        results
    }

    /// OffsetFetch for one group: the requested partitions (None: every
    /// partition with a committed offset).
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<FetchedTopic> {
        let groups = self.groups.lock();
        let group = groups.get(group_id).filter(|g| !g.is(GroupState::Dead));
        match topics {
            None => {
                let mut by_topic: BTreeMap<&str, Vec<(i32, Option<OffsetValue>)>> = BTreeMap::new();
                for ((topic, partition), v) in group.iter().flat_map(|g| g.offsets.iter()) {
                    by_topic
                        .entry(topic.as_str())
                        .or_default()
                        .push((*partition, Some(v.clone())));
                }
                by_topic
                    .into_iter()
                    .map(|(t, ps)| (t.to_string(), ps))
                    .collect()
            }
            Some(wanted) => wanted
                .iter()
                .map(|(topic, partitions)| {
                    let ps = partitions
                        .iter()
                        .map(|p| {
                            let v = group.and_then(|g| g.offsets.get(&(topic.clone(), *p)));
                            (*p, v.cloned())
                        })
                        .collect();
                    (topic.clone(), ps)
                })
                .collect(),
        }
    }

    /// OffsetDelete: the group error, or one error per partition. Blocking.
    pub fn delete_offsets(
        &self,
        broker: &Broker,
        group_id: &str,
        topics: &[(String, Vec<i32>)],
    ) -> Result<PartitionErrors, ResponseError> {
        let mut env = Env::new(broker, &self.config);
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .filter(|g| !g.is(GroupState::Dead))
            .ok_or(ResponseError::GroupIdNotFound)?;
        let only_unsubscribed = match group.state {
            GroupState::Empty => false,
            GroupState::PreparingRebalance
            | GroupState::CompletingRebalance
            | GroupState::Stable
                if group.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE) =>
            {
                true
            }
            _ => return Err(ResponseError::NonEmptyGroup),
        };
        let mut results: PartitionErrors = Vec::with_capacity(topics.len());
        let mut tombstones = Vec::new();
        let mut removed = Vec::new();
        for (topic_name, partitions) in topics {
            let topic = broker.topic(topic_name);
            let mut errors = Vec::with_capacity(partitions.len());
            for &p in partitions {
                if topic.as_ref().and_then(|t| t.partition(p)).is_none() {
                    errors.push(Some(ResponseError::UnknownTopicOrPartition));
                } else if only_unsubscribed && group.is_subscribed_to(topic_name) {
                    errors.push(Some(ResponseError::GroupSubscribedToTopic));
                } else {
                    let key = (topic_name.clone(), p);
                    if group.offsets.contains_key(&key) {
                        tombstones.push((offset_key(group_id, topic_name, p), None));
                        removed.push(key);
                    }
                    errors.push(None);
                }
            }
            results.push(errors);
        }
        let mut failed = None;
        match store::append(
            broker,
            &self.config,
            group_id,
            tombstones,
            env.now_ms,
            &mut env.writes,
        ) {
            Ok(()) => {
                for key in removed {
                    group.offsets.remove(&key);
                }
            }
            Err(e) => failed = Some(e.code),
        }
        drop(groups);
        if let Err(e) = env.writes.sync(broker.fsync_on_ack) {
            failed = Some(e.code);
        }
        if let Some(e) = failed {
            for r in results.iter_mut().flatten().filter(|r| r.is_none()) {
                *r = Some(e);
            }
        }
        Ok(results)
    }

    /// Offset retention (`offsets.retention.minutes`), as Kafka's
    /// `cleanupGroupMetadata`: offsets of an Empty group expire once the group
    /// has been empty that long; offsets of a simple group (no protocol) and a
    /// Stable consumer group's offsets of topics no member subscribes to
    /// expire that long after their commit. A commit's own expire timestamp
    /// (OffsetCommit v2–v4 retention) wins. An Empty group left without
    /// offsets is removed. Blocking.
    pub fn expire_offsets(&self, broker: &Broker) {
        let mut env = Env::new(broker, &self.config);
        let retention_ms = self.config.offsets_retention.as_millis() as i64;
        let now_ms = env.now_ms;
        let mut groups = self.groups.lock();
        let mut dead = Vec::new();
        for group in groups.values_mut() {
            let expired = expired_offsets(group, now_ms, retention_ms);
            let mut tombstones: Vec<(Bytes, Option<Bytes>)> = expired
                .iter()
                .map(|(t, p)| (offset_key(&group.id, t, *p), None))
                .collect();
            let now_dead = group.is(GroupState::Empty)
                && group.members.is_empty()
                && group.pending_members.is_empty()
                && group.offsets.len() == expired.len();
            if now_dead && group.stored {
                tombstones.push((group_key(&group.id), None));
            }
            if tombstones.is_empty() {
                if now_dead {
                    dead.push(group.id.clone());
                }
                continue;
            }
            match store::append(
                broker,
                &self.config,
                &group.id,
                tombstones,
                now_ms,
                &mut env.writes,
            ) {
                Ok(()) => {
                    if !expired.is_empty() {
                        tracing::info!(group = %group.id, offsets = expired.len(), "expired committed offsets");
                    }
                    for key in &expired {
                        group.offsets.remove(key);
                    }
                    if now_dead {
                        dead.push(group.id.clone());
                    }
                }
                Err(e) => {
                    tracing::warn!(group = %group.id, error = ?e.message, "could not expire offsets");
                }
            }
        }
        for id in dead {
            if let Some(g) = groups.get_mut(&id) {
                g.transition(GroupState::Dead, now_ms);
            }
            groups.remove(&id);
        }
        drop(groups);
        env.finish();
    }
}

/// Kafka 4's `ClassicGroup.validateOffsetCommit`.
fn validate_offset_commit(group: &Group, req: &CommitRequest) -> Result<(), ResponseError> {
    if group.is(GroupState::Dead) {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    if req.generation < 0 && group.is(GroupState::Empty) {
        // The admin client, or a consumer managing its own partitions.
        return Ok(());
    }
    if req.generation >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some() {
        group.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
        if req.generation != group.generation {
            return Err(ResponseError::IllegalGeneration);
        }
    } else if !group.is(GroupState::Empty) {
        return Err(ResponseError::UnknownMemberId);
    }
    if group.is(GroupState::CompletingRebalance) {
        return Err(ResponseError::RebalanceInProgress);
    }
    Ok(())
}

/// The offsets of `group` that retention removes now.
fn expired_offsets(group: &Group, now_ms: i64, retention_ms: i64) -> Vec<(String, i32)> {
    let expired_since = |base: i64, v: &OffsetValue| match v.expire_timestamp {
        Some(expire) => now_ms >= expire,
        None => now_ms.saturating_sub(base) >= retention_ms,
    };
    let select = |base: &dyn Fn(&OffsetValue) -> i64, skip_topic: &dyn Fn(&str) -> bool| {
        group
            .offsets
            .iter()
            .filter(|((topic, _), v)| !skip_topic(topic) && expired_since(base(v), v))
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    match group.protocol_type.as_deref() {
        Some(_) if group.is(GroupState::Empty) => {
            let became_empty = group.state_timestamp;
            select(
                &|v: &OffsetValue| became_empty.unwrap_or(v.commit_timestamp),
                &|_| false,
            )
        }
        Some(CONSUMER_PROTOCOL_TYPE)
            if group.is(GroupState::Stable) && group.subscribed_topics.is_some() =>
        {
            select(&|v: &OffsetValue| v.commit_timestamp, &|t| {
                group.is_subscribed_to(t)
            })
        }
        None => select(&|v: &OffsetValue| v.commit_timestamp, &|_| false),
        _ => Vec::new(),
    }
}
