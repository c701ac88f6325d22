//! Validation of a producer's `records` and the rewrite into what is stored
//! (Kafka's `LogValidator`): every batch is checked before anything is written, so an
//! append is all or nothing. Offsets are assigned later, under the append lock, by
//! [`PreparedAppend::assign_offsets`] (baseOffset is outside the CRC).
//!
//! The producer's bytes are not copied: each prepared batch is its rewritten
//! 61-byte header plus the records section as a slice of the request's buffer
//! (or the re-encoded section, when the topic's codec differs), written to the
//! segment with one vectored write.

use crate::batch::{
    self, BatchHeader, ATTRIBUTES_OFFSET, COMPRESSION_CODEC_MASK, CRC_OFFSET, LENGTH_OFFSET,
    LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2, MAX_TIMESTAMP_OFFSET, PARTITION_LEADER_EPOCH_OFFSET,
    RECORD_BATCH_OVERHEAD, TIMESTAMP_TYPE_FLAG,
};
use bytes::Bytes;

use crate::compression;
use crate::log::AppendOrigin;
use crate::{Error, Result, TimestampType};

/// Smallest v0 message: the smallest length field that is not nonsense.
const MIN_LEGACY_LENGTH: usize = 14;

/// Largest decompressed records section accepted for a batch.
pub(crate) fn decompress_limit(max_message_bytes: usize) -> usize {
    (64 << 20).max(max_message_bytes.saturating_mul(4))
}

/// What the validator needs from the log's configuration.
pub(crate) struct AppendContext {
    pub origin: AppendOrigin,
    pub max_message_bytes: usize,
    /// Topic codec to re-encode into, `None` to keep the producer's.
    pub target_codec: Option<u8>,
    pub timestamp_type: TimestampType,
    pub now_ms: i64,
    pub leader_epoch: i32,
    /// `cleanup.policy` includes `compact`: records without a key are rejected.
    pub compacted: bool,
}

/// One batch of a [`PreparedAppend`].
#[derive(Debug, Clone)]
pub(crate) struct PreparedBatch {
    /// The batch header as it will be stored (broker-owned fields rewritten).
    pub header: [u8; RECORD_BATCH_OVERHEAD],
    /// The records section after the header, as sent or re-encoded.
    pub body: Bytes,
    /// Size of the stored batch: header and body.
    pub size: usize,
    /// Base offset: as sent until [`PreparedAppend::assign_offsets`] runs.
    pub base_offset: i64,
    pub last_offset_delta: i32,
    /// The batch's max timestamp as stored.
    pub max_timestamp: i64,
    /// Offset delta of the first record carrying `max_timestamp`.
    pub max_timestamp_delta: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub is_transactional: bool,
    /// For a control batch: the coordinator epoch of its end-transaction marker
    /// (-1 if it could not be read).
    pub control_coordinator_epoch: Option<i32>,
}

impl PreparedBatch {
    /// Offset of the first record carrying the batch's max timestamp.
    pub fn offset_of_max_timestamp(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.max_timestamp_delta))
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }
}

/// Validated, rewritten batches, ready to be written once offsets are assigned.
#[derive(Debug)]
pub(crate) struct PreparedAppend {
    pub batches: Vec<PreparedBatch>,
    /// Bytes to store: the sum of the batches' sizes.
    pub size: usize,
    pub record_count: u64,
    /// `now_ms` when the topic uses LogAppendTime, else -1.
    pub log_append_time: i64,
}

impl PreparedAppend {
    /// Writes dense offsets starting at `next` into every batch; returns the next offset
    /// after the append.
    pub fn assign_offsets(&mut self, mut next: i64) -> i64 {
        for b in &mut self.batches {
            b.base_offset = next;
            batch::put_i64(&mut b.header, 0, next);
            next += i64::from(b.last_offset_delta) + 1;
        }
        next
    }

    /// The bytes to store, in order: each batch's header, then its body.
    pub fn slices(&self) -> Vec<&[u8]> {
        self.batches
            .iter()
            .flat_map(|b| [&b.header[..], &b.body[..]])
            .collect()
    }
}

