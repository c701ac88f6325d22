//! [`PartitionLog`]: one partition's log — appends (with idempotent-producer
//! checks), reads, segment rolling, group-commit fsync, DeleteRecords. Retention is in
//! `retention.rs`, compaction in `cleaner.rs`.
//!
//! Concurrency:
//! - appends are serialized by the append lock ([`Appender`]); validation and
//!   recompression run before it is taken;
//! - readers take the segment-list lock only long enough to clone the `Arc`s they
//!   need, then read with positional reads up to the published size, bounded by the
//!   log end offset, which is published (an atomic) only after the bytes are written;
//! - fsyncs run under a separate sync lock and never hold the append lock, so
//!   appends proceed during an fsync; concurrent `sync_to` callers share one fsync
//!   (group commit) through the durable-offset atomic;
//! - changes to the segment list other than rolls (DeleteRecords, retention,
//!   compaction swaps, delete) are serialized by the housekeeping lock and swap the
//!   list under its write lock only briefly; readers holding the old list keep
//!   reading removed segments through their open file handles.
//!
//! Lock order: cleaner -> housekeeping -> appender -> producers / segments / sync.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tracing::warn;

use crate::cleaner::CleanerState;
use crate::index::{IndexTracker, IndexWriter};
use crate::producer_state::{
    self, ProducerBatch, ProducerCheck, ProducerEntry, ProducerStateManager,
};
use crate::recovery::{self, LOG_START_FILE, RECOVERY_POINT_FILE};
use crate::segment::{Segment, Wait};
use crate::validate::{self, AppendContext, PreparedAppend};
use crate::{
    AppendInfo, Error, FileRegion, LogConfig, Read, ReadResult, Result, TimestampOffset,
    TimestampType,
};

/// Who is appending: decides which checks and rewrites apply (Kafka's `AppendOrigin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOrigin {
    /// A producer: control batches rejected, offsets, leader epoch and timestamps
    /// assigned, topic compression applied.
    Client,
    /// A coordinator of this broker (group / transaction coordinator): like `Client`,
    /// but control batches (transaction markers) are allowed.
    Coordinator,
    /// A follower copying the leader: batches are stored exactly as given, with the
    /// offsets they carry (which must not go backwards).
    Replication,
}

/// State owned by the appender (under the append lock).
struct Appender {
    active: Arc<Segment>,
    writer: IndexWriter,
    tracker: IndexTracker,
    /// When the active segment got its first batch.
    active_since: Option<Instant>,
    next_offset: i64,
}

/// State owned by the syncer (under the sync lock).
struct SyncState {
    last_flush: Instant,
    recovery_point: i64,
}

/// The fsyncs that a [`PartitionLog::append_quick`] owes, for
/// [`PartitionLog::finish_append`].
#[derive(Debug)]
#[must_use = "the append is not finished until finish_append has run"]
pub struct AppendRemainder {
    /// A roll happened: the snapshot offset and bytes to write, then an fsync round.
    rolled: Option<(i64, Vec<u8>)>,
    /// `flush.messages` was reached: fsync up to this offset.
    flush_to: Option<i64>,
}

/// The log of one partition: a directory of segments.
pub struct PartitionLog {
    pub(crate) dir: PathBuf,
    config: RwLock<LogConfig>,
    appender: Mutex<Appender>,
    pub(crate) segments: RwLock<Vec<Arc<Segment>>>,
    /// Rolled segments not yet fsynced.
    sealed: Mutex<Vec<Arc<Segment>>>,
    sync: Mutex<SyncState>,
    log_end: AtomicI64,
    pub(crate) log_start: AtomicI64,
    /// Every offset below this is on disk.
    durable_end: AtomicI64,
    leader_epoch: AtomicI32,
    /// fsync rounds run (each may serve many `sync_to` callers).
    sync_rounds: AtomicU64,
    pub(crate) dir_dirty: AtomicBool,
    closed: AtomicBool,
    /// Idempotent-producer state, updated under the append lock.
    producers: Mutex<ProducerStateManager>,
    /// Serializes segment-list changes other than rolls.
    pub(crate) housekeeping: Mutex<()>,
    pub(crate) cleaner: Mutex<CleanerState>,
    /// Serializes producer snapshot writes.
    snapshot_writer: Mutex<()>,
}

