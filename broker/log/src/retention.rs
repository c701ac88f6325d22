//! Retention for `cleanup.policy=delete` (Kafka's `deleteRetentionMsBreachedSegments`
//! and `deleteRetentionSizeBreachedSegments`): whole non-active segments are deleted
//! from the oldest on, and the log start offset moves to the first remaining segment.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tracing::{debug, warn};

use crate::log::PartitionLog;
use crate::recovery::{self, LOG_START_FILE};
use crate::segment::Segment;
use crate::Result;

/// What one [`PartitionLog::enforce_retention`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Segments deleted (by time, then by size).
    pub segments_deleted: usize,
    /// Bytes of the deleted segments' `.log` files.
    pub bytes_deleted: u64,
    /// The log start offset afterwards.
    pub log_start_offset: i64,
}

/// How many of the oldest segments of `segments` (the last one being the active
/// segment, never counted) `retention.ms` and `retention.bytes` delete.
fn deletable(
    segments: &[Arc<Segment>],
    now_ms: i64,
    retention_ms: i64,
    retention_bytes: i64,
) -> usize {
    let candidates = segments.len().saturating_sub(1);
    let mut n = 0;
    if retention_ms >= 0 {
        // A segment without a timestamp holds no record: nothing to keep.
        n = segments[..candidates]
            .iter()
            .take_while(|s| {
                s.max_timestamp()
                    .is_none_or(|(ts, _)| now_ms.saturating_sub(ts) > retention_ms)
            })
            .count();
    }
    if retention_bytes >= 0 {
        let total: u64 = segments[n..].iter().map(|s| s.size()).sum();
        let mut excess = i128::from(total) - i128::from(retention_bytes);
        for s in &segments[n..candidates] {
            if excess - i128::from(s.size()) < 0 {
                break;
            }
            excess -= i128::from(s.size());
            n += 1;
        }
    }
    n
}

impl PartitionLog {
    /// Retention for `cleanup.policy` including `delete` (a no-op otherwise): deletes
    /// the oldest non-active segments whose largest timestamp is more than
    /// `retention.ms` before `now_ms`, then the oldest ones while the log is larger
    /// than `retention.bytes` (a segment goes only if the log stays at least that
    /// large without it, as in Kafka). The active segment is never deleted. The log
    /// start offset moves to the first remaining segment (persisted like
    /// DeleteRecords'); reads below it fail with `OffsetOutOfRange`.
    ///
    /// Appends and reads are not blocked: the segment list is swapped under its lock,
    /// and readers holding the old list keep reading the unlinked files through their
    /// open handles. Call it periodically (Kafka: `log.retention.check.interval.ms`,
    /// 5 minutes).
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionOutcome> {
        self.ensure_open()?;
        let cfg = self.config();
        let mut outcome = RetentionOutcome {
            log_start_offset: self.log_start_offset(),
            ..RetentionOutcome::default()
        };
        if !cfg.cleanup_delete {
            return Ok(outcome);
        }
        let _hk = self.housekeeping.lock();
        self.ensure_open()?;
        let segments = self.segments.read().clone();
        let n = deletable(&segments, now_ms, cfg.retention_ms, cfg.retention_bytes);
        if n == 0 {
            return Ok(outcome);
        }
        let new_start = segments[n].base_offset;
        if new_start > self.log_start_offset() {
            recovery::write_checkpoint(&self.dir, LOG_START_FILE, new_start)?;
            self.log_start.fetch_max(new_start, Ordering::AcqRel);
        }
        let removed: Vec<Arc<Segment>> = {
            let mut list = self.segments.write();
            // Only rolls changed the list since the snapshot (they append at the end;
            // everything else holds the housekeeping lock): the first `n` are the same.
            let same = list
                .iter()
                .zip(&segments[..n])
                .take_while(|(a, b)| Arc::ptr_eq(a, b))
                .count();
            let keep_active = list.len().saturating_sub(1);
            list.drain(..same.min(keep_active)).collect()
        };
        for segment in &removed {
            outcome.segments_deleted += 1;
            outcome.bytes_deleted += segment.size();
            if let Err(e) = segment.delete_files() {
                warn!(base = segment.base_offset, error = %e, "could not delete segment files");
            }
        }
        self.dir_dirty.store(true, Ordering::Release);
        outcome.log_start_offset = self.log_start_offset();
        debug!(
            dir = %self.dir.display(),
            segments = outcome.segments_deleted,
            bytes = outcome.bytes_deleted,
            log_start = outcome.log_start_offset,
            "retention deleted segments"
        );
        Ok(outcome)
    }
}
