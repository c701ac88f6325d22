//! Opening a partition directory: find the segments, load or rebuild their indexes,
//! truncate a torn write, restore the log start offset.
//!
//! Three small files in the partition directory drive it:
//! - `.clean-shutdown`: written by `close` after everything is fsynced, removed on
//!   open. When present, every segment's indexes are trusted (after cheap sanity
//!   checks) and only the tail of the active segment, from its last offset index
//!   entry, is re-scanned batch by batch with CRC checks.
//! - `recovery-point-offset`: segments wholly below it were fsynced with their
//!   indexes (it moves when a rolled segment has been flushed). After an unclean
//!   shutdown, segments below it are trusted like above and every later segment is
//!   re-scanned from its start with CRC checks and its indexes rebuilt; at the first
//!   bad batch the segment is truncated and all later segments are deleted, as Kafka
//!   does.
//! - `log-start-offset`: the log start offset set by DeleteRecords and retention.
//!
//! Before segments are listed, an interrupted log-cleaner swap is completed or rolled
//! back (`cleaner.rs`). Producer snapshots (`<offset>.snapshot`) are loaded by
//! `PartitionLog::open` after recovery (`producer_state.rs`).

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::{debug, warn};

use crate::batch::{BatchHeader, ATTRIBUTES_OFFSET, MAGIC_V2, RECORD_BATCH_OVERHEAD};
use crate::index::{
    self, IndexTracker, IndexWriter, OffsetEntry, TimeEntry, OFFSET_ENTRY_SIZE, TIME_ENTRY_SIZE,
};
use crate::segment::{
    HeaderReader, Segment, SegmentState, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX,
};
use crate::validate::decompress_limit;
use crate::{LogConfig, Result};

pub(crate) const LOG_START_FILE: &str = "log-start-offset";
pub(crate) const RECOVERY_POINT_FILE: &str = "recovery-point-offset";
pub(crate) const CLEAN_SHUTDOWN_FILE: &str = ".clean-shutdown";

/// What `open` hands to the [`crate::PartitionLog`].
pub(crate) struct Recovered {
    pub segments: Vec<Arc<Segment>>,
    pub writer: IndexWriter,
    pub tracker: IndexTracker,
    pub log_start: i64,
    pub log_end: i64,
    pub recovery_point: i64,
    /// Age of the active segment's data, if it has any.
    pub active_age: Option<Duration>,
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Writes a small checkpoint file atomically (temp file, fsync, rename, fsync dir).
pub(crate) fn write_checkpoint(dir: &Path, name: &str, value: i64) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, format!("{value}\n"))?;
    File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

