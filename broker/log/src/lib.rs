//! strom-log: Strom's storage engine, one [`PartitionLog`] per partition, in
//! Apache Kafka's on-disk layout.
//!
//! The parts, from the bytes up:
//!
//! - [`batch`]: RecordBatch v2 (magic 2) framing: batch headers, the CRC-32C, a
//!   walk over the records inside a batch. Public, so the broker can inspect batches
//!   (producer id/epoch/sequence for idempotence) without decoding them.
//! - `validate`: Kafka's `LogValidator`: checks what a producer sent (framing, magic,
//!   CRC, counts, offset deltas, codec, size, control batches, keys in compacted
//!   topics), applies the topic's `compression.type` and `message.timestamp.type`,
//!   and rewrites the header fields the broker owns (base offset, partition leader
//!   epoch, max timestamp, CRC).
//! - `compression`: the five Kafka codecs (none, gzip, snappy in xerial framing,
//!   lz4 frames, zstd), with decompression bounded so a compression bomb is an
//!   error and not an out-of-memory.
//! - `index`: the offset index (`.index`, 8-byte entries: relative offset, file
//!   position) and time index (`.timeindex`, 12-byte entries: timestamp, relative
//!   offset), held in memory and appended to their files as the log grows.
//! - `segment`: one `<base offset>.log` file and its indexes: positional reads,
//!   batch lookup by offset and by timestamp, fsync.
//! - `producer_state`: idempotent producers (Kafka's `ProducerStateManager`): epoch
//!   and the last five batches per producer id, duplicate detection, sequence and
//!   epoch checks, `<offset>.snapshot` files in Kafka's format.
//! - `log`: [`PartitionLog`], the partition: serialized appends with offset
//!   assignment, producer checks and segment rolling, lock-free-ish reads (a
//!   short-held segment list lock, atomics for log end / log start), group-commit
//!   `sync_to`, DeleteRecords.
//! - `retention`: [`PartitionLog::enforce_retention`], `retention.ms` /
//!   `retention.bytes` for `cleanup.policy=delete`.
//! - `cleaner`: [`PartitionLog::compact`], the log cleaner for
//!   `cleanup.policy=compact` (latest record per key, tombstones with a delete
//!   horizon, crash-safe segment swaps).
//! - `recovery`: `open`: completes or rolls back an interrupted cleaner swap, loads
//!   segments, checks indexes, re-scans the tail of the active segment (and
//!   everything after the recovery point after an unclean shutdown), truncates torn
//!   writes, restores the log start offset, and the small checkpoint files kept in
//!   the partition directory. `PartitionLog::open` then loads the latest producer
//!   snapshot and replays the batches after it.
//!
//! Files in a partition directory: `00000000000000000000.log` / `.index` /
//! `.timeindex` per segment, `<offset>.snapshot` (producer state as of that offset,
//! written on every roll and on close; the latest two are kept), `log-start-offset`
//! (DeleteRecords / retention checkpoint), `recovery-point-offset` (segments wholly
//! below it are known to be on disk), `cleaner-offset-checkpoint` (the log is
//! compacted below it; one decimal offset, as the other checkpoints — Kafka keeps one
//! such file per log directory, for all partitions), `.clean-shutdown` (present only
//! while the log is cleanly closed), and transiently `*.cleaned` / `*.swap` (log
//! cleaner) and `*.tmp` (checkpoints being written).
//!
//! The API is blocking and thread-safe (`PartitionLog: Send + Sync`); the broker
//! shares it behind an `Arc` and calls it from `spawn_blocking`, except for
//! [`PartitionLog::append_quick`] (page-cache writes only; its fsyncs are left to
//! [`PartitionLog::finish_append`]) and [`PartitionLog::read_region`] with
//! [`Wait::No`] (page-cache reads only; it reports rather than waits for the
//! disk), which it calls on its network threads. Background work the
//! broker drives per partition: [`PartitionLog::maybe_roll`] (every 100 ms – 1 s),
//! [`PartitionLog::enforce_retention`] and [`PartitionLog::compact`] (every few
//! seconds to minutes, each a no-op unless the topic's `cleanup.policy` asks for it).

pub mod batch;
mod cleaner;
mod compression;
mod index;
mod log;
mod producer_state;
mod recovery;
mod retention;
mod segment;
mod validate;

use std::time::Duration;

pub use crate::cleaner::CompactionOutcome;
pub use crate::log::{AppendOrigin, AppendRemainder, PartitionLog};
pub use crate::producer_state::{ProducerEntry, NUM_BATCHES_TO_RETAIN};
pub use crate::retention::RetentionOutcome;
pub use crate::segment::Wait;

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
    /// Idempotent producer: a sequence gap, or a new epoch not starting at sequence 0
    /// -> OUT_OF_ORDER_SEQUENCE_NUMBER (45)
    #[error("out of order sequence: {0}")]
    OutOfOrderSequence(String),
    /// Idempotent producer: an epoch older than the partition's -> INVALID_PRODUCER_EPOCH (47)
    #[error("invalid producer epoch: {0}")]
    InvalidProducerEpoch(String),
    /// -> UNKNOWN_PRODUCER_ID (59). Not returned by the sequence checks: since Kafka 2.5
    /// (KIP-360) a producer id without state accepts any sequence; kept for the broker.
    #[error("unknown producer id: {0}")]
    UnknownProducerId(String),
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
    /// `cleanup.policy` contains `delete`: [`PartitionLog::enforce_retention`] applies.
    pub cleanup_delete: bool,
    /// `cleanup.policy` contains `compact`: [`PartitionLog::compact`] applies, and
    /// records without a key are rejected (INVALID_RECORD).
    pub cleanup_compact: bool,
    /// `retention.ms` (-1: forever)
    pub retention_ms: i64,
    /// `retention.bytes` (-1: no limit)
    pub retention_bytes: i64,
    /// `delete.retention.ms`: how long tombstones survive compaction.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`
    pub max_compaction_lag_ms: i64,
    /// `min.cleanable.dirty.ratio`
    pub min_cleanable_dirty_ratio: f64,
    /// `producer.id.expiration.ms` (a broker config in Kafka)
    pub producer_id_expiration_ms: i64,
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
            cleanup_delete: true,
            cleanup_compact: false,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            min_cleanable_dirty_ratio: 0.5,
            producer_id_expiration_ms: 24 * 60 * 60 * 1000,
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
    /// The append was a retry of a batch already in the log (idempotent producer):
    /// nothing was written and the offsets are the original batch's.
    pub duplicate: bool,
}

/// Whole record batches read from the log, as stored (`T` is the bytes, or
/// where they are: a [`FileRegion`]), and the partition's offsets at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read<T> {
    pub records: T,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    pub last_stable_offset: i64,
}

/// Whole record batches read into memory.
pub type ReadResult = Read<bytes::Bytes>;

/// A byte range of a segment file holding whole record batches. It holds the
/// file open, so the bytes stay readable after the segment is deleted (the
/// log never rewrites published bytes in place).
#[derive(Debug, Clone)]
pub struct FileRegion {
    pub file: std::sync::Arc<std::fs::File>,
    pub pos: u64,
    pub len: usize,
}

impl FileRegion {
    /// The region's bytes, read into memory (under `wait`, as
    /// [`PartitionLog::read_region`]).
    pub fn read(&self, wait: Wait) -> std::io::Result<bytes::Bytes> {
        segment::read_at_with(&self.file, self.pos, self.len, wait).map(bytes::Bytes::from)
    }
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
