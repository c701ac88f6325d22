//! RecordBatch v2 (magic 2) framing: the header fields, the CRC, and a walk over the
//! records inside a batch.
//!
//! ```text
//! offset  field
//!  0      baseOffset            i64
//!  8      batchLength           i32   (bytes after this field)
//! 12      partitionLeaderEpoch  i32
//! 16      magic                 i8
//! 17      crc                   u32   (CRC-32C of bytes 21..end)
//! 21      attributes            i16   (bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control)
//! 23      lastOffsetDelta       i32
//! 27      baseTimestamp         i64
//! 35      maxTimestamp          i64
//! 43      producerId            i64
//! 51      producerEpoch         i16
//! 53      baseSequence          i32
//! 57      recordCount           i32
//! 61      records...
//! ```

use crate::{Error, Result, TimestampType};

/// Size of the batch header (the records start here).
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// baseOffset + batchLength: the part not counted by batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// The only magic this engine stores.
pub const MAGIC_V2: i8 = 2;

pub(crate) const LENGTH_OFFSET: usize = 8;
pub(crate) const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
pub(crate) const MAGIC_OFFSET: usize = 16;
pub(crate) const CRC_OFFSET: usize = 17;
pub(crate) const ATTRIBUTES_OFFSET: usize = 21;
pub(crate) const BASE_TIMESTAMP_OFFSET: usize = 27;
pub(crate) const RECORD_COUNT_OFFSET: usize = 57;
pub(crate) const MAX_TIMESTAMP_OFFSET: usize = 35;

/// Attributes bits 0-2: compression codec id.
pub const COMPRESSION_CODEC_MASK: i16 = 0x07;
/// Attributes bit 3: timestamps are LogAppendTime.
pub const TIMESTAMP_TYPE_FLAG: i16 = 0x08;
/// Attributes bit 4: part of a transaction.
pub const TRANSACTIONAL_FLAG: i16 = 0x10;
/// Attributes bit 5: a control batch (transaction marker).
pub const CONTROL_FLAG: i16 = 0x20;
/// Attributes bit 6: the batch's baseTimestamp is the delete horizon set by the log
/// cleaner (KIP-534): tombstones in it may be removed once that time has passed.
pub const DELETE_HORIZON_FLAG: i16 = 0x40;

/// Producer id of a batch from a non-idempotent producer.
pub const NO_PRODUCER_ID: i64 = -1;
/// Timestamp meaning "none".
pub const NO_TIMESTAMP: i64 = -1;

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// The fixed header of a RecordBatch v2, parsed without any validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the first [`RECORD_BATCH_OVERHEAD`] bytes of `buf`; `None` if it is shorter.
    pub fn parse(buf: &[u8]) -> Option<BatchHeader> {
        if buf.len() < RECORD_BATCH_OVERHEAD {
            return None;
        }
        Some(BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length: be_i32(buf, 8),
            partition_leader_epoch: be_i32(buf, 12),
            magic: buf[16] as i8,
            crc: be_u32(buf, 17),
            attributes: be_i16(buf, 21),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, 35),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            record_count: be_i32(buf, 57),
        })
    }

    /// Whole size of the batch on the wire / on disk (batchLength + 12); 0 if negative.
    pub fn size(&self) -> usize {
        usize::try_from(self.batch_length).map_or(0, |l| l + LOG_OVERHEAD)
    }

    /// Offset of the last record (baseOffset + lastOffsetDelta).
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// The offset after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd; 5-7 invalid).
    pub fn compression_id(&self) -> u8 {
        (self.attributes & COMPRESSION_CODEC_MASK) as u8
    }

    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_FLAG != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_FLAG != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_FLAG != 0
    }

    pub fn has_producer_id(&self) -> bool {
        self.producer_id > NO_PRODUCER_ID
    }

    /// The delete horizon the log cleaner stored in baseTimestamp (KIP-534), if set.
    pub fn delete_horizon(&self) -> Option<i64> {
        (self.attributes & DELETE_HORIZON_FLAG != 0).then_some(self.base_timestamp)
    }

    /// Sequence number of the last record (baseSequence + lastOffsetDelta, wrapping
    /// past `i32::MAX` to 0 as Kafka's sequences do); -1 without a sequence.
    pub fn last_sequence(&self) -> i32 {
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap from `i32::MAX` to 0.
/// A negative (absent) sequence stays -1.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence < 0 {
        return -1;
    }
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// Kafka's `DefaultRecordBatch.decrementSequence`, the inverse of [`increment_sequence`].
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < 0 {
        return -1;
    }
    if sequence < decrement {
        i32::MAX - (decrement - sequence) + 1
    } else {
        sequence - decrement
    }
}

