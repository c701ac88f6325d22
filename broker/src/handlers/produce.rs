//! Produce: validate and append each partition's batches, then answer once the
//! data is durable (fsynced, shared by concurrent producers through the log's
//! group commit) — or at once for `acks=0`/`acks=1` under Kafka's page-cache
//! flush policy.
//!
//! A partition's records of up to [`INLINE_APPEND_MAX`] bytes are appended on the
//! network thread that read the request (a page-cache write); larger ones, and
//! every fsync, run on the blocking pool. Handing each small append to another
//! thread and back cost more CPU than the append itself (Java's default 16 KiB
//! batches: about 5 broker CPU-s per GB produced with the hand-off, 3 without).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::{blocking, log_error, Ctx, Reply};
use crate::broker::{ApiError, Partition};
use crate::codec::encode_response;
use strom_log::batch::BatchHeader;

/// The outcome of one partition's append.
struct Appended {
    /// Index of the topic in the response.
    topic_idx: usize,
    partition: Arc<Partition>,
    last_offset: i64,
}

fn partition_error(index: i32, e: &ApiError) -> PartitionProduceResponse {
    let mut r = PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(e.code.code())
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_error_message(e.message.clone().map(StrBytes::from_string));
    if matches!(
        e.code,
        ResponseError::CorruptMessage
            | ResponseError::InvalidRecord
            | ResponseError::InvalidTimestamp
    ) {
        r.record_errors = vec![BatchIndexAndErrorMessage::default()
            .with_batch_index(0)
            .with_batch_index_error_message(e.message.clone().map(StrBytes::from_string))];
    }
    r
}