/// A batch that passed validation, before the rewrite.
struct Checked<'a> {
    raw: &'a [u8],
    /// Position of `raw` in the producer's records.
    pos: usize,
    header: BatchHeader,
    /// Decompressed records, kept only when the batch must be re-encoded.
    records: Option<Vec<u8>>,
    recompress_to: Option<u8>,
    max_timestamp: i64,
    max_timestamp_delta: i32,
    control_coordinator_epoch: Option<i32>,
}

/// Validates `records` (one or more RecordBatch v2) and builds what will be stored.
pub(crate) fn prepare_append(records: &Bytes, ctx: &AppendContext) -> Result<PreparedAppend> {
    if records.is_empty() {
        return Err(Error::InvalidRecord("empty append".into()));
    }
    let mut checked = Vec::new();
    let mut pos = 0usize;
    while pos < records.len() {
        let size = frame(&records[pos..], ctx.max_message_bytes)?;
        checked.push(check_batch(&records[pos..pos + size], pos, ctx)?);
        pos += size;
    }
    rewrite(checked, records, ctx)
}

/// Checks the framing of the batch at the start of `rest`; returns its size.
fn frame(rest: &[u8], max_message_bytes: usize) -> Result<usize> {
    if rest.len() < LOG_OVERHEAD {
        return Err(Error::CorruptRecord(format!(
            "{} trailing bytes after the last record batch",
            rest.len()
        )));
    }
    let len = i32::from_be_bytes([
        rest[LENGTH_OFFSET],
        rest[LENGTH_OFFSET + 1],
        rest[LENGTH_OFFSET + 2],
        rest[LENGTH_OFFSET + 3],
    ]);
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l >= MIN_LEGACY_LENGTH)
        .ok_or_else(|| Error::CorruptRecord(format!("invalid record batch length {len}")))?;
    let size = len + LOG_OVERHEAD;
    if size > rest.len() {
        return Err(Error::CorruptRecord(format!(
            "record batch of {size} bytes truncated to {}",
            rest.len()
        )));
    }
    let magic = rest[MAGIC_OFFSET] as i8;
    match magic {
        MAGIC_V2 => {}
        0 | 1 => return Err(Error::UnsupportedMagic(magic)),
        other => {
            return Err(Error::CorruptRecord(format!(
                "invalid record batch magic {other}"
            )))
        }
    }
    if size < RECORD_BATCH_OVERHEAD {
        return Err(Error::CorruptRecord(format!(
            "record batch of {size} bytes is smaller than its header"
        )));
    }
    if size > max_message_bytes {
        return Err(Error::MessageTooLarge {
            size,
            max: max_message_bytes,
        });
    }
    Ok(size)
}

