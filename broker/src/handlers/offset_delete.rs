//! OffsetDelete (v0): delete a group's committed offsets of some partitions;
//! not for topics a member of the (consumer) group subscribes to
//! (GROUP_SUBSCRIBED_TO_TOPIC).

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use super::{blocking, Ctx};

pub async fn handle(ctx: &Ctx<'_>, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let group_id = req.group_id.0.to_string();
    let topics: Vec<(String, Vec<i32>)> = req
        .topics
        .iter()
        .map(|t| {
            (
                t.name.0.to_string(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    let b = ctx.broker.clone();
    let result = blocking(move || b.groups.delete_offsets(&b, &group_id, &topics)).await;
    let errors = match result {
        Ok(Ok(errors)) => errors,
        Ok(Err(code)) => return OffsetDeleteResponse::default().with_error_code(code.code()),
        Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code.code()),
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
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(e.map_or(0, |e| e.code()))
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