impl fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionLog")
            .field("dir", &self.dir)
            .field("log_start_offset", &self.log_start_offset())
            .field("log_end_offset", &self.log_end_offset())
            .field("durable_offset", &self.durable_offset())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl PartitionLog {
    /// Opens the partition directory `dir` (creating it if missing) and recovers it.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Self> {
        let r = recovery::recover(dir, &config)?;
        let active = r
            .segments
            .last()
            .cloned()
            .ok_or_else(|| Error::Io(std::io::Error::other("no active segment")))?;
        let producers =
            Self::load_producer_state(dir, &r.segments, r.log_start, r.log_end, &config)?;
        let now = Instant::now();
        let active_since = r
            .active_age
            .map(|age| now.checked_sub(age).unwrap_or(now))
            .or_else(|| (!active.is_empty()).then_some(now));
        Ok(PartitionLog {
            dir: dir.to_path_buf(),
            config: RwLock::new(config),
            appender: Mutex::new(Appender {
                active,
                writer: r.writer,
                tracker: r.tracker,
                active_since,
                next_offset: r.log_end,
            }),
            segments: RwLock::new(r.segments),
            sealed: Mutex::new(Vec::new()),
            sync: Mutex::new(SyncState {
                last_flush: now,
                recovery_point: r.recovery_point,
            }),
            log_end: AtomicI64::new(r.log_end),
            log_start: AtomicI64::new(r.log_start),
            durable_end: AtomicI64::new(r.log_end),
            leader_epoch: AtomicI32::new(0),
            sync_rounds: AtomicU64::new(0),
            dir_dirty: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            producers: Mutex::new(producers),
            housekeeping: Mutex::new(()),
            cleaner: Mutex::new(CleanerState::default()),
            snapshot_writer: Mutex::new(()),
        })
    }

    /// Producer state at the recovered log end: the latest valid snapshot at or below
    /// it, then the batches after the snapshot (the whole log without a snapshot).
    fn load_producer_state(
        dir: &Path,
        segments: &[Arc<Segment>],
        log_start: i64,
        log_end: i64,
        config: &LogConfig,
    ) -> Result<ProducerStateManager> {
        let now = now_ms();
        let expiration = config.producer_id_expiration_ms;
        let (mut state, from) = match producer_state::load_latest(dir, log_end, now, expiration)? {
            Some((state, offset)) => (state, offset.max(log_start)),
            None => (ProducerStateManager::default(), log_start),
        };
        let limit = validate::decompress_limit(config.max_message_bytes);
        producer_state::replay_segments(&mut state, segments, from, limit)?;
        state.remove_expired(now, expiration);
        Ok(state)
    }

    /// The partition directory.
    pub fn dir(&self) -> PathBuf {
        self.dir.clone()
    }

    pub(crate) fn ensure_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    pub(crate) fn config(&self) -> LogConfig {
        self.config.read().clone()
    }

    /// Appends a producer's records (one or more RecordBatch v2): validates every
    /// batch, then assigns offsets and writes them all, or nothing.
    pub fn append(&self, records: Bytes) -> Result<AppendInfo> {
        self.append_with_origin(records, AppendOrigin::Client)
    }

    /// [`Self::append`] for a given [`AppendOrigin`].
    pub fn append_with_origin(&self, records: Bytes, origin: AppendOrigin) -> Result<AppendInfo> {
        let (info, rest) = self.append_parts(records, origin)?;
        if let Some(rest) = rest {
            self.finish_append(rest)?;
        }
        Ok(info)
    }

    /// [`Self::append`] without the fsyncs an append may owe: after a segment roll
    /// (the sealed segment and the producer snapshot) or when `flush.messages` is
    /// reached. Those come back as an [`AppendRemainder`] for the caller to finish with
    /// [`Self::finish_append`] (on a thread that may block) before it answers: the
    /// records are already in the log, readable, with their offsets.
    ///
    /// The rest is page-cache writes and CPU work, which the broker runs on its
    /// network threads (as Kafka's request handlers do) to spare a thread hand-off
    /// per partition per produce request.
    pub fn append_quick(&self, records: Bytes) -> Result<(AppendInfo, Option<AppendRemainder>)> {
        self.append_parts(records, AppendOrigin::Client)
    }

    /// The fsyncs an [`Self::append_quick`] left; an error here is the append's.
    pub fn finish_append(&self, rest: AppendRemainder) -> Result<()> {
        if let Some((offset, snapshot)) = rest.rolled {
            // The producer snapshot and the rolled segment's files go to disk now
            // (outside the append lock).
            self.write_producer_snapshot(offset, &snapshot);
            self.sync_all_locked(false)?;
        }
        if let Some(offset) = rest.flush_to {
            self.sync_to(offset)?;
        }
        Ok(())
    }

    fn append_parts(
        &self,
        records: Bytes,
        origin: AppendOrigin,
    ) -> Result<(AppendInfo, Option<AppendRemainder>)> {
        self.ensure_open()?;
        let cfg = self.config();
        let ctx = AppendContext {
            origin,
            max_message_bytes: cfg.max_message_bytes,
            target_codec: cfg.compression_type.codec_id(),
            timestamp_type: cfg.message_timestamp_type,
            now_ms: now_ms(),
            leader_epoch: self.leader_epoch.load(Ordering::Acquire),
            compacted: cfg.cleanup_compact,
        };
        let mut prepared = validate::prepare_append(&records, &ctx)?;
        drop(records);
        let segment_limit = cfg.segment_bytes.min(i32::MAX as u64);
        if prepared.size as u64 > segment_limit {
            return Err(Error::MessageTooLarge {
                size: prepared.size,
                max: usize::try_from(segment_limit).unwrap_or(usize::MAX),
            });
        }

        let (info, rolled) = {
            let mut ap = self.appender.lock();
            self.ensure_open()?;
            let next = Self::assign_offsets(&mut prepared, origin, ap.next_offset)?;
            let check = self.producers.lock().check_append(
                prepared
                    .batches
                    .iter()
                    .filter_map(ProducerBatch::from_prepared),
                origin,
            )?;
            let updates = match check {
                ProducerCheck::Duplicate(d) => {
                    let log_append_time = match cfg.message_timestamp_type {
                        TimestampType::LogAppendTime => d.timestamp,
                        TimestampType::CreateTime => -1,
                    };
                    return Ok((
                        AppendInfo {
                            base_offset: d.first_offset,
                            last_offset: d.last_offset,
                            log_append_time,
                            log_start_offset: self.log_start.load(Ordering::Acquire),
                            record_count: u32::try_from(d.last_offset - d.first_offset + 1)
                                .unwrap_or(0),
                            max_timestamp: d.timestamp,
                            offset_of_max_timestamp: d.first_offset,
                            size_bytes: 0,
                            duplicate: true,
                        },
                        None,
                    ));
                }
                ProducerCheck::Updates(u) => u,
            };
            let first_offset = prepared.batches.first().map_or(next, |b| b.base_offset);
            let last_offset = next - 1;
            let rolled =
                self.roll_if_needed(&mut ap, &cfg, &prepared, first_offset, last_offset)?;
            self.write_locked(&mut ap, &cfg, &prepared, next)?;
            if !updates.is_empty() {
                self.producers.lock().apply(updates);
            }
            let (max_timestamp, offset_of_max_timestamp) = prepared
                .batches
                .iter()
                .map(|b| (b.max_timestamp, b.offset_of_max_timestamp()))
                .fold(
                    (i64::MIN, -1),
                    |best, cur| if cur.0 > best.0 { cur } else { best },
                );
            let info = AppendInfo {
                base_offset: first_offset,
                last_offset,
                log_append_time: prepared.log_append_time,
                log_start_offset: self.log_start.load(Ordering::Acquire),
                record_count: u32::try_from(prepared.record_count).unwrap_or(u32::MAX),
                max_timestamp,
                offset_of_max_timestamp,
                size_bytes: prepared.size,
                duplicate: false,
            };
            (info, rolled)
        };

        let flush_to = cfg.flush_interval_messages.and_then(|n| {
            let unflushed = info.last_offset + 1 - self.durable_end.load(Ordering::Acquire);
            (unflushed >= i64::try_from(n).unwrap_or(i64::MAX)).then_some(info.last_offset)
        });
        let rest = (rolled.is_some() || flush_to.is_some())
            .then_some(AppendRemainder { rolled, flush_to });
        Ok((info, rest))
    }

    /// Writes offsets into the prepared batches (or checks them, for replication);
    /// returns the offset after the append.
    fn assign_offsets(
        prepared: &mut PreparedAppend,
        origin: AppendOrigin,
        next: i64,
    ) -> Result<i64> {
        if origin != AppendOrigin::Replication {
            return Ok(prepared.assign_offsets(next));
        }
        let mut expected = next;
        for b in &prepared.batches {
            if b.base_offset < expected {
                return Err(Error::InvalidRecord(format!(
                    "replicated batch at offset {} is below the log end offset {expected}",
                    b.base_offset
                )));
            }
            expected = b.last_offset().saturating_add(1);
        }
        Ok(expected)
    }

    /// Rolls before an append that would overflow the active segment (or its relative
    /// offsets), or when the active segment is older than `segment.ms`. Returns the
    /// producer snapshot to write after a roll.
    fn roll_if_needed(
        &self,
        ap: &mut Appender,
        cfg: &LogConfig,
        prepared: &PreparedAppend,
        first_offset: i64,
        last_offset: i64,
    ) -> Result<Option<(i64, Vec<u8>)>> {
        if ap.active.is_empty() {
            return Ok(None);
        }
        let size_limit = cfg.segment_bytes.min(i32::MAX as u64);
        let full = ap.active.size() + prepared.size as u64 > size_limit;
        let aged = cfg
            .segment_ms
            .is_some_and(|ms| ap.active_since.is_some_and(|t| t.elapsed() >= ms));
        let overflow = last_offset - ap.active.base_offset > i64::from(i32::MAX);
        if full || aged || overflow {
            return self.roll_locked(ap, first_offset).map(Some);
        }
        Ok(None)
    }

    /// Seals the active segment and starts a new one at `new_base`; returns the
    /// producer state snapshot as of `new_base`, for the caller to write once it has
    /// released the append lock.
    fn roll_locked(&self, ap: &mut Appender, new_base: i64) -> Result<(i64, Vec<u8>)> {
        let old = ap.active.clone();
        let mut tracker = ap.tracker.clone();
        if let Some(t) = tracker.time_entry() {
            ap.writer.append_time(t)?;
            old.push_index(&[], &[t]);
        }
        ap.tracker = tracker;
        let segment = Arc::new(Segment::create(&self.dir, new_base)?);
        let (index_path, time_index_path) = segment.index_paths();
        let writer = IndexWriter::open(index_path, time_index_path, &[], &[], true)?;
        self.sealed.lock().push(old);
        self.dir_dirty.store(true, Ordering::Release);
        self.segments.write().push(segment.clone());
        ap.active = segment;
        ap.writer = writer;
        ap.tracker = IndexTracker::new(new_base);
        ap.active_since = None;
        Ok((new_base, self.producers.lock().encode_snapshot()))
    }

    /// Writes a producer snapshot file; a failure is logged (recovery then replays
    /// from an older snapshot).
    fn write_producer_snapshot(&self, offset: i64, bytes: &[u8]) {
        let _w = self.snapshot_writer.lock();
        if let Err(e) = producer_state::write_snapshot(&self.dir, offset, bytes) {
            warn!(dir = %self.dir.display(), offset, error = %e, "could not write a producer snapshot");
        }
    }

    /// The state of an idempotent producer in this partition.
    pub fn producer_state(&self, producer_id: i64) -> Option<ProducerEntry> {
        self.producers.lock().get(producer_id)
    }

    /// Every producer with state in this partition, by producer id (DescribeProducers).
    pub fn producers(&self) -> Vec<ProducerEntry> {
        self.producers.lock().all()
    }

    /// Number of producer ids with state in this partition.
    pub fn producer_count(&self) -> usize {
        self.producers.lock().len()
    }

    /// Drops producers idle for `producer_id_expiration_ms` (by their last batch's
    /// timestamp) with no ongoing transaction; returns how many. `maybe_roll` calls it.
    pub fn remove_expired_producers(&self, now_ms: i64) -> usize {
        let expiration = self.config.read().producer_id_expiration_ms;
        self.producers.lock().remove_expired(now_ms, expiration)
    }

    /// Last data offset per producer id (the cleaner keeps the batch holding it).
    pub(crate) fn producer_last_offsets(&self) -> std::collections::HashMap<i64, i64> {
        self.producers.lock().last_offsets()
    }

    /// Writes the batches to the active segment, adds index entries, publishes.
    fn write_locked(
        &self,
        ap: &mut Appender,
        cfg: &LogConfig,
        prepared: &PreparedAppend,
        next: i64,
    ) -> Result<()> {
        let segment = ap.active.clone();
        let start = segment.size();
        segment.write_vectored_at(&prepared.slices(), start)?;
        let mut tracker = ap.tracker.clone();
        let mut offsets = Vec::new();
        let mut times = Vec::new();
        let mut pos = start;
        for b in &prepared.batches {
            let (o, t) = tracker.on_batch(
                pos,
                b.size as u64,
                b.last_offset(),
                b.max_timestamp,
                b.offset_of_max_timestamp(),
                cfg.index_interval_bytes,
            );
            offsets.extend(o);
            times.extend(t);
            pos += b.size as u64;
        }
        for o in &offsets {
            ap.writer.append_offset(*o)?;
        }
        for t in &times {
            ap.writer.append_time(*t)?;
        }
        segment.push_index(&offsets, &times);
        ap.tracker = tracker;
        segment.publish(pos, next);
        ap.next_offset = next;
        self.log_end.store(next, Ordering::Release);
        for b in &prepared.batches {
            segment.observe_max_timestamp(b.max_timestamp, b.offset_of_max_timestamp());
        }
        if ap.active_since.is_none() {
            ap.active_since = Some(Instant::now());
        }
        Ok(())
    }

    fn active_segment(&self) -> Option<Arc<Segment>> {
        self.segments.read().last().cloned()
    }

    /// One fsync round under the sync lock: rolled segments (log and indexes), the
    /// active segment, the directory; then publishes the durable offset.
    fn sync_locked(&self, st: &mut SyncState, full: bool) -> Result<()> {
        let target = self.log_end.load(Ordering::Acquire);
        let Some(active) = self.active_segment() else {
            return Ok(());
        };
        let sealed = std::mem::take(&mut *self.sealed.lock());
        for (i, s) in sealed.iter().enumerate() {
            if let Err(e) = s.sync_all() {
                let mut pending = self.sealed.lock();
                let later = std::mem::take(&mut *pending);
                pending.extend(sealed[i..].iter().cloned());
                pending.extend(later);
                return Err(e);
            }
        }
        if full {
            active.sync_all()?;
        } else {
            active.sync_log()?;
        }
        if self.dir_dirty.swap(false, Ordering::AcqRel) {
            if let Err(e) = recovery::sync_dir(&self.dir) {
                self.dir_dirty.store(true, Ordering::Release);
                return Err(e);
            }
        }
        if !sealed.is_empty() && active.base_offset > st.recovery_point {
            recovery::write_checkpoint(&self.dir, RECOVERY_POINT_FILE, active.base_offset)?;
            st.recovery_point = active.base_offset;
        }
        self.durable_end.fetch_max(target, Ordering::AcqRel);
        self.sync_rounds.fetch_add(1, Ordering::Relaxed);
        st.last_flush = Instant::now();
        Ok(())
    }

    fn sync_all_locked(&self, full: bool) -> Result<()> {
        let mut st = self.sync.lock();
        self.sync_locked(&mut st, full)
    }

    /// Blocks until every record up to and including `offset` is fsynced. Concurrent
    /// callers share fsyncs (group commit); a caller whose offset is already durable
    /// returns at once. Offsets past the log end wait for the current log end.
    pub fn sync_to(&self, offset: i64) -> Result<()> {
        self.ensure_open()?;
        if offset < self.durable_end.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut st = self.sync.lock();
        if offset < self.durable_end.load(Ordering::Acquire) {
            return Ok(());
        }
        self.sync_locked(&mut st, false)
    }

    /// fsyncs everything: data, indexes, directory.
    pub fn flush(&self) -> Result<()> {
        self.ensure_open()?;
        self.sync_all_locked(true)
    }

    /// The offset below which everything is known to be on disk.
    pub fn durable_offset(&self) -> i64 {
        self.durable_end.load(Ordering::Acquire)
    }

    /// Reads whole batches starting with the one containing `offset`: at most
    /// `max_bytes`, except that with `min_one_batch` a first batch larger than
    /// `max_bytes` is returned whole (KIP-74). Never returns data at or above the high
    /// watermark.
    pub fn read(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> Result<ReadResult> {
        self.read_with(offset, Bytes::new(), |segment, hw| {
            segment.read(offset, hw, max_bytes, min_one_batch)
        })
    }

    /// What [`PartitionLog::read`] would return, as a range of a segment file
    /// (`None` for no records) instead of the bytes: for sending with
    /// `sendfile(2)`. The file stays open as long as the region is held, even
    /// if its segment is deleted meanwhile.
    ///
    /// With [`Wait::No`] it reads only what the page cache holds and fails with
    /// an [`Error::Io`] of kind `WouldBlock` where it would wait for the disk:
    /// for a caller that must not block and can retry where it may.
    pub fn read_region(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        wait: Wait,
    ) -> Result<Read<Option<FileRegion>>> {
        self.read_with(offset, None, |segment, hw| {
            Ok(segment
                .range(offset, hw, max_bytes, min_one_batch, wait)?
                .map(|(pos, len)| {
                    (len > 0).then(|| FileRegion {
                        file: segment.log.clone(),
                        pos,
                        len,
                    })
                }))
        })
    }

    /// Checks `offset`, then asks each segment from the one holding it until one
    /// has a batch at or after it (`None` from `read` means it has none).
    fn read_with<T>(
        &self,
        offset: i64,
        empty: T,
        read: impl Fn(&Segment, i64) -> Result<Option<T>>,
    ) -> Result<Read<T>> {
        self.ensure_open()?;
        let hw = self.log_end.load(Ordering::Acquire);
        let log_start = self.log_start.load(Ordering::Acquire);
        if offset < log_start || offset > hw {
            return Err(Error::OffsetOutOfRange {
                offset,
                log_start,
                log_end: hw,
            });
        }
        let result = |records| Read {
            records,
            high_watermark: hw,
            log_start_offset: log_start,
            last_stable_offset: hw,
        };
        if offset == hw {
            return Ok(result(empty));
        }
        for segment in self.segments_from(offset) {
            if segment.base_offset >= hw {
                break;
            }
            if let Some(records) = read(&segment, hw)? {
                return Ok(result(records));
            }
        }
        Ok(result(empty))
    }

    /// The segment holding `offset` and all later ones.
    fn segments_from(&self, offset: i64) -> Vec<Arc<Segment>> {
        let segments = self.segments.read();
        let idx = segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1);
        segments[idx..].to_vec()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start.load(Ordering::Acquire)
    }

    pub fn log_end_offset(&self) -> i64 {
        self.log_end.load(Ordering::Acquire)
    }

    /// Single node: the log end offset.
    pub fn high_watermark(&self) -> i64 {
        self.log_end_offset()
    }

    /// Total bytes of all segment `.log` files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.read().iter().map(|s| s.size()).sum()
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.read().len()
    }

    /// ListOffsets by timestamp: the earliest record (at or above the log start
    /// offset) whose timestamp is ≥ `ts`, `None` if there is none.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<TimestampOffset>> {
        self.ensure_open()?;
        let hw = self.log_end.load(Ordering::Acquire);
        let log_start = self.log_start.load(Ordering::Acquire);
        let limit = validate::decompress_limit(self.config.read().max_message_bytes);
        let segments = self.segments.read().clone();
        for segment in segments {
            if segment.base_offset >= hw {
                break;
            }
            if segment.next_offset() <= log_start {
                continue;
            }
            match segment.max_timestamp() {
                Some((max, _)) if max >= ts => {}
                _ => continue,
            }
            if let Some(found) = segment.find_offset_by_timestamp(ts, log_start, hw, limit)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP (KIP-734): the largest timestamp and the first offset
    /// carrying it; `None` on an empty log.
    pub fn max_timestamp(&self) -> Option<TimestampOffset> {
        let segments = self.segments.read().clone();
        let mut best: Option<TimestampOffset> = None;
        for (timestamp, offset) in segments.iter().filter_map(|s| s.max_timestamp()) {
            if best.is_none_or(|b| timestamp > b.timestamp) {
                best = Some(TimestampOffset { timestamp, offset });
            }
        }
        best
    }

    /// DeleteRecords: moves the log start offset up to `offset` (-1: the high
    /// watermark), deletes the segments wholly below it; returns the new log start.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64> {
        self.ensure_open()?;
        let _hk = self.housekeeping.lock();
        let _ap = self.appender.lock();
        self.ensure_open()?;
        let hw = self.log_end.load(Ordering::Acquire);
        let log_start = self.log_start.load(Ordering::Acquire);
        let target = if offset == -1 { hw } else { offset };
        if target < 0 || target > hw {
            return Err(Error::OffsetOutOfRange {
                offset,
                log_start,
                log_end: hw,
            });
        }
        if target <= log_start {
            return Ok(log_start);
        }
        recovery::write_checkpoint(&self.dir, LOG_START_FILE, target)?;
        self.log_start.store(target, Ordering::Release);
        let removed: Vec<Arc<Segment>> = {
            let mut segments = self.segments.write();
            let n = segments
                .windows(2)
                .take_while(|w| w[1].base_offset <= target)
                .count();
            segments.drain(..n).collect()
        };
        for segment in &removed {
            if let Err(e) = segment.delete_files() {
                warn!(base = segment.base_offset, error = %e, "could not delete segment files");
            }
        }
        if !removed.is_empty() {
            self.dir_dirty.store(true, Ordering::Release);
        }
        Ok(target)
    }

    /// Applies a new configuration to future appends and rolls.
    pub fn update_config(&self, config: LogConfig) {
        *self.config.write() = config;
    }

    /// Sets the partition leader epoch written into appended batches (0 by default).
    pub fn set_leader_epoch(&self, epoch: i32) {
        self.leader_epoch.store(epoch, Ordering::Release);
    }

    /// Flushes and fsyncs everything and marks the shutdown clean; later calls fail
    /// with [`Error::Closed`].
    pub fn close(&self) -> Result<()> {
        // Waits for a retention run or compaction swap in progress.
        let _hk = self.housekeeping.lock();
        let snapshot = {
            let mut ap = self.appender.lock();
            if self.closed.swap(true, Ordering::AcqRel) {
                return Err(Error::Closed);
            }
            let mut tracker = ap.tracker.clone();
            if let Some(t) = tracker.time_entry() {
                ap.writer.append_time(t)?;
                ap.active.push_index(&[], &[t]);
            }
            ap.tracker = tracker;
            ap.writer.sync()?;
            (ap.next_offset, self.producers.lock().encode_snapshot())
        };
        self.write_producer_snapshot(snapshot.0, &snapshot.1);
        let mut st = self.sync.lock();
        self.sync_locked(&mut st, true)?;
        let log_end = self.log_end.load(Ordering::Acquire);
        recovery::write_checkpoint(&self.dir, RECOVERY_POINT_FILE, log_end)?;
        st.recovery_point = log_end;
        recovery::write_clean_shutdown(&self.dir)
    }

    /// Closes the log (without flushing) and removes its directory.
    pub fn delete(&self) -> Result<()> {
        let _hk = self.housekeeping.lock();
        {
            let _ap = self.appender.lock();
            self.closed.store(true, Ordering::Release);
        }
        let _st = self.sync.lock();
        for segment in self.segments.read().iter() {
            segment.delete_files()?;
        }
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Periodic housekeeping (call every 100 ms – 1 s): rolls the active segment when
    /// it is older than `segment.ms`, expires idle producers
    /// (`producer_id_expiration_ms`), and fsyncs when the last flush is older than
    /// `flush.ms`.
    pub fn maybe_roll(&self) -> Result<()> {
        self.ensure_open()?;
        let cfg = self.config();
        let rolled = {
            let mut ap = self.appender.lock();
            self.ensure_open()?;
            let aged = cfg
                .segment_ms
                .is_some_and(|ms| ap.active_since.is_some_and(|t| t.elapsed() >= ms));
            if aged && !ap.active.is_empty() {
                let base = ap.next_offset;
                Some(self.roll_locked(&mut ap, base)?)
            } else {
                None
            }
        };
        self.remove_expired_producers(now_ms());
        if let Some((offset, snapshot)) = &rolled {
            self.write_producer_snapshot(*offset, snapshot);
        }
        if rolled.is_some() || !self.sealed.lock().is_empty() {
            return self.sync_all_locked(false);
        }
        if let Some(interval) = cfg.flush_interval_ms {
            if self.log_end_offset() > self.durable_offset() {
                let mut st = self.sync.lock();
                if st.last_flush.elapsed() >= interval
                    && self.log_end_offset() > self.durable_offset()
                {
                    self.sync_locked(&mut st, false)?;
                }
            }
        }
        Ok(())
    }

    /// fsync rounds run so far (a metric: with group commit, far fewer than `sync_to` calls).
    pub fn sync_count(&self) -> u64 {
        self.sync_rounds.load(Ordering::Relaxed)
    }

    /// Time since the last fsync round (for metrics and tests).
    pub fn since_last_flush(&self) -> Duration {
        self.sync.lock().last_flush.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchHeader;
    use crate::index::{decode_offset_index, decode_time_index};
    use crate::segment::HeaderReader;

    /// A minimal valid uncompressed batch of `n` records (empty keys and values).
    fn raw_batch(n: i32, ts: i64) -> Vec<u8> {
        let mut records = Vec::new();
        for i in 0..n {
            // length 6 (zigzag 12): attrs, ts delta i, offset delta i, key -1, value -1, 0 headers
            let z = (i as u8) << 1;
            records.extend_from_slice(&[12, 0, z, z, 1, 1, 0]);
        }
        let mut b = vec![0u8; 61];
        b.extend_from_slice(&records);
        let len = (b.len() - 12) as i32;
        crate::batch::put_i32(&mut b, 8, len);
        b[16] = 2;
        crate::batch::put_i32(&mut b, 23, n - 1);
        crate::batch::put_i64(&mut b, 27, ts);
        crate::batch::put_i64(&mut b, 35, ts + i64::from(n) - 1);
        crate::batch::put_i64(&mut b, 43, -1);
        crate::batch::put_i16(&mut b, 51, -1);
        crate::batch::put_i32(&mut b, 53, -1);
        crate::batch::put_i32(&mut b, 57, n);
        crate::batch::update_crc(&mut b);
        b
    }

    #[test]
    fn index_files_match_memory_after_close() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LogConfig {
            segment_bytes: 2048,
            index_interval_bytes: 100,
            segment_ms: None,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(dir.path(), cfg).unwrap();
        for i in 0..200 {
            log.append(Bytes::from(raw_batch(1 + i % 3, 1000 + i64::from(i))))
                .unwrap();
        }
        let segments = log.segments.read().clone();
        assert!(segments.len() > 2);
        log.close().unwrap();
        for s in &segments {
            let (index_path, time_path) = s.index_paths();
            let offsets = decode_offset_index(&std::fs::read(index_path).unwrap());
            let times = decode_time_index(&std::fs::read(time_path).unwrap());
            assert_eq!(offsets.len(), s.offset_index_len());
            assert_eq!(times.len(), s.time_index_len());
            assert!(!offsets.is_empty() && !times.is_empty());
            assert_eq!(*s.offset_index.read(), offsets);
            assert_eq!(*s.time_index.read(), times);
            // Each offset entry names a batch containing its offset.
            let mut reader = HeaderReader::new(&s.log, s.size());
            for e in &offsets {
                let h: BatchHeader = reader.header_at(u64::from(e.position)).unwrap().unwrap();
                let o = s.base_offset + i64::from(e.rel_offset);
                assert!(h.base_offset <= o && o <= h.last_offset());
            }
            // The last time entry is the segment's max timestamp (final entry on roll/close).
            let (ts, off) = s.max_timestamp().unwrap();
            let last = times.last().unwrap();
            assert_eq!(last.timestamp, ts);
            assert_eq!(s.base_offset + i64::from(last.rel_offset), off);
        }
    }

    #[test]
    fn append_quick_leaves_roll_and_flush_fsyncs_to_finish_append() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LogConfig {
            segment_bytes: 200,
            flush_interval_messages: Some(4),
            segment_ms: None,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(dir.path(), cfg).unwrap();
        // Neither a roll nor flush.messages: nothing is owed.
        let (info, rest) = log.append_quick(Bytes::from(raw_batch(2, 0))).unwrap();
        assert_eq!((info.base_offset, info.last_offset), (0, 1));
        assert!(rest.is_none());
        // The fourth unflushed record: the fsync is owed, not done, but the records
        // are readable at once.
        let (info, rest) = log.append_quick(Bytes::from(raw_batch(2, 0))).unwrap();
        assert_eq!(info.last_offset, 3);
        let rest = rest.expect("flush.messages reached");
        assert_eq!(rest.flush_to, Some(3));
        assert!(rest.rolled.is_none());
        assert_eq!(log.durable_offset(), 0);
        assert_eq!(log.read(0, 1000, true).unwrap().high_watermark, 4);
        log.finish_append(rest).unwrap();
        assert_eq!(log.durable_offset(), 4);
        // A batch that does not fit the active segment rolls: the sealed segment's
        // fsync and the producer snapshot are owed.
        let (info, rest) = log.append_quick(Bytes::from(raw_batch(1, 0))).unwrap();
        let rest = rest.expect("a roll");
        assert_eq!(rest.rolled.as_ref().map(|r| r.0), Some(info.base_offset));
        assert_eq!(log.segment_count(), 2);
        let snapshot = producer_state::snapshot_path(dir.path(), info.base_offset);
        assert!(!snapshot.exists());
        log.finish_append(rest).unwrap();
        assert!(snapshot.exists());
        // append() is append_quick() plus finish_append().
        let before = log.sync_count();
        let info = log.append(Bytes::from(raw_batch(4, 0))).unwrap();
        assert_eq!(info.last_offset, 8);
        assert_eq!(log.durable_offset(), 9);
        assert!(log.sync_count() > before);
    }

    #[test]
    fn appends_do_not_wait_for_sync_lock() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(PartitionLog::open(dir.path(), LogConfig::default()).unwrap());
        // Hold the sync lock (as an fsync in progress would): appends and reads still work.
        let guard = log.sync.lock();
        let info = log.append(Bytes::from(raw_batch(2, 0))).unwrap();
        assert_eq!(info.last_offset, 1);
        assert_eq!(
            log.read(0, 1000, true).unwrap().records.len(),
            raw_batch(2, 0).len()
        );
        let waiter = {
            let log = log.clone();
            std::thread::spawn(move || log.sync_to(1))
        };
        drop(guard);
        waiter.join().unwrap().unwrap();
        assert_eq!(log.durable_offset(), 2);
    }
}
