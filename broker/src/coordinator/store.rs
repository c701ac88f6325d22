//! The coordinator's storage: the `__consumer_offsets` topic (created on first
//! use), appends of coordinator records to a group's partition, the fsyncs
//! that make them durable, and the replay that rebuilds groups and offsets
//! when the broker starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
use strom_log::batch::{split_batches, BatchHeader};
use strom_log::{AppendOrigin, PartitionLog};

use super::group::{Group, GroupState};
use super::records::{
    decode_group_value, decode_key, decode_offset_value, partition_for, RecordKey, OFFSETS_TOPIC,
};
use super::GroupConfig;
use crate::broker::{ApiError, Broker, Topic};
use crate::handlers::log_error;

/// Appends made while the coordinator state was locked, to be made durable
/// (fsynced) after it is unlocked.
#[derive(Default)]
pub struct Writes(Vec<(Arc<PartitionLog>, i64)>);

impl Writes {
    /// fsync every partition written, up to what was written (a no-op under
    /// Kafka's page-cache flush policy).
    pub fn sync(self, fsync: bool) -> Result<(), ApiError> {
        if !fsync {
            return Ok(());
        }
        for (log, offset) in self.0 {
            log.sync_to(offset).map_err(|e| {
                tracing::error!(error = %e, "fsync of __consumer_offsets failed");
                ApiError::new(ResponseError::KafkaStorageError, e.to_string())
            })?;
        }
        Ok(())
    }
}