/// CRC-32C of a whole batch as stored in its crc field (bytes 21..end).
/// `batch` must be at least [`RECORD_BATCH_OVERHEAD`] bytes.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(batch.get(ATTRIBUTES_OFFSET..).unwrap_or_default())
}

/// Checks the crc field of a whole batch.
pub fn crc_is_valid(batch: &[u8]) -> bool {
    batch.len() >= RECORD_BATCH_OVERHEAD && be_u32(batch, CRC_OFFSET) == compute_crc(batch)
}

/// Recomputes and stores the crc field of a whole batch.
pub(crate) fn update_crc(batch: &mut [u8]) {
    if batch.len() >= RECORD_BATCH_OVERHEAD {
        let crc = compute_crc(batch);
        batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

pub(crate) fn put_i64(batch: &mut [u8], at: usize, v: i64) {
    batch[at..at + 8].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u32(batch: &mut [u8], at: usize, v: u32) {
    batch[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

pub(crate) fn put_i32(batch: &mut [u8], at: usize, v: i32) {
    batch[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_i16(batch: &mut [u8], at: usize, v: i16) {
    batch[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Splits a buffer of concatenated batches into whole batches, checking only the
/// length framing (no magic or CRC check). Stops with an error at a truncated batch
/// or trailing bytes.
pub fn split_batches(buf: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let rest = &buf[pos..];
        if rest.len() < LOG_OVERHEAD {
            return Err(Error::CorruptRecord(format!(
                "{} trailing bytes after the last record batch",
                rest.len()
            )));
        }
        let len = be_i32(rest, LENGTH_OFFSET);
        let size = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(LOG_OVERHEAD))
            .filter(|s| *s >= RECORD_BATCH_OVERHEAD)
            .ok_or_else(|| Error::CorruptRecord(format!("invalid batch length {len}")))?;
        if size > rest.len() {
            return Err(Error::CorruptRecord(format!(
                "record batch of {size} bytes truncated to {}",
                rest.len()
            )));
        }
        out.push(&rest[..size]);
        pos += size;
    }
    Ok(out)
}

/// What the engine needs to know about one record inside a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo {
    pub offset_delta: i32,
    pub timestamp_delta: i64,
}

/// Reads a zigzag varint (at most 5 bytes) at `*pos`.
fn read_varint(buf: &[u8], pos: &mut usize) -> Option<i32> {
    let mut value: u32 = 0;
    for i in 0..5 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(((value >> 1) as i32) ^ -((value & 1) as i32));
        }
    }
    None
}

/// Reads a zigzag varlong (at most 10 bytes) at `*pos`.
fn read_varlong(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}

/// Appends a zigzag varint.
pub(crate) fn write_varint(v: i32, out: &mut Vec<u8>) {
    write_varlong(i64::from(v), out);
}

/// Appends a zigzag varlong.
pub(crate) fn write_varlong(v: i64, out: &mut Vec<u8>) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

/// Skips a length-prefixed (varint) byte field; `nullable` allows length -1.
fn skip_bytes(buf: &[u8], pos: &mut usize, end: usize, nullable: bool) -> Option<()> {
    let len = read_varint(buf, pos)?;
    if len < 0 {
        return (nullable && len == -1).then_some(());
    }
    let next = pos.checked_add(len as usize)?;
    if next > end {
        return None;
    }
    *pos = next;
    Some(())
}

/// One record of a records section, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordView<'a> {
    /// The whole record, length prefix included.
    pub raw: &'a [u8],
    /// The record from its offset delta on (offset delta, key, value, headers).
    pub from_offset_delta: &'a [u8],
    pub attributes: u8,
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

/// Reads a length-prefixed (varint) byte field; `nullable` allows length -1 (`None`).
fn read_bytes<'a>(
    buf: &'a [u8],
    pos: &mut usize,
    end: usize,
    nullable: bool,
) -> Option<Option<&'a [u8]>> {
    let len = read_varint(buf, pos)?;
    if len < 0 {
        return (nullable && len == -1).then_some(None);
    }
    let start = *pos;
    let next = start.checked_add(len as usize)?;
    if next > end {
        return None;
    }
    *pos = next;
    Some(Some(&buf[start..next]))
}

/// Parses one record at `*pos`.
fn parse_record<'a>(buf: &'a [u8], pos: &mut usize) -> Option<RecordView<'a>> {
    let start = *pos;
    let len = read_varint(buf, pos)?;
    let len = usize::try_from(len).ok()?;
    let end = pos.checked_add(len)?;
    if end > buf.len() {
        return None;
    }
    let body = &buf[..end];
    let mut p = *pos;
    let attributes = *body.get(p)?;
    p += 1;
    let timestamp_delta = read_varlong(body, &mut p)?;
    let offset_delta_at = p;
    let offset_delta = read_varint(body, &mut p)?;
    let key = read_bytes(body, &mut p, end, true)?;
    let value = read_bytes(body, &mut p, end, true)?;
    let headers = read_varint(body, &mut p)?;
    if headers < 0 {
        return None;
    }
    for _ in 0..headers {
        skip_bytes(body, &mut p, end, false)?; // header key
        skip_bytes(body, &mut p, end, true)?; // header value
    }
    if p != end {
        return None;
    }
    *pos = end;
    Some(RecordView {
        raw: &buf[start..end],
        from_offset_delta: &buf[offset_delta_at..end],
        attributes,
        timestamp_delta,
        offset_delta,
        key,
        value,
    })
}

