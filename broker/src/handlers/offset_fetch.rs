//! OffsetFetch (v1–v9): committed offsets of one group (v1–v7) or several
//! (v8+); all of a group's offsets when no topics are given (v2+). A partition
//! without a committed offset answers offset -1, leader epoch -1 and empty
//! metadata, as Kafka. `require_stable` needs nothing here (no transactional
//! offset commits are pending: TxnOffsetCommit is not served).

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use crate::coordinator::offsets::FetchedTopic;
use crate::coordinator::records::OffsetValue;

/// (offset, leader epoch, metadata) of a partition, Kafka's "none" when absent.
fn committed(v: Option<OffsetValue>) -> (i64, i32, StrBytes) {
    match v {
        Some(v) => (v.offset, v.leader_epoch, StrBytes::from_string(v.metadata)),
        None => (-1, -1, StrBytes::default()),
    }
}

pub fn handle(ctx: &Ctx<'_>, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let version = ctx.version();
    let groups = &ctx.broker.groups;
    if version >= 8 {
        let out = req
            .groups
            .into_iter()
            .map(|g| {
                let wanted: Option<Vec<(String, Vec<i32>)>> = g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                });
                let fetched = groups.fetch_offsets(g.group_id.0.as_str(), wanted.as_deref());
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id)
                    .with_topics(topics_v8(fetched))
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(out);
    }
    let wanted: Option<Vec<(String, Vec<i32>)>> = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect()
    });
    let fetched = groups.fetch_offsets(req.group_id.0.as_str(), wanted.as_deref());
    let topics = fetched
        .into_iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(index, v)| {
                    let (offset, epoch, metadata) = committed(v);
                    let mut p = OffsetFetchResponsePartition::default()
                        .with_partition_index(index)
                        .with_committed_offset(offset)
                        .with_metadata(Some(metadata));
                    if version >= 5 {
                        p.committed_leader_epoch = epoch;
                    }
                    p
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(StrBytes::from_string(name)))
                .with_partitions(partitions)
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}

fn topics_v8(fetched: Vec<FetchedTopic>) -> Vec<OffsetFetchResponseTopics> {
    fetched
        .into_iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(index, v)| {
                    let (offset, epoch, metadata) = committed(v);
                    OffsetFetchResponsePartitions::default()
                        .with_partition_index(index)
                        .with_committed_offset(offset)
                        .with_committed_leader_epoch(epoch)
                        .with_metadata(Some(metadata))
                })
                .collect();
            OffsetFetchResponseTopics::default()
                .with_name(TopicName(StrBytes::from_string(name)))
                .with_partitions(partitions)
        })
        .collect()
}