/// `__consumer_offsets`, created if it does not exist yet (an internal,
/// compacted topic of `offsets.topic.num.partitions` partitions).
pub fn offsets_topic(broker: &Broker, config: &GroupConfig) -> Result<Arc<Topic>, ApiError> {
    if let Some(t) = broker.topic(OFFSETS_TOPIC) {
        return Ok(t);
    }
    let configs: BTreeMap<String, String> = [
        ("cleanup.policy", "compact".to_string()),
        ("segment.bytes", config.offsets_segment_bytes.to_string()),
        ("compression.type", "producer".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    match broker.create_topic(OFFSETS_TOPIC, config.offsets_partitions, 1, configs) {
        Ok(t) => Ok(t),
        Err(e) if e.code == ResponseError::TopicAlreadyExists => broker
            .topic(OFFSETS_TOPIC)
            .ok_or_else(|| ApiError::code(ResponseError::CoordinatorNotAvailable)),
        Err(e) => {
            tracing::error!(error = ?e.message, "cannot create __consumer_offsets");
            Err(ApiError::new(
                ResponseError::CoordinatorNotAvailable,
                format!(
                    "cannot create {OFFSETS_TOPIC}: {}",
                    e.message.unwrap_or_default()
                ),
            ))
        }
    }
}

/// Kafka's mapping of a failed coordinator write to the error its clients see.
pub fn write_error(e: ApiError) -> ApiError {
    let code = match e.code {
        ResponseError::UnknownTopicOrPartition
        | ResponseError::NotEnoughReplicas
        | ResponseError::NotEnoughReplicasAfterAppend
        | ResponseError::RequestTimedOut
        | ResponseError::KafkaStorageError => ResponseError::CoordinatorNotAvailable,
        ResponseError::NotLeaderOrFollower => ResponseError::NotCoordinator,
        ResponseError::MessageTooLarge
        | ResponseError::RecordListTooLarge
        | ResponseError::InvalidFetchSize
        | ResponseError::CorruptMessage
        | ResponseError::InvalidRecord => ResponseError::UnknownServerError,
        other => other,
    };
    ApiError {
        code,
        message: e.message,
    }
}

/// Append `records` (key, value-or-tombstone) to the group's partition of
/// `__consumer_offsets` as one batch. The fsync is left to `writes`.
pub fn append(
    broker: &Broker,
    config: &GroupConfig,
    group_id: &str,
    records: Vec<(Bytes, Option<Bytes>)>,
    now_ms: i64,
    writes: &mut Writes,
) -> Result<(), ApiError> {
    if records.is_empty() {
        return Ok(());
    }
    let topic = offsets_topic(broker, config)?;
    let index = partition_for(group_id, topic.partition_count());
    let partition = topic
        .partition(index)
        .ok_or_else(|| ApiError::code(ResponseError::CoordinatorNotAvailable))?;
    let records: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: NO_SEQUENCE,
            timestamp: now_ms,
            key: Some(key),
            value,
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| ApiError::new(ResponseError::UnknownServerError, e.to_string()))?;
    let info = partition
        .log
        .append_with_origin(buf.freeze(), AppendOrigin::Coordinator)
        .map_err(|e| write_error(log_error(&e)))?;
    writes.0.push((partition.log.clone(), info.last_offset));
    Ok(())
}

/// Replay every partition of `__consumer_offsets` into `groups`: committed
/// offsets come back as they were, groups come back Empty (their members must
/// join again) with their generation and protocol type; tombstones delete.
pub fn replay(
    broker: &Broker,
    groups: &mut std::collections::HashMap<String, Group>,
    now_ms: i64,
) -> anyhow::Result<()> {
    let Some(topic) = broker.topic(OFFSETS_TOPIC) else {
        return Ok(());
    };
    let partitions = topic.partitions.read().clone();
    let mut records = 0u64;
    for partition in partitions {
        let log = &partition.log;
        let mut offset = log.log_start_offset();
        let end = log.log_end_offset();
        while offset < end {
            let read = log.read(offset, 4 << 20, true)?;
            if read.records.is_empty() {
                break;
            }
            let mut next = offset;
            for batch in split_batches(&read.records)? {
                let Some(header) = BatchHeader::parse(batch) else {
                    anyhow::bail!("unreadable batch header in {}", log.dir().display());
                };
                next = next.max(header.next_offset());
                if header.is_control() || header.last_offset() < offset {
                    continue;
                }
                let set = match RecordBatchDecoder::decode(&mut Bytes::copy_from_slice(batch)) {
                    Ok(set) => set,
                    Err(e) => {
                        tracing::warn!(dir = %log.dir().display(), error = %e, "skipping an undecodable batch");
                        continue;
                    }
                };
                for record in set.records {
                    if record.offset < offset {
                        continue;
                    }
                    records += 1;
                    if let Some(key) = &record.key {
                        apply(groups, key, record.value.as_deref(), now_ms);
                    }
                }
            }
            if next <= offset {
                break;
            }
            offset = next;
        }
    }
    groups.retain(|_, g| !g.is_forgettable());
    tracing::info!(
        records,
        groups = groups.len(),
        "loaded consumer groups from __consumer_offsets"
    );
    Ok(())
}

/// Apply one record of `__consumer_offsets`.
fn apply(
    groups: &mut std::collections::HashMap<String, Group>,
    key: &[u8],
    value: Option<&[u8]>,
    now_ms: i64,
) {
    let key = match decode_key(key) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "skipping a record with an unreadable key");
            return;
        }
    };
    match key {
        RecordKey::Offset {
            group,
            topic,
            partition,
        } => match value {
            None => {
                if let Some(g) = groups.get_mut(&group) {
                    g.offsets.remove(&(topic, partition));
                }
            }
            Some(v) => match decode_offset_value(v) {
                Ok(v) => {
                    groups
                        .entry(group.clone())
                        .or_insert_with(|| Group::new(&group, now_ms))
                        .offsets
                        .insert((topic, partition), v);
                }
                Err(e) => tracing::warn!(group, error = %e, "skipping an offset commit"),
            },
        },
        RecordKey::Group { group } => match value {
            None => {
                if let Some(g) = groups.get_mut(&group) {
                    let offsets = std::mem::take(&mut g.offsets);
                    *g = Group::new(&group, now_ms);
                    g.offsets = offsets;
                }
            }
            Some(v) => match decode_group_value(v) {
                Ok(v) => {
                    let g = groups
                        .entry(group.clone())
                        .or_insert_with(|| Group::new(&group, now_ms));
                    g.generation = v.generation;
                    g.protocol_type = Some(v.protocol_type).filter(|t| !t.is_empty());
                    g.protocol_name = None;
                    g.leader = None;
                    g.state = GroupState::Empty;
                    // Members do not come back: the group became Empty now,
                    // unless it already was when the record was written.
                    g.state_timestamp = if v.members.is_empty() {
                        Some(v.current_state_timestamp).filter(|t| *t >= 0)
                    } else {
                        Some(now_ms)
                    };
                    g.stored = true;
                }
                Err(e) => tracing::warn!(group, error = %e, "skipping group metadata"),
            },
        },
        RecordKey::Other(_) => {}
    }
}