/// Walks `count` records in an (uncompressed) records section, calling `f` for each
/// until it returns `false`. Checks every record's framing and that the section holds
/// exactly `count` records (when walked to the end).
pub fn for_each_record(
    records: &[u8],
    count: i32,
    mut f: impl FnMut(RecordInfo) -> bool,
) -> Result<()> {
    for_each_record_view(records, count, |r| {
        Ok(f(RecordInfo {
            offset_delta: r.offset_delta,
            timestamp_delta: r.timestamp_delta,
        }))
    })
}

/// [`for_each_record`] with the whole record (key, value, raw bytes) and a fallible callback.
pub(crate) fn for_each_record_view<'a>(
    records: &'a [u8],
    count: i32,
    mut f: impl FnMut(RecordView<'a>) -> Result<bool>,
) -> Result<()> {
    let mut pos = 0usize;
    for i in 0..count.max(0) {
        let view = parse_record(records, &mut pos).ok_or_else(|| {
            Error::InvalidRecord(format!("record {i} of {count} is malformed or truncated"))
        })?;
        if !f(view)? {
            return Ok(());
        }
    }
    if pos != records.len() {
        return Err(Error::InvalidRecord(format!(
            "{} bytes after the last of {count} records",
            records.len() - pos
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zigzag_varint(v: i32, out: &mut Vec<u8>) {
        let mut z = ((v << 1) ^ (v >> 31)) as u32;
        loop {
            if z < 0x80 {
                out.push(z as u8);
                return;
            }
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
    }

    #[test]
    fn varints_roundtrip() {
        for v in [0, 1, -1, 63, -64, 64, 300, -300, i32::MAX, i32::MIN] {
            let mut buf = Vec::new();
            zigzag_varint(v, &mut buf);
            let mut pos = 0;
            assert_eq!(read_varint(&buf, &mut pos), Some(v));
            assert_eq!(pos, buf.len());
            let mut pos = 0;
            assert_eq!(read_varlong(&buf, &mut pos), Some(i64::from(v)));
        }
        // Too long.
        let mut pos = 0;
        assert_eq!(read_varint(&[0xff; 6], &mut pos), None);
    }

    #[test]
    fn split_rejects_garbage() {
        assert!(split_batches(&[]).unwrap().is_empty());
        assert!(matches!(
            split_batches(&[0u8; 5]),
            Err(Error::CorruptRecord(_))
        ));
        let mut b = vec![0u8; 61];
        b[8..12].copy_from_slice(&49i32.to_be_bytes());
        assert_eq!(split_batches(&b).unwrap().len(), 1);
        b.push(1);
        assert!(split_batches(&b).is_err());
        b[8..12].copy_from_slice(&100i32.to_be_bytes());
        assert!(split_batches(&b).is_err());
        b[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(split_batches(&b).is_err());
    }

    #[test]
    fn records_walk_rejects_malformed() {
        // One record: len, attrs 0, ts delta 0, offset delta 0, key -1, value "a", 0 headers.
        let mut rec = vec![0u8];
        zigzag_varint(0, &mut rec);
        zigzag_varint(0, &mut rec);
        zigzag_varint(-1, &mut rec);
        zigzag_varint(1, &mut rec);
        rec.push(b'a');
        zigzag_varint(0, &mut rec);
        let mut buf = Vec::new();
        zigzag_varint(rec.len() as i32, &mut buf);
        buf.extend_from_slice(&rec);
        let mut n = 0;
        for_each_record(&buf, 1, |_| {
            n += 1;
            true
        })
        .unwrap();
        assert_eq!(n, 1);
        assert!(for_each_record(&buf, 2, |_| true).is_err());
        assert!(for_each_record(&buf[..buf.len() - 1], 1, |_| true).is_err());
        let mut extra = buf.clone();
        extra.push(0);
        assert!(for_each_record(&extra, 1, |_| true).is_err());
        // A huge claimed count over a small buffer fails fast.
        assert!(for_each_record(&buf, i32::MAX, |_| true).is_err());
    }
}