pub(crate) fn read_checkpoint(dir: &Path, name: &str) -> Result<Option<i64>> {
    match std::fs::read_to_string(dir.join(name)) {
        Ok(s) => match s.trim().parse::<i64>() {
            Ok(v) => Ok(Some(v)),
            Err(_) => {
                warn!(dir = %dir.display(), file = name, "ignoring unreadable checkpoint file");
                Ok(None)
            }
        },
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn write_clean_shutdown(dir: &Path) -> Result<()> {
    let path = dir.join(CLEAN_SHUTDOWN_FILE);
    File::create(&path)?.sync_all()?;
    sync_dir(dir)
}

fn read_index_file(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn parse_base(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?.strip_suffix('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Where a scan stopped.
struct ScanEnd {
    valid_end: u64,
    next_offset: i64,
    /// Stopped before the end of the file at a bad or torn batch.
    torn: bool,
}

/// The indexes being rebuilt or extended by a scan.
struct IndexBuild {
    tracker: IndexTracker,
    offsets: Vec<OffsetEntry>,
    times: Vec<TimeEntry>,
    interval: u32,
}

/// Scans batches from `start` to the end of the file, checking framing, offsets and
/// (if `check_crc`) the CRC, and feeding the index builder.
fn scan(
    file: &File,
    file_len: u64,
    start: u64,
    mut next_offset: i64,
    check_crc: bool,
    build: &mut IndexBuild,
) -> Result<ScanEnd> {
    let base = build.tracker.base_offset;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    reader.seek(SeekFrom::Start(start))?;
    let mut pos = start;
    let mut header = [0u8; RECORD_BATCH_OVERHEAD];
    let mut body = Vec::new();
    let torn = loop {
        if pos >= file_len {
            break false;
        }
        if file_len - pos < RECORD_BATCH_OVERHEAD as u64 {
            break true;
        }
        reader.read_exact(&mut header)?;
        let Some(h) = BatchHeader::parse(&header) else {
            break true;
        };
        let size = h.size();
        let framed = size >= RECORD_BATCH_OVERHEAD
            && pos + size as u64 <= file_len
            && h.magic == MAGIC_V2
            && h.last_offset_delta >= 0
            // Empty batches (record count 0) are what the log cleaner keeps of an
            // idempotent producer's last batch.
            && h.record_count >= 0
            && h.base_offset >= next_offset
            && h.last_offset() - base <= i64::from(i32::MAX);
        if !framed {
            break true;
        }
        let body_len = size - RECORD_BATCH_OVERHEAD;
        if check_crc {
            body.resize(body_len, 0);
            reader.read_exact(&mut body)?;
            let crc = crc32c::crc32c_append(crc32c::crc32c(&header[ATTRIBUTES_OFFSET..]), &body);
            if crc != h.crc {
                break true;
            }
        } else {
            reader.seek_relative(body_len as i64)?;
        }
        let (o, t) = build.tracker.on_batch(
            pos,
            size as u64,
            h.last_offset(),
            h.max_timestamp,
            h.base_offset,
            build.interval,
        );
        build.offsets.extend(o);
        build.times.extend(t);
        pos += size as u64;
        next_offset = h.next_offset();
    };
    Ok(ScanEnd {
        valid_end: pos,
        next_offset,
        torn,
    })
}

/// A segment as loaded from disk.
struct Loaded {
    build: IndexBuild,
    end: ScanEnd,
    /// The index files must be rewritten.
    rewrite: bool,
}

/// Loads a segment trusting its index files (after sanity checks), scanning only
/// from the last offset index entry. `None` when the indexes cannot be trusted.
fn load_trusted(
    log: &File,
    file_len: u64,
    base: i64,
    is_last: bool,
    index_paths: (&Path, &Path),
    interval: u32,
) -> Result<Option<Loaded>> {
    let (Some(offset_bytes), Some(time_bytes)) = (
        read_index_file(index_paths.0)?,
        read_index_file(index_paths.1)?,
    ) else {
        return Ok(None);
    };
    let mut rewrite =
        offset_bytes.len() % OFFSET_ENTRY_SIZE != 0 || time_bytes.len() % TIME_ENTRY_SIZE != 0;
    let mut offsets = index::decode_offset_index(&offset_bytes);
    let times = index::decode_time_index(&time_bytes);
    if is_last {
        // Entries past a truncated file are dropped; the scan re-adds what is valid.
        let keep = offsets.partition_point(|e| u64::from(e.position) < file_len);
        rewrite |= keep != offsets.len();
        offsets.truncate(keep);
    }
    if !index::offset_index_is_sane(&offsets, file_len) || !index::time_index_is_sane(&times) {
        return Ok(None);
    }
    let start = match offsets.last() {
        Some(e) => {
            let target = base + i64::from(e.rel_offset);
            let pos = u64::from(e.position);
            match HeaderReader::new(log, file_len).header_at(pos)? {
                Some(h) if h.base_offset <= target && target <= h.last_offset() => pos,
                _ => return Ok(None),
            }
        }
        None => 0,
    };
    let mut tracker = IndexTracker::new(base);
    if let Some(t) = times.last() {
        tracker.max_so_far = Some((t.timestamp, base + i64::from(t.rel_offset)));
        tracker.last_time_entry_ts = t.timestamp;
    }
    let (n_offsets, n_times) = (offsets.len(), times.len());
    let mut build = IndexBuild {
        tracker,
        offsets,
        times,
        interval,
    };
    let end = scan(log, file_len, start, base, is_last, &mut build)?;
    if end.torn && !is_last {
        return Ok(None);
    }
    if build
        .times
        .iter()
        .any(|t| base + i64::from(t.rel_offset) >= end.next_offset)
    {
        // The time index describes data that is gone: rebuild it.
        return Ok(None);
    }
    rewrite |= build.offsets.len() != n_offsets || build.times.len() != n_times;
    Ok(Some(Loaded {
        build,
        end,
        rewrite,
    }))
}

/// Loads one segment; `trusted` lets it rely on the index files.
fn load_segment(
    dir: &Path,
    base: i64,
    is_last: bool,
    trusted: bool,
    config: &LogConfig,
) -> Result<(Segment, Loaded, IndexWriter)> {
    let [log_path, index_path, time_index_path] = Segment::paths(dir, base);
    let log = Segment::open_log_file(&log_path, false)?;
    let file_len = log.metadata()?.len();
    let interval = config.index_interval_bytes;
    let trusted_load = if trusted {
        load_trusted(
            &log,
            file_len,
            base,
            is_last,
            (&index_path, &time_index_path),
            interval,
        )?
    } else {
        None
    };
    let mut loaded = match trusted_load {
        Some(l) => l,
        None => {
            if trusted {
                warn!(segment = %log_path.display(), "segment indexes missing or inconsistent; rebuilding");
            } else {
                debug!(segment = %log_path.display(), "recovering segment after unclean shutdown");
            }
            let mut build = IndexBuild {
                tracker: IndexTracker::new(base),
                offsets: Vec::new(),
                times: Vec::new(),
                interval,
            };
            let end = scan(&log, file_len, 0, base, true, &mut build)?;
            Loaded {
                build,
                end,
                rewrite: true,
            }
        }
    };
    if loaded.end.torn {
        warn!(
            segment = %log_path.display(),
            valid_bytes = loaded.end.valid_end,
            file_bytes = file_len,
            "truncating invalid or torn data at the end of the segment"
        );
        log.set_len(loaded.end.valid_end)?;
    }
    if !is_last {
        // Kafka's final time index entry of an inactive segment.
        if let Some(t) = loaded.build.tracker.time_entry() {
            loaded.build.times.push(t);
            loaded.rewrite = true;
        }
    }
    let writer = IndexWriter::open(
        &index_path,
        &time_index_path,
        &loaded.build.offsets,
        &loaded.build.times,
        loaded.rewrite,
    )?;
    let segment = Segment::new(
        dir,
        base,
        log,
        SegmentState {
            size: loaded.end.valid_end,
            next_offset: loaded.end.next_offset,
            offsets: loaded.build.offsets.clone(),
            times: loaded.build.times.clone(),
            max_timestamp: loaded.build.tracker.max_so_far,
        },
    );
    Ok((segment, loaded, writer))
}

pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Opens (creating if needed) the partition directory and recovers its segments.
pub(crate) fn recover(dir: &Path, config: &LogConfig) -> Result<Recovered> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent() {
            if let Err(e) = sync_dir(parent) {
                debug!(error = %e, "could not fsync the parent of a new partition directory");
            }
        }
    }
    let mut dir_changed = crate::cleaner::recover_interrupted_cleaning(dir)?;
    let mut bases = Vec::new();
    let mut index_files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.ends_with(".tmp") || name.ends_with(".deleted") {
            remove_if_exists(&entry.path())?;
            dir_changed = true;
        } else if let Some(base) = parse_base(&name, LOG_SUFFIX) {
            bases.push(base);
        } else if let Some(base) =
            parse_base(&name, INDEX_SUFFIX).or_else(|| parse_base(&name, TIME_INDEX_SUFFIX))
        {
            index_files.push((base, entry.path()));
        }
    }
    bases.sort_unstable();
    for (base, path) in index_files {
        if bases.binary_search(&base).is_err() {
            remove_if_exists(&path)?;
            dir_changed = true;
        }
    }
    let clean = dir.join(CLEAN_SHUTDOWN_FILE).exists();
    let stored_recovery_point = read_checkpoint(dir, RECOVERY_POINT_FILE)?;
    let recovery_point = stored_recovery_point.unwrap_or(0);
    let start_checkpoint = read_checkpoint(dir, LOG_START_FILE)?;
    if bases.is_empty() {
        let base = start_checkpoint.unwrap_or(0).max(0);
        Segment::create(dir, base)?;
        dir_changed = true;
        bases.push(base);
    }

    let mut loaded = Vec::with_capacity(bases.len());
    let mut last_writer = None;
    let mut rewritten = Vec::new();
    for (i, &base) in bases.iter().enumerate() {
        let next_base = bases.get(i + 1).copied();
        let is_last = next_base.is_none();
        let trusted = clean || next_base.is_some_and(|n| n <= recovery_point);
        let (segment, l, writer) = load_segment(dir, base, is_last, trusted, config)?;
        let segment = Arc::new(segment);
        if l.rewrite || l.end.torn || !trusted {
            rewritten.push(segment.clone());
        }
        let truncated = l.end.torn;
        loaded.push((segment, l));
        last_writer = Some(writer);
        if truncated && !is_last {
            warn!(dir = %dir.display(), "deleting the segments after a truncated segment");
            for &later in &bases[i + 1..] {
                dir_changed = true;
                for path in Segment::paths(dir, later) {
                    remove_if_exists(&path)?;
                }
            }
            break;
        }
    }
    let (Some(writer), Some((active, active_loaded))) = (last_writer, loaded.pop()) else {
        return Err(crate::Error::Io(std::io::Error::other("no segment loaded")));
    };
    let tracker = active_loaded.build.tracker.clone();
    let mut segments: Vec<Arc<Segment>> = loaded.into_iter().map(|(s, _)| s).collect();
    segments.push(active.clone());

    let limit = decompress_limit(config.max_message_bytes);
    for s in &segments {
        if let Err(e) = s.resolve_max_timestamp(limit) {
            warn!(base = s.base_offset, error = %e, "could not resolve the segment's max timestamp offset");
        }
    }

    // Make what recovery rewrote (and, after a crash, whatever the page cache still
    // held) durable; a clean shutdown already fsynced everything.
    let unsynced_active = (!clean).then_some(&active);
    for s in rewritten.iter().chain(unsynced_active) {
        s.sync_all()?;
    }
    if clean {
        std::fs::remove_file(dir.join(CLEAN_SHUTDOWN_FILE))?;
        dir_changed = true;
    }
    let recovery_point = active.base_offset;
    if stored_recovery_point != Some(recovery_point) {
        write_checkpoint(dir, RECOVERY_POINT_FILE, recovery_point)?;
    } else if dir_changed {
        sync_dir(dir)?;
    }

    let first_base = segments
        .first()
        .map_or(active.base_offset, |s| s.base_offset);
    let log_end = active.next_offset();
    let log_start = start_checkpoint
        .unwrap_or(first_base)
        .max(first_base)
        .min(log_end);
    let active_age = if active.is_empty() {
        None
    } else {
        std::fs::metadata(Segment::paths(dir, active.base_offset)[0].as_path())
            .and_then(|m| m.created())
            .ok()
            .and_then(|created| SystemTime::now().duration_since(created).ok())
    };
    Ok(Recovered {
        segments,
        writer,
        tracker,
        log_start,
        log_end,
        recovery_point,
        active_age,
    })
}
