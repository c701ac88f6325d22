//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), earliest local
//! (-4), latest tiered (-5), or the first offset whose timestamp is at least
//! the given one.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::{blocking, log_error, Ctx};

pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL: i64 = -4;
pub const LATEST_TIERED: i64 = -5;

pub async fn handle(ctx: &Ctx<'_>, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let broker = ctx.broker.clone();
    // The leader epoch exists from v4 on; an older response cannot carry one.
    let leader_epoch = if ctx.version() >= 4 { 0 } else { -1 };
    let topics = blocking(move || {
        req.topics
            .into_iter()
            .map(|t| {
                let topic = broker.topic(t.name.0.as_str());
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let base = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index)
                            .with_timestamp(-1)
                            .with_offset(-1);
                        let Some(part) =
                            topic.as_ref().and_then(|t| t.partition(p.partition_index))
                        else {
                            return base
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                        };
                        let log = &part.log;
                        let base = base.with_leader_epoch(leader_epoch);
                        match p.timestamp {
                            LATEST => base.with_offset(log.high_watermark()),
                            EARLIEST | EARLIEST_LOCAL => base.with_offset(log.log_start_offset()),
                            LATEST_TIERED => base,
                            MAX_TIMESTAMP => match log.max_timestamp() {
                                Some(m) => base.with_offset(m.offset).with_timestamp(m.timestamp),
                                None => base,
                            },
                            ts if ts < 0 => {
                                base.with_error_code(ResponseError::InvalidRequest.code())
                            }
                            ts => match log.offset_for_timestamp(ts) {
                                Ok(Some(found)) => base
                                    .with_offset(found.offset)
                                    .with_timestamp(found.timestamp),
                                Ok(None) => base,
                                Err(e) => base.with_error_code(log_error(&e).code.code()),
                            },
                        }
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    ListOffsetsResponse::default().with_topics(topics)
}