fn check_batch<'a>(raw: &'a [u8], pos: usize, ctx: &AppendContext) -> Result<Checked<'a>> {
    let header = BatchHeader::parse(raw)
        .ok_or_else(|| Error::CorruptRecord("record batch shorter than its header".into()))?;
    if !batch::crc_is_valid(raw) {
        return Err(Error::CorruptRecord(format!(
            "record batch CRC mismatch (stored {:#010x}, computed {:#010x})",
            header.crc,
            batch::compute_crc(raw)
        )));
    }
    let codec = header.compression_id();
    if codec > compression::ZSTD {
        return Err(Error::UnsupportedCompression(codec));
    }
    if header.record_count <= 0 {
        return Err(Error::InvalidRecord(format!(
            "invalid record count {} in record batch",
            header.record_count
        )));
    }
    if header.last_offset_delta != header.record_count - 1 {
        return Err(Error::InvalidRecord(format!(
            "record count {} does not match last offset delta {}",
            header.record_count, header.last_offset_delta
        )));
    }
    if header.is_control() && ctx.origin == AppendOrigin::Client {
        return Err(Error::InvalidRecord(
            "clients are not allowed to write control records".into(),
        ));
    }
    if ctx.origin == AppendOrigin::Client && header.has_producer_id() && header.base_sequence < 0 {
        return Err(Error::InvalidRecord(format!(
            "invalid sequence number {} in record batch with producer id {}",
            header.base_sequence, header.producer_id
        )));
    }
    let recompress_to = match ctx.target_codec {
        Some(target) if target != codec && ctx.origin != AppendOrigin::Replication => Some(target),
        _ => None,
    };

    // Walk the records: framing, offset deltas, and the max timestamp. A
    // compressed batch is decompressed once: into a buffer kept for the
    // re-encoding when there is one, else into this thread's reused buffer.
    let payload = &raw[RECORD_BATCH_OVERHEAD..];
    let limit = decompress_limit(ctx.max_message_bytes);
    let (walk, decompressed) = if codec == compression::NONE {
        (walk_records(payload, &header, ctx)?, None)
    } else if recompress_to.is_some() {
        let d = compression::decompress(codec, payload, limit)?;
        (walk_records(&d, &header, ctx)?, Some(d))
    } else {
        let walk = compression::with_decompressed(codec, payload, limit, |section| {
            walk_records(section, &header, ctx)
        })?;
        (walk, None)
    };
    let Walk {
        max_ts_delta,
        control_coordinator_epoch,
    } = walk;
    let (max_timestamp, max_timestamp_delta) = if header.timestamp_type()
        == TimestampType::LogAppendTime
        && ctx.origin == AppendOrigin::Replication
    {
        (header.max_timestamp, 0)
    } else {
        (
            header.base_timestamp.saturating_add(max_ts_delta.0),
            max_ts_delta.1,
        )
    };
    Ok(Checked {
        raw,
        pos,
        header,
        records: decompressed,
        recompress_to,
        max_timestamp,
        max_timestamp_delta,
        control_coordinator_epoch,
    })
}

/// What the walk over a batch's records found.
struct Walk {
    /// Largest timestamp delta and the offset delta of its first record.
    max_ts_delta: (i64, i32),
    control_coordinator_epoch: Option<i32>,
}

/// Checks every record of a batch's (decompressed) records section: framing,
/// dense offset deltas, keys on a compacted topic; finds the max timestamp.
fn walk_records(section: &[u8], header: &BatchHeader, ctx: &AppendContext) -> Result<Walk> {
    let mut expected_delta = 0i32;
    let mut bad_delta = None;
    let mut keyless = false;
    let mut max_ts_delta = (i64::MIN, 0i32);
    let mut control_coordinator_epoch = None;
    let check_keys =
        ctx.compacted && ctx.origin != AppendOrigin::Replication && !header.is_control();
    batch::for_each_record_view(section, header.record_count, |r| {
        if r.offset_delta != expected_delta {
            bad_delta = Some((expected_delta, r.offset_delta));
            return Ok(false);
        }
        if check_keys && r.key.is_none() {
            keyless = true;
            return Ok(false);
        }
        if header.is_control() && expected_delta == 0 {
            control_coordinator_epoch = Some(end_txn_coordinator_epoch(r.value));
        }
        if r.timestamp_delta > max_ts_delta.0 {
            max_ts_delta = (r.timestamp_delta, r.offset_delta);
        }
        expected_delta += 1;
        Ok(true)
    })?;
    if let Some((want, got)) = bad_delta {
        return Err(Error::InvalidRecord(format!(
            "record offset delta {got} where {want} was expected"
        )));
    }
    if keyless {
        // Kafka's LogValidator.validateKey: INVALID_RECORD.
        return Err(Error::InvalidRecord(
            "Compacted topic cannot accept message without key".into(),
        ));
    }
    Ok(Walk {
        max_ts_delta,
        control_coordinator_epoch,
    })
}

/// The coordinator epoch of an end-transaction marker record's value (version i16,
/// coordinatorEpoch i32), -1 when absent or malformed.
pub(crate) fn end_txn_coordinator_epoch(value: Option<&[u8]>) -> i32 {
    match value {
        Some(v) if v.len() >= 6 => i32::from_be_bytes([v[2], v[3], v[4], v[5]]),
        _ => -1,
    }
}

