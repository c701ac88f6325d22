//! Log compaction for `cleanup.policy=compact` (Kafka's `LogCleaner`), one
//! partition at a time, driven by [`PartitionLog::compact`].
//!
//! A pass:
//! 1. The *dirty* section runs from the cleaner checkpoint (`cleaner-offset-checkpoint`
//!    in the partition directory: the offset up to which the log has been cleaned) to
//!    the first *uncleanable* segment: the active segment, or an earlier segment
//!    holding a record newer than `min.compaction.lag.ms`. A pass runs when the dirty
//!    ratio (dirty bytes / bytes of the clean and dirty sections) reaches
//!    `min.cleanable.dirty.ratio`, when the first dirty batch is older than
//!    `max.compaction.lag.ms`, or when a tombstone's delete horizon has passed.
//! 2. A map key -> latest offset is built over the dirty section (at most
//!    [`MAX_MAP_KEY_BYTES`] of keys; the section then ends at that segment).
//! 3. Every segment from the start of the log to the end of the mapped section is
//!    rewritten (one cleaned segment per old segment, same base offset; untouched
//!    segments are left alone) keeping a record unless the map holds a later offset
//!    for its key. Records without a key are dropped (Kafka does the same).
//!    Tombstones (null value) stay until their batch's delete horizon has passed:
//!    the first pass that keeps a tombstone sets the batch's delete horizon to
//!    `now + delete.retention.ms` (KIP-534: attributes bit 6, stored in
//!    baseTimestamp); later passes drop tombstones whose horizon has passed.
//! 4. Surviving records keep their offsets: a rewritten batch keeps its base offset,
//!    last offset delta, producer id / epoch / base sequence, partition leader epoch
//!    and codec, with the surviving records (re-encoded only if the base timestamp
//!    changes). A batch left without records is dropped, except the last batch of a
//!    producer that still has state, which is kept as an empty batch (header only,
//!    record count 0) so producer state can be rebuilt from the log, as Kafka does.
//!    Control batches (transaction markers) are kept as they are.
//!
//! Crash safety: a segment is written to `<base>.log.cleaned` (+ `.index.cleaned`,
//! `.timeindex.cleaned`) and fsynced; the swap renames the index files then the log to
//! `.swap` (the log's rename is the commit point), fsyncs the directory, then renames
//! each `.swap` over the live file. Recovery deletes `.cleaned` files, completes a swap
//! whose `.log.swap` exists, and deletes index `.swap` files without one. A segment
//! emptied by cleaning is deleted (unless it is the first segment of the log). The
//! checkpoint is written after all swaps of a pass: a crash before it only repeats
//! work.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tracing::{debug, warn};

use crate::batch::{
    self, BatchHeader, ATTRIBUTES_OFFSET, BASE_TIMESTAMP_OFFSET, COMPRESSION_CODEC_MASK,
    DELETE_HORIZON_FLAG, LENGTH_OFFSET, LOG_OVERHEAD, MAX_TIMESTAMP_OFFSET, RECORD_BATCH_OVERHEAD,
    RECORD_COUNT_OFFSET,
};
use crate::compression;
use crate::index::{IndexTracker, IndexWriter, OffsetEntry, TimeEntry};
use crate::log::PartitionLog;
use crate::recovery::{self, remove_if_exists, sync_dir};
use crate::segment::{records_section, Segment, SegmentState};
use crate::validate::decompress_limit;
use crate::{Error, LogConfig, Result, TimestampType};

pub(crate) const CLEANER_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
pub(crate) const CLEANED_SUFFIX: &str = ".cleaned";
pub(crate) const SWAP_SUFFIX: &str = ".swap";
/// Most key bytes the offset map of one pass holds (Kafka bounds it with
/// `log.cleaner.dedupe.buffer.size`).
pub(crate) const MAX_MAP_KEY_BYTES: usize = 64 << 20;

