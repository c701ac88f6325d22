//! strom-log: Strom's storage engine, one [`PartitionLog`] per partition, in
//! Apache Kafka's on-disk layout.
//!
//! The parts, from the bytes up:
//!
//! - [`batch`]: RecordBatch v2 (magic 2) framing: batch headers, the CRC-32C, a
//!   walk over the records inside a batch. Public, so the broker can inspect batches
//!   (producer id/epoch/sequence for idempotence) without decoding them.
//! - `validate`: Kafka's `LogValidator`: checks what a producer sent (framing, magic,
//!   CRC, counts, offset deltas, codec, size, control batches), applies the topic's
//!   `compression.type` and `message.timestamp.type`, and rewrites the header fields
//!   the broker owns (base offset, partition leader epoch, max timestamp, CRC).
//! - `compression`: the five Kafka codecs (none, gzip, snappy in xerial framing,
//!   lz4 frames, zstd), with decompression bounded so a compression bomb is an
//!   error and not an out-of-memory.
//! - `index`: the offset index (`.index`, 8-byte entries: relative offset, file
//!   position) and time index (`.timeindex`, 12-byte entries: timestamp, relative
//!   offset), held in memory and appended to their files as the log grows.
//! - `segment`: one `<base offset>.log` file and its indexes: positional reads,
//!   batch lookup by offset and by timestamp, fsync.
//! - `log`: [`PartitionLog`], the partition: serialized appends with offset
//!   assignment and segment rolling, lock-free-ish reads (a short-held segment
//!   list lock, atomics for log end / log start), group-commit `sync_to`,
//!   DeleteRecords.
//! - `recovery`: `open`: loads segments, checks indexes, re-scans the tail of the
//!   active segment (and everything after the recovery point after an unclean
//!   shutdown), truncates torn writes, restores the log start offset, and the small
//!   checkpoint files kept in the partition directory.
//!
//! Files in a partition directory: `00000000000000000000.log` / `.index` /
//! `.timeindex` per segment, `log-start-offset` (DeleteRecords checkpoint),
//! `recovery-point-offset` (segments wholly below it are known to be on disk) and
//! `.clean-shutdown` (present only while the log is cleanly closed).
//!
//! The API is blocking and thread-safe (`PartitionLog: Send + Sync`); the broker
//! shares it behind an `Arc` and calls it from `spawn_blocking`.

pub mod batch;
mod compression;
mod index;
mod log;
mod recovery;
mod segment;
mod validate;

use std::time::Duration;

pub use crate::log::{AppendOrigin, PartitionLog};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the storage engine. The broker maps each to a Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Bad CRC, bad batch framing, bad magic, inconsistent record count... -> CORRUPT_MESSAGE
    #[error("corrupt record batch: {0}")]
    CorruptRecord(String),
    /// A batch (or the whole append) is larger than `max.message.bytes` -> MESSAGE_TOO_LARGE
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge { size: usize, max: usize },
    /// Magic v0/v1 batches -> UNSUPPORTED_FOR_MESSAGE_FORMAT
    #[error("unsupported record batch magic {0}")]
    UnsupportedMagic(i8),
    /// Compression codec id that is not 0..=4 -> CORRUPT_MESSAGE (Kafka: UNSUPPORTED_COMPRESSION_TYPE for zstd with old versions)
    #[error("unsupported compression codec {0}")]
    UnsupportedCompression(u8),
    /// Timestamp outside message.timestamp.*.max.ms -> INVALID_TIMESTAMP
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(String),
    /// Read or delete below log start / above high watermark -> OFFSET_OUT_OF_RANGE
    #[error("offset {offset} out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },
    /// Empty append, control batch from a client, bad record framing -> INVALID_RECORD / CORRUPT_MESSAGE
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    #[error("log is closed or deleted")]
    Closed,
}

/// Topic-level `message.timestamp.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// Topic-level `compression.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    Producer,
    Uncompressed,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl CompressionType {
    /// The codec id (attributes bits 0-2) this topic setting forces, `None` for `producer`.
    pub fn codec_id(self) -> Option<u8> {
        match self {
            CompressionType::Producer => None,
            CompressionType::Uncompressed => Some(0),
            CompressionType::Gzip => Some(1),
            CompressionType::Snappy => Some(2),
            CompressionType::Lz4 => Some(3),
            CompressionType::Zstd => Some(4),
        }
    }
}

/// Per-partition log settings, Kafka's topic configs of the same meaning.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `segment.bytes`
    pub segment_bytes: u64,
    /// `segment.ms`
    pub segment_ms: Option<Duration>,
    /// `index.interval.bytes`
    pub index_interval_bytes: u32,
    /// `max.message.bytes`
    pub max_message_bytes: usize,
    /// `message.timestamp.type`
    pub message_timestamp_type: TimestampType,
    /// `compression.type`
    pub compression_type: CompressionType,
    /// `flush.messages`
    pub flush_interval_messages: Option<u64>,
    /// `flush.ms`
    pub flush_interval_ms: Option<Duration>,
}

impl Default for LogConfig {
    /// Kafka's defaults (flushing left to the page cache).
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: Some(Duration::from_millis(7 * 24 * 60 * 60 * 1000)),
            index_interval_bytes: 4096,
            max_message_bytes: 1024 * 1024 + 12,
            message_timestamp_type: TimestampType::CreateTime,
            compression_type: CompressionType::Producer,
            flush_interval_messages: None,
            flush_interval_ms: None,
        }
    }
}

/// The outcome of one append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record appended.
    pub base_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// The broker's timestamp when the topic uses LogAppendTime, else -1.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    /// Number of records appended (over all batches).
    pub record_count: u32,
    /// Largest record timestamp of the append (after LogAppendTime rewriting).
    pub max_timestamp: i64,
    /// Offset of the first record carrying `max_timestamp`.
    pub offset_of_max_timestamp: i64,
    /// Bytes written to the log (after any recompression).
    pub size_bytes: usize,
}

/// Whole record batches read from the log, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub records: bytes::Bytes,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub last_stable_offset: i64,
}

/// A (timestamp, offset) pair: ListOffsets answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: i64,
}

// The broker shares a log between threads behind an `Arc`.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PartitionLog>();
};