fn rewrite(
    checked: Vec<Checked<'_>>,
    records: &Bytes,
    ctx: &AppendContext,
) -> Result<PreparedAppend> {
    let mut batches = Vec::with_capacity(checked.len());
    let mut record_count = 0u64;
    let mut total = 0usize;
    for c in checked {
        let mut header = [0u8; RECORD_BATCH_OVERHEAD];
        header.copy_from_slice(&c.raw[..RECORD_BATCH_OVERHEAD]);
        let mut dirty = false;
        let body = match c.recompress_to {
            Some(codec) => {
                let section = c
                    .records
                    .as_deref()
                    .unwrap_or(&c.raw[RECORD_BATCH_OVERHEAD..]);
                let compressed = compression::compress(codec, section)?;
                let stored = RECORD_BATCH_OVERHEAD + compressed.len();
                let len =
                    i32::try_from(stored - LOG_OVERHEAD).map_err(|_| Error::MessageTooLarge {
                        size: stored,
                        max: ctx.max_message_bytes,
                    })?;
                batch::put_i32(&mut header, LENGTH_OFFSET, len);
                let attributes = (c.header.attributes & !COMPRESSION_CODEC_MASK) | i16::from(codec);
                batch::put_i16(&mut header, ATTRIBUTES_OFFSET, attributes);
                dirty = true;
                Bytes::from(compressed)
            }
            None => records.slice(c.pos + RECORD_BATCH_OVERHEAD..c.pos + c.raw.len()),
        };
        let size = RECORD_BATCH_OVERHEAD + body.len();
        if size > ctx.max_message_bytes {
            return Err(Error::MessageTooLarge {
                size,
                max: ctx.max_message_bytes,
            });
        }
        let b = &mut header;
        let (mut max_timestamp, mut max_timestamp_delta) = (c.max_timestamp, c.max_timestamp_delta);
        if ctx.origin != AppendOrigin::Replication {
            batch::put_i32(b, PARTITION_LEADER_EPOCH_OFFSET, ctx.leader_epoch);
            let attributes = i16::from_be_bytes([b[ATTRIBUTES_OFFSET], b[ATTRIBUTES_OFFSET + 1]]);
            let (wanted_attributes, wanted_max) = match ctx.timestamp_type {
                TimestampType::LogAppendTime => {
                    max_timestamp = ctx.now_ms;
                    max_timestamp_delta = 0;
                    (attributes | TIMESTAMP_TYPE_FLAG, ctx.now_ms)
                }
                TimestampType::CreateTime => (attributes & !TIMESTAMP_TYPE_FLAG, max_timestamp),
            };
            if wanted_attributes != attributes || wanted_max != c.header.max_timestamp {
                batch::put_i16(b, ATTRIBUTES_OFFSET, wanted_attributes);
                batch::put_i64(b, MAX_TIMESTAMP_OFFSET, wanted_max);
                dirty = true;
            }
        }
        if dirty {
            let crc = crc32c::crc32c_append(crc32c::crc32c(&header[ATTRIBUTES_OFFSET..]), &body);
            batch::put_u32(&mut header, CRC_OFFSET, crc);
        }
        record_count += c.header.record_count as u64;
        total += size;
        batches.push(PreparedBatch {
            header,
            body,
            size,
            base_offset: c.header.base_offset,
            last_offset_delta: c.header.last_offset_delta,
            max_timestamp,
            max_timestamp_delta,
            producer_id: c.header.producer_id,
            producer_epoch: c.header.producer_epoch,
            base_sequence: c.header.base_sequence,
            is_transactional: c.header.is_transactional(),
            control_coordinator_epoch: c
                .header
                .is_control()
                .then(|| c.control_coordinator_epoch.unwrap_or(-1)),
        });
    }
    let log_append_time = match (ctx.origin, ctx.timestamp_type) {
        (AppendOrigin::Replication, _) | (_, TimestampType::CreateTime) => -1,
        (_, TimestampType::LogAppendTime) => ctx.now_ms,
    };
    Ok(PreparedAppend {
        batches,
        size: total,
        record_count,
        log_append_time,
    })
}