/// What one [`PartitionLog::compact`] call did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactionOutcome {
    /// A cleaning pass ran.
    pub cleaned: bool,
    /// Dirty ratio before the pass (dirty bytes / cleanable bytes).
    pub dirty_ratio: f64,
    /// Segments replaced by a cleaned copy.
    pub segments_rewritten: usize,
    /// Segments deleted because cleaning left them empty.
    pub segments_deleted: usize,
    /// Records removed (superseded, expired tombstones, keyless).
    pub records_removed: u64,
    /// Bytes of the segments the pass went over, before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The cleaner checkpoint after the call: the log is clean below it.
    pub first_dirty_offset: i64,
}

/// Cleaner state kept between passes (under the cleaner lock).
#[derive(Debug, Default)]
pub(crate) struct CleanerState {
    /// The cleaner checkpoint, once read from its file.
    checkpoint: Option<i64>,
    /// Earliest delete horizon of a cleaned batch holding tombstones: `None` until
    /// known (scanned after open), then `Some(None)` when there is none.
    earliest_horizon: Option<Option<i64>>,
}

/// A segment's cleaned copy, written and fsynced under `.cleaned` names.
struct Cleaned {
    state: SegmentState,
    /// No batch left.
    empty: bool,
    records_removed: u64,
}

/// Per-pass inputs of the record filter.
struct Filter<'a> {
    map: &'a HashMap<Vec<u8>, i64>,
    producer_last: &'a HashMap<i64, i64>,
    now_ms: i64,
    delete_retention_ms: i64,
    decompress_limit: usize,
}

/// What becomes of one batch.
enum Decision {
    Keep,
    Rewrite(Vec<u8>),
    Drop,
}