pub async fn handle(ctx: &Ctx<'_>, req: ProduceRequest) -> Reply {
    let broker = ctx.broker;
    let version = ctx.version();
    let acks = req.acks;
    let mut topics_out = Vec::with_capacity(req.topic_data.len().min(1024));
    let mut appended: Vec<Appended> = Vec::new();
    let acks_error = if !matches!(acks, -1..=1) {
        Some(ApiError::code(ResponseError::InvalidRequiredAcks))
    } else if req.transactional_id.is_some() {
        Some(ApiError::new(
            ResponseError::TransactionalIdAuthorizationFailed,
            "transactions are not supported by this broker yet",
        ))
    } else {
        None
    };
    for topic_data in req.topic_data {
        let topic = if version >= 13 {
            broker.topic_by_id(topic_data.topic_id)
        } else {
            broker.topic(topic_data.name.0.as_str())
        };
        let unknown_code = if version >= 13 {
            ResponseError::UnknownTopicId
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        let mut partitions_out = Vec::with_capacity(topic_data.partition_data.len().min(1024));
        // Append the partitions of this topic concurrently.
        let mut pending = Vec::new();
        for pd in topic_data.partition_data {
            if let Some(e) = &acks_error {
                partitions_out.push(partition_error(pd.index, e));
                continue;
            }
            let Some(partition) = topic.as_ref().and_then(|t| t.partition(pd.index)) else {
                partitions_out.push(partition_error(pd.index, &ApiError::code(unknown_code)));
                continue;
            };
            if topic.as_ref().is_some_and(|t| t.is_internal()) {
                // Kafka: clients may not append to internal topics.
                partitions_out.push(partition_error(
                    pd.index,
                    &ApiError::new(
                        ResponseError::InvalidTopicException,
                        format!("Cannot append to internal topic {}", partition.topic),
                    ),
                ));
                continue;
            }
            let records = pd.records.unwrap_or_default();
            pending.push(append(partition, records));
        }
        for (partition, result) in futures::future::join_all(pending).await {
            match result {
                Ok(info) => {
                    partitions_out.push(
                        PartitionProduceResponse::default()
                            .with_index(partition.index)
                            .with_base_offset(info.base_offset)
                            .with_log_append_time_ms(info.log_append_time)
                            .with_log_start_offset(info.log_start_offset),
                    );
                    appended.push(Appended {
                        topic_idx: topics_out.len(),
                        partition,
                        last_offset: info.last_offset,
                    });
                }
                Err(e) => {
                    tracing::debug!(topic = %partition.topic, partition = partition.index, error = ?e.message, "produce rejected");
                    partitions_out.push(partition_error(partition.index, &e));
                }
            }
        }
        partitions_out.sort_by_key(|p| p.index);
        let mut t = TopicProduceResponse::default().with_partition_responses(partitions_out);
        if version >= 13 {
            t.topic_id = topic_data.topic_id;
        } else {
            t.name = topic_data.name;
        }
        topics_out.push(t);
    }
    if !appended.is_empty() {
        broker.data_appended.notify_waiters();
    }
    let response = ProduceResponse::default().with_responses(topics_out);
    let correlation_id = ctx.header.correlation_id;
    let encode = move |resp: ProduceResponse| match encode_response(
        ApiKey::Produce,
        version,
        correlation_id,
        &ResponseKind::Produce(resp),
    ) {
        Ok(f) => Some(f.into()),
        Err(e) => {
            tracing::error!(error = %e, "encoding produce response");
            None
        }
    };
    if acks == 0 {
        return Reply::Now(None);
    }
    if !broker.fsync_on_ack || appended.is_empty() {
        return Reply::Now(encode(response));
    }
    // Durability: answer when every appended partition is fsynced.
    Reply::Later(Box::pin(async move {
        let mut response = response;
        let syncs = appended.into_iter().map(|a| async move {
            let p = a.partition.clone();
            let r = in_pool(move || p.log.sync_to(a.last_offset)).await;
            (a.topic_idx, a.partition, r)
        });
        for (topic_idx, partition, r) in futures::future::join_all(syncs).await {
            if let Err(e) = r {
                tracing::error!(topic = %partition.topic, partition = partition.index, error = ?e.message, "fsync failed");
                let storage = ApiError::new(ResponseError::KafkaStorageError, "fsync failed");
                if let Some(t) = response.responses.get_mut(topic_idx) {
                    for p in &mut t.partition_responses {
                        if p.index == partition.index {
                            *p = partition_error(p.index, &storage);
                        }
                    }
                }
            }
        }
        encode(response)
    }))
}

/// Appends up to this size run on the network thread that read the request: a
/// page-cache write and a walk over the records (decompressing an lz4 or zstd batch
/// of this size takes a few milliseconds at most). Larger ones, and the fsyncs an
/// append may owe after a segment roll, go to the blocking pool.
const INLINE_APPEND_MAX: usize = 64 << 10;

/// The same for uncompressed batches, which are copied and walked but not
/// inflated (a few hundred microseconds for a megabyte): librdkafka's batches
/// are up to 1 MB. Sending them to the pool cost two thread wake-ups each;
/// keeping them here cut the broker's CPU per record by about a fifth with 16
/// librdkafka producers.
const INLINE_APPEND_MAX_UNCOMPRESSED: usize = 1 << 20;

/// Whether `records` may be appended on the network thread.
fn inline_append(records: &[u8]) -> bool {
    if records.len() <= INLINE_APPEND_MAX {
        return true;
    }
    if records.len() > INLINE_APPEND_MAX_UNCOMPRESSED {
        return false;
    }
    // Every batch uncompressed (framing errors are left to the append).
    let mut rest = records;
    while !rest.is_empty() {
        match BatchHeader::parse(rest) {
            Some(h) if h.compression_id() == 0 && h.size() > 0 && h.size() <= rest.len() => {
                rest = &rest[h.size()..];
            }
            _ => return false,
        }
    }
    true
}

async fn append(
    partition: Arc<Partition>,
    records: Bytes,
) -> (Arc<Partition>, Result<strom_log::AppendInfo, ApiError>) {
    let p = partition.clone();
    let result = if inline_append(&records) {
        match p.log.append_quick(records) {
            Ok((info, None)) => Ok(info),
            Ok((info, Some(rest))) => in_pool(move || p.log.finish_append(rest))
                .await
                .map(|()| info),
            Err(e) => Err(log_error(&e)),
        }
    } else {
        in_pool(move || p.log.append(records)).await
    };
    (partition, result)
}

/// A storage call on the blocking pool, its error as Kafka's.
async fn in_pool<T: Send + 'static>(
    f: impl FnOnce() -> strom_log::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    blocking(f).await?.map_err(|e| log_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in batch of `size` bytes: only the framing and attributes
    /// `inline_append` looks at.
    fn batch(size: usize, codec: i16) -> Vec<u8> {
        let mut b = vec![0u8; size];
        b[8..12].copy_from_slice(&((size - 12) as i32).to_be_bytes());
        b[16] = 2;
        b[21..23].copy_from_slice(&codec.to_be_bytes());
        b
    }

    #[test]
    fn small_appends_and_uncompressed_ones_up_to_a_mebibyte_stay_on_the_network_thread() {
        assert!(inline_append(&batch(1000, 3)), "small, even compressed");
        let plain = [batch(300_000, 0), batch(300_000, 0)].concat();
        assert!(inline_append(&plain));
        assert!(!inline_append(
            &[batch(300_000, 0), batch(300_000, 3)].concat()
        ));
        assert!(!inline_append(&batch(200_000, 4)), "large and compressed");
        assert!(!inline_append(&batch((1 << 20) + 1, 0)), "over a mebibyte");
        let mut bad = batch(300_000, 0);
        bad[8..12].copy_from_slice(&400_000i32.to_be_bytes());
        assert!(!inline_append(&bad), "framing past the end");
        assert!(!inline_append(&[plain.as_slice(), &[0u8; 70_000]].concat()));
    }
}
