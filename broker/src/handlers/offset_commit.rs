//! OffsetCommit (v2–v9): store committed offsets (with their metadata string
//! and leader epoch) in `__consumer_offsets`; answered once durable. Members
//! of a group must be current (generation, member id); a group without
//! members takes commits with generation -1. The v9 member epoch is the
//! classic generation here (KIP-848 groups are not served).

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::{blocking, Ctx};
use crate::coordinator::offsets::{CommitPartition, CommitRequest};

pub async fn handle(ctx: &Ctx<'_>, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let version = ctx.version();
    let commit = CommitRequest {
        api_version: version,
        group_id: req.group_id.0.to_string(),
        generation: req.generation_id_or_member_epoch,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        retention_time_ms: if version <= 4 {
            req.retention_time_ms
        } else {
            -1
        },
        topics: req
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| CommitPartition {
                        partition: p.partition_index,
                        offset: p.committed_offset,
                        leader_epoch: if version >= 6 {
                            p.committed_leader_epoch
                        } else {
                            -1
                        },
                        metadata: p.committed_metadata.as_ref().map(|s| s.to_string()),
                    })
                    .collect();
                (t.name.0.to_string(), partitions)
            })
            .collect(),
    };
    let b = ctx.broker.clone();
    let errors = match blocking(move || b.groups.commit_offsets(&b, &commit)).await {
        Ok(errors) => errors,
        Err(e) => req
            .topics
            .iter()
            .map(|t| vec![Some(e.code); t.partitions.len()])
            .collect(),
    };
    let topics = req
        .topics
        .into_iter()
        .zip(errors)
        .map(|(t, errors)| {
            let partitions = t
                .partitions
                .iter()
                .zip(errors)
                .map(|(p, e)| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(e.map_or(0, |e| e.code()))
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}