struct BatchResult {
    decision: Decision,
    removed: u64,
    /// Delete horizon of the output batch when it still holds tombstones.
    horizon: Option<i64>,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The `.cleaned` (or `.swap`) names of a segment's three files.
fn temp_paths(dir: &Path, base: i64, suffix: &str) -> [PathBuf; 3] {
    Segment::paths(dir, base).map(|p| with_suffix(&p, suffix))
}

fn remove_quietly(paths: &[PathBuf]) {
    for p in paths {
        if let Err(e) = remove_if_exists(p) {
            warn!(file = %p.display(), error = %e, "could not remove a cleaner temp file");
        }
    }
}

/// Rewrites a batch with only `retained` (raw records of `section`), keeping its
/// offsets, producer fields, leader epoch and codec.
fn rebuild_batch(
    h: &BatchHeader,
    header_bytes: &[u8],
    retained: &[batch::RecordView<'_>],
    horizon: Option<i64>,
) -> Result<Vec<u8>> {
    let base_ts = horizon.unwrap_or(h.base_timestamp);
    let mut records = Vec::new();
    let mut max_ts = i64::MIN;
    for r in retained {
        let ts = h.base_timestamp.saturating_add(r.timestamp_delta);
        max_ts = max_ts.max(ts);
        if base_ts == h.base_timestamp {
            records.extend_from_slice(r.raw);
        } else {
            let mut body = vec![r.attributes];
            batch::write_varlong(ts.saturating_sub(base_ts), &mut body);
            body.extend_from_slice(r.from_offset_delta);
            batch::write_varint(i32::try_from(body.len()).unwrap_or(i32::MAX), &mut records);
            records.extend_from_slice(&body);
        }
    }
    let codec = h.compression_id();
    let payload = if codec == compression::NONE {
        records
    } else {
        compression::compress(codec, &records)?
    };
    let mut b = Vec::with_capacity(RECORD_BATCH_OVERHEAD + payload.len());
    b.extend_from_slice(&header_bytes[..RECORD_BATCH_OVERHEAD]);
    b.extend_from_slice(&payload);
    let len = i32::try_from(b.len() - LOG_OVERHEAD)
        .map_err(|_| Error::CorruptRecord("cleaned batch too large".into()))?;
    batch::put_i32(&mut b, LENGTH_OFFSET, len);
    let mut attributes = h.attributes & !DELETE_HORIZON_FLAG;
    if horizon.is_some() {
        attributes |= DELETE_HORIZON_FLAG;
    }
    batch::put_i16(&mut b, ATTRIBUTES_OFFSET, attributes);
    batch::put_i64(&mut b, BASE_TIMESTAMP_OFFSET, base_ts);
    if h.timestamp_type() == TimestampType::CreateTime {
        batch::put_i64(&mut b, MAX_TIMESTAMP_OFFSET, max_ts);
    }
    batch::put_i32(
        &mut b,
        RECORD_COUNT_OFFSET,
        i32::try_from(retained.len()).unwrap_or(i32::MAX),
    );
    batch::update_crc(&mut b);
    Ok(b)
}

/// Kafka's `DefaultRecordBatch.writeEmptyHeader`: the batch without records, kept for
/// its producer's sequence numbers.
fn empty_batch(h: &BatchHeader, header_bytes: &[u8]) -> Vec<u8> {
    let mut b = header_bytes[..RECORD_BATCH_OVERHEAD].to_vec();
    batch::put_i32(
        &mut b,
        LENGTH_OFFSET,
        (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32,
    );
    let attributes = h.attributes & !COMPRESSION_CODEC_MASK & !DELETE_HORIZON_FLAG;
    batch::put_i16(&mut b, ATTRIBUTES_OFFSET, attributes);
    batch::put_i64(&mut b, BASE_TIMESTAMP_OFFSET, h.max_timestamp);
    batch::put_i64(&mut b, MAX_TIMESTAMP_OFFSET, h.max_timestamp);
    batch::put_i32(&mut b, RECORD_COUNT_OFFSET, 0);
    batch::update_crc(&mut b);
    b
}

impl Filter<'_> {
    fn is_producer_last(&self, h: &BatchHeader) -> bool {
        h.has_producer_id() && self.producer_last.get(&h.producer_id) == Some(&h.last_offset())
    }

    fn batch(&self, h: &BatchHeader, bytes: &[u8]) -> Result<BatchResult> {
        let keep = |horizon| BatchResult {
            decision: Decision::Keep,
            removed: 0,
            horizon,
        };
        if h.is_control() {
            return Ok(keep(None));
        }
        if h.record_count <= 0 {
            let decision = if self.is_producer_last(h) {
                Decision::Keep
            } else {
                Decision::Drop
            };
            return Ok(BatchResult {
                decision,
                removed: 0,
                horizon: None,
            });
        }
        let section = records_section(bytes, h, self.decompress_limit)?;
        let horizon = h.delete_horizon();
        let tombstones_expired = horizon.is_some_and(|t| self.now_ms >= t);
        let mut retained = Vec::new();
        let mut removed = 0u64;
        let mut tombstones = false;
        batch::for_each_record_view(&section, h.record_count, |r| {
            let offset = h.base_offset + i64::from(r.offset_delta);
            let keep = match r.key {
                None => false,
                Some(k) => match self.map.get(k) {
                    Some(&latest) if offset < latest => false,
                    _ => r.value.is_some() || !tombstones_expired,
                },
            };
            if keep {
                tombstones |= r.value.is_none();
                retained.push(r);
            } else {
                removed += 1;
            }
            Ok(true)
        })?;
        let new_horizon = match horizon {
            None if tombstones => Some(self.now_ms.saturating_add(self.delete_retention_ms)),
            h => h,
        };
        let out_horizon = if tombstones { new_horizon } else { None };
        if removed == 0 && new_horizon == horizon {
            return Ok(keep(out_horizon));
        }
        let decision = if retained.is_empty() {
            if self.is_producer_last(h) {
                Decision::Rewrite(empty_batch(h, bytes))
            } else {
                Decision::Drop
            }
        } else {
            Decision::Rewrite(rebuild_batch(h, bytes, &retained, new_horizon)?)
        };
        Ok(BatchResult {
            decision,
            removed,
            horizon: out_horizon,
        })
    }
}

/// Copies the first `len` bytes of `from` into `to`.
fn copy_prefix(from: &File, len: u64, to: &mut impl Write) -> Result<()> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut pos = 0u64;
    while pos < len {
        let n = usize::try_from((len - pos).min(buf.len() as u64)).unwrap_or(buf.len());
        from.read_exact_at(&mut buf[..n], pos)?;
        to.write_all(&buf[..n])?;
        pos += n as u64;
    }
    Ok(())
}

/// Cleans one segment into its `.cleaned` files; `None` when nothing changes.
fn clean_segment(
    dir: &Path,
    segment: &Segment,
    filter: &Filter<'_>,
    index_interval: u32,
    horizon_min: &mut Option<i64>,
) -> Result<Option<Cleaned>> {
    let base = segment.base_offset;
    let [log_tmp, index_tmp, time_tmp] = temp_paths(dir, base, CLEANED_SUFFIX);
    let mut writer: Option<BufWriter<File>> = None;
    let mut tracker = IndexTracker::new(base);
    let mut offsets: Vec<OffsetEntry> = Vec::new();
    let mut times: Vec<TimeEntry> = Vec::new();
    let mut out_pos = 0u64;
    let mut next_offset = base;
    let mut removed = 0u64;
    let mut horizons: Option<i64> = None;
    let result = segment.for_each_batch(|pos, h, bytes| {
        let r = filter.batch(h, bytes)?;
        removed += r.removed;
        if let Some(t) = r.horizon {
            horizons = Some(horizons.map_or(t, |m| m.min(t)));
        }
        let out: Option<&[u8]> = match &r.decision {
            Decision::Keep => Some(bytes),
            Decision::Rewrite(b) => Some(b),
            Decision::Drop => None,
        };
        if !matches!(r.decision, Decision::Keep) && writer.is_none() {
            let file = File::create(&log_tmp)?;
            let mut w = BufWriter::with_capacity(256 * 1024, file);
            copy_prefix(&segment.log, pos, &mut w)?;
            writer = Some(w);
        }
        if let Some(out) = out {
            if let Some(w) = writer.as_mut() {
                w.write_all(out)?;
            }
            let oh = BatchHeader::parse(out)
                .ok_or_else(|| Error::CorruptRecord("short batch".into()))?;
            let (o, t) = tracker.on_batch(
                out_pos,
                out.len() as u64,
                oh.last_offset(),
                oh.max_timestamp,
                oh.base_offset,
                index_interval,
            );
            offsets.extend(o);
            times.extend(t);
            out_pos += out.len() as u64;
            next_offset = oh.next_offset();
        }
        Ok(true)
    });
    if let Err(e) = result {
        remove_quietly(&[log_tmp]);
        return Err(e);
    }
    let Some(writer) = writer else {
        if let Some(t) = horizons {
            *horizon_min = Some(horizon_min.map_or(t, |m| m.min(t)));
        }
        return Ok(None);
    };
    let finish = || -> Result<Cleaned> {
        let file = writer.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        file.sync_all()?;
        let mut tracker = tracker.clone();
        if let Some(t) = tracker.time_entry() {
            times.push(t);
        }
        let w = IndexWriter::open(&index_tmp, &time_tmp, &offsets, &times, true)?;
        w.sync()?;
        Ok(Cleaned {
            state: SegmentState {
                size: out_pos,
                next_offset,
                offsets: offsets.clone(),
                times: times.clone(),
                max_timestamp: tracker.max_so_far,
            },
            empty: out_pos == 0,
            records_removed: removed,
        })
    };
    match finish() {
        Ok(c) => {
            if let Some(t) = horizons {
                *horizon_min = Some(horizon_min.map_or(t, |m| m.min(t)));
            }
            Ok(Some(c))
        }
        Err(e) => {
            remove_quietly(&[log_tmp, index_tmp, time_tmp]);
            Err(e)
        }
    }
}

/// Renames `from` to `to` for each pair, in order.
fn rename_all(pairs: &[(&Path, &Path)]) -> Result<()> {
    for (from, to) in pairs {
        std::fs::rename(from, to)?;
    }
    Ok(())
}

/// Recovery: deletes `.cleaned` files, completes swaps whose `.log.swap` exists,
/// deletes index `.swap` files without one. Returns whether the directory changed.
pub(crate) fn recover_interrupted_cleaning(dir: &Path) -> Result<bool> {
    let mut changed = false;
    let mut log_swaps = Vec::new();
    let mut index_swaps = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.ends_with(CLEANED_SUFFIX) {
            remove_if_exists(&entry.path())?;
            changed = true;
        } else if let Some(stem) = name.strip_suffix(SWAP_SUFFIX) {
            if let Some(base) = recovery::parse_base(stem, crate::segment::LOG_SUFFIX) {
                log_swaps.push(base);
            } else {
                index_swaps.push(entry.path());
            }
        }
    }
    for base in &log_swaps {
        let live = Segment::paths(dir, *base);
        let swap = temp_paths(dir, *base, SWAP_SUFFIX);
        warn!(segment = %live[0].display(), "completing an interrupted log cleaner swap");
        for i in [1, 2] {
            if swap[i].exists() {
                std::fs::rename(&swap[i], &live[i])?;
            } else {
                // Already renamed, most likely; a rebuild is always safe.
                remove_if_exists(&live[i])?;
            }
        }
        std::fs::rename(&swap[0], &live[0])?;
        changed = true;
    }
    for path in index_swaps {
        if path.exists() {
            warn!(file = %path.display(), "removing an uncommitted log cleaner swap file");
            remove_if_exists(&path)?;
            changed = true;
        }
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(changed)
}

/// Earliest delete horizon among the flagged batches of `segments` (headers only).
fn scan_horizons(segments: &[Arc<Segment>]) -> Result<Option<i64>> {
    let mut min: Option<i64> = None;
    for s in segments {
        s.for_each_header_from(i64::MIN, |_, h| {
            if let (Some(t), true) = (h.delete_horizon(), h.record_count > 0) {
                min = Some(min.map_or(t, |m| m.min(t)));
            }
            Ok(true)
        })?;
    }
    Ok(min)
}

/// Max timestamp of a segment's first batch (Kafka's `getFirstBatchTimestamp`).
fn first_batch_timestamp(s: &Segment) -> Result<Option<i64>> {
    let mut ts = None;
    s.for_each_header_from(i64::MIN, |_, h| {
        ts = Some(h.max_timestamp);
        Ok(false)
    })?;
    Ok(ts)
}

impl PartitionLog {
    /// One log-cleaner pass for `cleanup.policy` including `compact` (a no-op
    /// otherwise), if the dirty ratio, `max.compaction.lag.ms` or an expired tombstone
    /// horizon calls for it; see the module docs of `cleaner.rs` for what it does.
    /// Call it periodically from a background thread (Kafka checks every 15 s,
    /// `log.cleaner.backoff.ms`); concurrent calls are serialized. Appends and reads
    /// are never blocked beyond the swap of one segment in the segment list.
    pub fn compact(&self, now_ms: i64) -> Result<CompactionOutcome> {
        self.ensure_open()?;
        let cfg = self.config();
        if !cfg.cleanup_compact {
            return Ok(CompactionOutcome {
                first_dirty_offset: self.log_start_offset(),
                ..CompactionOutcome::default()
            });
        }
        let mut st = self.cleaner.lock();
        self.ensure_open()?;
        let segments = self.segments.read().clone();
        let Some(active) = segments.last() else {
            return Ok(CompactionOutcome::default());
        };
        let first_base = segments[0].base_offset;
        let checkpoint = match st.checkpoint {
            Some(c) => c,
            None => {
                recovery::read_checkpoint(&self.dir, CLEANER_CHECKPOINT_FILE)?.unwrap_or(first_base)
            }
        };
        // A checkpoint past the active segment belongs to a truncated log: start over.
        let first_dirty = if checkpoint > active.base_offset {
            first_base
        } else {
            checkpoint.max(first_base)
        };
        st.checkpoint = Some(first_dirty);
        let mut outcome = CompactionOutcome {
            first_dirty_offset: first_dirty,
            ..CompactionOutcome::default()
        };

        let non_active = &segments[..segments.len() - 1];
        // Clean segments lie wholly below the checkpoint.
        let d = non_active
            .iter()
            .enumerate()
            .take_while(|(i, _)| segments[i + 1].base_offset <= first_dirty)
            .count();
        let lag_limit = now_ms.saturating_sub(cfg.min_compaction_lag_ms);
        let u = d + non_active[d..]
            .iter()
            .take_while(|s| {
                cfg.min_compaction_lag_ms <= 0
                    || s.max_timestamp().is_none_or(|(ts, _)| ts <= lag_limit)
            })
            .count();
        let dirty = &non_active[d..u];
        let clean_bytes: u64 = non_active[..d].iter().map(|s| s.size()).sum();
        let dirty_bytes: u64 = dirty.iter().map(|s| s.size()).sum();
        let total = clean_bytes + dirty_bytes;
        outcome.dirty_ratio = if total == 0 {
            0.0
        } else {
            dirty_bytes as f64 / total as f64
        };

        let mut force = false;
        if let Some(first) = dirty.first() {
            if cfg.max_compaction_lag_ms < i64::MAX {
                if let Some(ts) = first_batch_timestamp(first)? {
                    force |= ts > 0 && now_ms.saturating_sub(ts) > cfg.max_compaction_lag_ms;
                }
            }
        }
        let horizon = match st.earliest_horizon {
            Some(h) => h,
            None => {
                let h = scan_horizons(&non_active[..d])?;
                st.earliest_horizon = Some(h);
                h
            }
        };
        force |= horizon.is_some_and(|t| t <= now_ms);
        let ratio_due = !dirty.is_empty() && outcome.dirty_ratio >= cfg.min_cleanable_dirty_ratio;
        if !ratio_due && !force {
            return Ok(outcome);
        }

        // The offset map over the dirty section.
        let limit = decompress_limit(cfg.max_message_bytes);
        let mut map: HashMap<Vec<u8>, i64> = HashMap::new();
        let mut key_bytes = 0usize;
        let mut end = d;
        for s in dirty {
            s.for_each_batch(|_, h, bytes| {
                if h.is_control() || h.record_count <= 0 {
                    return Ok(true);
                }
                let section = records_section(bytes, h, limit)?;
                batch::for_each_record_view(&section, h.record_count, |r| {
                    if let Some(k) = r.key {
                        let offset = h.base_offset + i64::from(r.offset_delta);
                        match map.get_mut(k) {
                            Some(o) => *o = offset,
                            None => {
                                key_bytes += k.len();
                                map.insert(k.to_vec(), offset);
                            }
                        }
                    }
                    Ok(true)
                })?;
                Ok(true)
            })?;
            end += 1;
            if key_bytes > MAX_MAP_KEY_BYTES {
                break;
            }
        }
        let end_offset = segments[end].base_offset;

        let producer_last = self.producer_last_offsets();
        let filter = Filter {
            map: &map,
            producer_last: &producer_last,
            now_ms,
            delete_retention_ms: cfg.delete_retention_ms.max(0),
            decompress_limit: limit,
        };
        let mut horizon_min = None;
        outcome.cleaned = true;
        for s in &segments[..end] {
            self.ensure_open()?;
            outcome.bytes_before += s.size();
            let Some(cleaned) = clean_segment(
                &self.dir,
                s,
                &filter,
                cfg.index_interval_bytes,
                &mut horizon_min,
            )?
            else {
                outcome.bytes_after += s.size();
                continue;
            };
            outcome.records_removed += cleaned.records_removed;
            let size = cleaned.state.size;
            match self.swap_in(s, cleaned, &cfg)? {
                Swapped::Replaced => {
                    outcome.segments_rewritten += 1;
                    outcome.bytes_after += size;
                }
                Swapped::Deleted => outcome.segments_deleted += 1,
                Swapped::Gone => {}
            }
        }
        st.earliest_horizon = Some(horizon_min);
        if end_offset > first_dirty {
            recovery::write_checkpoint(&self.dir, CLEANER_CHECKPOINT_FILE, end_offset)?;
        }
        st.checkpoint = Some(end_offset.max(first_dirty));
        outcome.first_dirty_offset = end_offset.max(first_dirty);
        debug!(
            dir = %self.dir.display(),
            rewritten = outcome.segments_rewritten,
            deleted = outcome.segments_deleted,
            removed = outcome.records_removed,
            bytes_before = outcome.bytes_before,
            bytes_after = outcome.bytes_after,
            "log cleaner pass"
        );
        Ok(outcome)
    }

