//! CreatePartitions: grow a topic's partition count (never shrink), answered per topic.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::{blocking, msg, Ctx};
use crate::broker::ApiError;

pub async fn handle(ctx: &Ctx<'_>, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let broker = ctx.broker.clone();
    let results = blocking(move || {
        req.topics
            .into_iter()
            .map(|t| {
                let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
                let outcome = (|| {
                    let topic = broker.topic(t.name.0.as_str()).ok_or_else(|| {
                        ApiError::new(
                            ResponseError::UnknownTopicOrPartition,
                            format!("The topic '{}' does not exist.", t.name.0.as_str()),
                        )
                    })?;
                    if let Some(assignments) = &t.assignments {
                        let new = (t.count - topic.partition_count()).max(0) as usize;
                        if assignments.len() != new
                            || assignments.iter().any(|a| a.broker_ids.len() != 1 || a.broker_ids[0].0 != broker.node_id)
                        {
                            return Err(ApiError::new(
                                ResponseError::InvalidReplicaAssignment,
                                format!("Invalid replica assignment: expected {new} assignments naming broker {}", broker.node_id),
                            ));
                        }
                    }
                    broker.create_partitions(&topic, t.count, req.validate_only)
                })();
                match outcome {
                    Ok(()) => r,
                    Err(e) => r.with_error_code(e.code.code()).with_error_message(msg(&e.message)),
                }
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    CreatePartitionsResponse::default().with_results(results)
}
