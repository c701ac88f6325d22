//! Fetch: read whole batches from each requested partition, within the
//! partition and response byte limits (the first batch of the first partition
//! with data is returned whole even when larger: KIP-74), long-polling until
//! `min_bytes` are available or `max_wait_ms` passes. Incremental fetch
//! sessions are declined: every answer carries session id 0, so clients send
//! full fetch requests.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use uuid::Uuid;

use super::{blocking, log_error, Ctx};
use crate::broker::{ApiError, Partition};
use strom_log::{FileRegion, Wait};

/// One partition to read, resolved.
struct Wanted {
    topic_idx: usize,
    index: i32,
    partition: Result<Arc<Partition>, ApiError>,
    offset: i64,
    max_bytes: usize,
}

/// The answer, and the partitions' records as ranges of segment files (by
/// topic and partition, in the answer's order) to be sent from there.
pub async fn handle(
    ctx: &Ctx<'_>,
    req: FetchRequest,
) -> (FetchResponse, Vec<Vec<Option<FileRegion>>>) {
    let broker = ctx.broker;
    let version = ctx.version();
    if req.session_id != 0 {
        // We never hand out session ids, so any non-zero one is unknown.
        let answer = FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code())
            .with_session_id(0);
        return (answer, Vec::new());
    }
    let mut topics: Vec<(TopicName, Uuid)> = Vec::new();
    let mut wanted = Vec::new();
    for ft in &req.topics {
        let (topic, unknown) = if version >= 13 {
            (
                broker.topic_by_id(ft.topic_id),
                ResponseError::UnknownTopicId,
            )
        } else {
            (
                broker.topic(ft.topic.0.as_str()),
                ResponseError::UnknownTopicOrPartition,
            )
        };
        let topic_idx = topics.len();
        topics.push((ft.topic.clone(), ft.topic_id));
        for fp in &ft.partitions {
            let partition = topic
                .as_ref()
                .and_then(|t| t.partition(fp.partition))
                .ok_or_else(|| ApiError::code(unknown));
            wanted.push(Wanted {
                topic_idx,
                index: fp.partition,
                partition,
                offset: fp.fetch_offset,
                max_bytes: fp.partition_max_bytes.max(0) as usize,
            });
        }
    }
    let response_max = if req.max_bytes <= 0 {
        i32::MAX as usize
    } else {
        req.max_bytes as usize
    };
    let min_bytes = req.min_bytes.max(0) as usize;
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let wanted = Arc::new(wanted);
    let results = loop {
        // Register for wake-ups before reading, so no append is missed.
        let notified = broker.data_appended.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // Here, if the page cache holds every byte to read (the usual case for
        // a consumer that keeps up); on the blocking pool otherwise. The hop
        // there and back costs two thread wake-ups per fetch, and on a busy
        // machine each may wait for a core: more than the reads themselves.
        let results = match read_all(&wanted, response_max, Wait::No) {
            Some(r) => Ok(r),
            None => {
                let w = wanted.clone();
                // A read that may wait never reports WouldBlock (None).
                blocking(move || read_all(&w, response_max, Wait::Yes))
                    .await
                    .and_then(|r| {
                        r.ok_or_else(|| ApiError::code(ResponseError::UnknownServerError))
                    })
            }
        };
        let results = match results {
            Ok(r) => r,
            Err(e) => {
                return (
                    FetchResponse::default().with_error_code(e.code.code()),
                    Vec::new(),
                );
            }
        };
        let bytes: usize = results
            .iter()
            .map(|(data, region)| {
                data.records.as_ref().map_or(0, Bytes::len) + region.as_ref().map_or(0, |r| r.len)
            })
            .sum();
        let any_error = results.iter().any(|(r, _)| r.error_code != 0);
        if bytes >= min_bytes.max(1) || any_error || min_bytes == 0 || wanted.is_empty() {
            break results;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            break results;
        }
    };
    let mut out: Vec<FetchableTopicResponse> = topics
        .iter()
        .map(|(name, id)| {
            let mut t = FetchableTopicResponse::default();
            if version >= 13 {
                t.topic_id = *id;
            } else {
                t.topic = name.clone();
            }
            t
        })
        .collect();
    let mut regions: Vec<Vec<Option<FileRegion>>> = vec![Vec::new(); out.len()];
    for (w, (r, region)) in wanted.iter().zip(results) {
        if let Some(t) = out.get_mut(w.topic_idx) {
            t.partitions.push(r);
            regions[w.topic_idx].push(region);
        }
    }
    let answer = FetchResponse::default()
        .with_session_id(0)
        .with_responses(out);
    (answer, regions)
}

/// Records shorter than this are read into the answer, to go out in one write
/// with its header parts; a `sendfile` of their own, between two writes of
/// header parts, costs more syscalls and TCP segments than copying them (a
/// consumer that keeps up gets a few records per fetch).
const SENDFILE_MIN: usize = 16 * 1024;

/// Find every wanted partition's records once (batch headers are read, under
/// `wait`). Most stay in the log files, as regions; short ones are read.
/// `None` when, with [`Wait::No`], a read would have waited for the disk.
fn read_all(
    wanted: &[Wanted],
    response_max: usize,
    wait: Wait,
) -> Option<Vec<(PartitionData, Option<FileRegion>)>> {
    let would_block = |e: &std::io::Error| e.kind() == std::io::ErrorKind::WouldBlock;
    let mut budget = response_max;
    let mut have_data = false;
    let mut out = Vec::with_capacity(wanted.len());
    for w in wanted {
        let partition = match &w.partition {
            Ok(p) => p,
            Err(e) => {
                out.push((empty(w.index, e.code.code(), -1, -1), None));
                continue;
            }
        };
        let log = &partition.log;
        let hw = log.high_watermark();
        let start = log.log_start_offset();
        let limit = w.max_bytes.min(budget);
        if limit == 0 && have_data {
            out.push((empty(w.index, 0, hw, start), None));
            continue;
        }
        let read = match log.read_region(w.offset, limit, !have_data, wait) {
            Ok(read) => read,
            Err(strom_log::Error::Io(e)) if wait == Wait::No && would_block(&e) => return None,
            Err(e) => {
                out.push((empty(w.index, log_error(&e).code.code(), hw, start), None));
                continue;
            }
        };
        if let Some(region) = &read.records {
            have_data = true;
            budget = budget.saturating_sub(region.len);
        }
        let (records, region) = match read.records {
            Some(r) if r.len < SENDFILE_MIN => match r.read(wait) {
                Ok(bytes) => (bytes, None),
                Err(e) if wait == Wait::No && would_block(&e) => return None,
                Err(e) => {
                    let code = log_error(&e.into()).code.code();
                    out.push((empty(w.index, code, hw, start), None));
                    continue;
                }
            },
            region => (Bytes::new(), region),
        };
        let data = PartitionData::default()
            .with_partition_index(w.index)
            .with_high_watermark(read.high_watermark)
            .with_last_stable_offset(read.last_stable_offset)
            .with_log_start_offset(read.log_start_offset)
            .with_records(Some(records));
        out.push((data, region));
    }
    Some(out)
}

fn empty(index: i32, code: i16, hw: i64, start: i64) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(code)
        .with_high_watermark(hw)
        .with_last_stable_offset(hw)
        .with_log_start_offset(start)
        .with_records(Some(Bytes::new()))
}