    /// Puts a cleaned segment in place of `old` (see the module docs for the order of
    /// renames), or deletes `old` when cleaning emptied it and it is not the first
    /// segment. Discards the cleaned files if `old` is gone meanwhile (retention).
    fn swap_in(&self, old: &Arc<Segment>, cleaned: Cleaned, cfg: &LogConfig) -> Result<Swapped> {
        let base = old.base_offset;
        let cleaned_paths = temp_paths(&self.dir, base, CLEANED_SUFFIX);
        let _hk = self.housekeeping.lock();
        let position = self
            .segments
            .read()
            .iter()
            .position(|s| Arc::ptr_eq(s, old));
        let (Some(position), Ok(())) = (position, self.ensure_open()) else {
            remove_quietly(&cleaned_paths);
            return Ok(Swapped::Gone);
        };
        if cleaned.empty && position > 0 {
            self.segments.write().retain(|s| !Arc::ptr_eq(s, old));
            old.delete_files()?;
            remove_quietly(&cleaned_paths);
            self.dir_dirty.store(true, Ordering::Release);
            return Ok(Swapped::Deleted);
        }
        let swap = temp_paths(&self.dir, base, SWAP_SUFFIX);
        let live = Segment::paths(&self.dir, base);
        rename_all(&[
            (&cleaned_paths[1], &swap[1]),
            (&cleaned_paths[2], &swap[2]),
            (&cleaned_paths[0], &swap[0]),
        ])?;
        sync_dir(&self.dir)?;
        let file = Segment::open_log_file(&swap[0], false)?;
        let segment = Segment::new(&self.dir, base, file, cleaned.state);
        rename_all(&[
            (&swap[1], &live[1]),
            (&swap[2], &live[2]),
            (&swap[0], &live[0]),
        ])?;
        sync_dir(&self.dir)?;
        if let Err(e) = segment.resolve_max_timestamp(decompress_limit(cfg.max_message_bytes)) {
            warn!(base, error = %e, "could not resolve a cleaned segment's max timestamp offset");
        }
        {
            let mut list = self.segments.write();
            if let Some(p) = list.iter().position(|s| Arc::ptr_eq(s, old)) {
                list[p] = Arc::new(segment);
            }
        }
        old.mark_replaced();
        Ok(Swapped::Replaced)
    }
}

enum Swapped {
    Replaced,
    Deleted,
    Gone,
}
