//! Retention (`cleanup.policy=delete`) by time and by size.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use kafka_protocol::records::Compression;
use strom_log::{Error, LogConfig, PartitionLog};

const DAY: i64 = 24 * 60 * 60 * 1000;

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..config()
    }
}

/// Appends `n` batches of 2 records timestamped `ts`; returns the next id.
fn fill(log: &PartitionLog, n: usize, ts: i64) -> u64 {
    let mut id = log.log_end_offset() as u64;
    for _ in 0..n {
        log.append(batch(id, 2, ts, Compression::None)).unwrap();
        id += 2;
    }
    id
}

#[test]
fn retention_by_time_deletes_old_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg()).unwrap();
    let now = now_ms();
    fill(&log, 60, now - 10 * DAY);
    let old_segments = log.segment_count() - 1; // the last holds the roll point
    fill(&log, 60, now - DAY);
    let before = log.segment_count();
    let end = log.log_end_offset();

    let out = log.enforce_retention(now).unwrap();
    assert!(out.segments_deleted >= old_segments - 1 && out.segments_deleted <= old_segments + 1);
    assert!(out.bytes_deleted > 0);
    assert_eq!(log.segment_count(), before - out.segments_deleted);
    let start = log.log_start_offset();
    assert_eq!(out.log_start_offset, start);
    assert!(start > 0);
    // Everything left is readable with its original offsets; below the start is not.
    let recs = read_all(&log);
    assert_eq!(recs.first().unwrap().offset, start);
    assert_eq!(recs.len() as i64, end - start);
    for r in &recs {
        assert_eq!(key_id(r) as i64, r.offset);
    }
    assert!(matches!(
        log.read(start - 1, 1024, true),
        Err(Error::OffsetOutOfRange { .. })
    ));
    // Nothing more to do; the log start survives a restart.
    assert_eq!(log.enforce_retention(now).unwrap().segments_deleted, 0);
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), cfg()).unwrap();
    assert_eq!(log.log_start_offset(), start);
    assert_eq!(read_all(&log).len() as i64, end - start);
}

#[test]
fn the_active_segment_is_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg()).unwrap();
    let now = now_ms();
    fill(&log, 50, now - 30 * DAY);
    let out = log.enforce_retention(now).unwrap();
    assert!(out.segments_deleted > 0);
    assert_eq!(log.segment_count(), 1);
    let (records, _) = read_everything(&log);
    assert!(
        !records.is_empty(),
        "the active segment keeps its (old) records"
    );
    assert_eq!(records.last().unwrap().offset, log.log_end_offset() - 1);
    // Appends go on.
    let info = log.append(batch(0, 1, now, Compression::None)).unwrap();
    assert_eq!(info.base_offset, log.log_end_offset() - 1);
    // retention.ms = -1: forever.
    let log2_dir = tempfile::tempdir().unwrap();
    let forever = LogConfig {
        retention_ms: -1,
        ..cfg()
    };
    let log2 = PartitionLog::open(log2_dir.path(), forever).unwrap();
    fill(&log2, 50, 1);
    assert_eq!(log2.enforce_retention(now).unwrap().segments_deleted, 0);
}

#[test]
fn retention_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 5000;
    let c = LogConfig {
        retention_bytes: limit,
        ..cfg()
    };
    let log = PartitionLog::open(dir.path(), c).unwrap();
    fill(&log, 200, now_ms());
    let sizes_before = log.size_bytes();
    assert!(sizes_before > 3 * limit as u64);
    let out = log.enforce_retention(now_ms()).unwrap();
    assert!(out.segments_deleted > 0);
    let size = log.size_bytes();
    assert_eq!(size, sizes_before - out.bytes_deleted);
    // At least retention.bytes stay, and less than one more segment.
    assert!(size >= limit as u64, "{size}");
    assert!(size < limit as u64 + 2048, "{size}");
    assert_eq!(
        read_all(&log).len() as i64,
        log.log_end_offset() - log.log_start_offset()
    );
}

#[test]
fn delete_policy_off_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let c = LogConfig {
        cleanup_delete: false,
        cleanup_compact: true,
        retention_bytes: 0,
        ..cfg()
    };
    let log = PartitionLog::open(dir.path(), c).unwrap();
    fill(&log, 50, 1);
    let n = log.segment_count();
    let out = log.enforce_retention(now_ms()).unwrap();
    assert_eq!(out.segments_deleted, 0);
    assert_eq!(log.segment_count(), n);
}

#[test]
fn readers_and_writers_run_during_retention() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(PartitionLog::open(dir.path(), cfg()).unwrap());
    let now = now_ms();
    fill(&log, 200, now - 10 * DAY);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Acquire) {
                let start = log.log_start_offset();
                match log.read(start, 4096, true) {
                    Ok(r) => {
                        for rec in decode(&r.records) {
                            assert_eq!(key_id(&rec) as i64, rec.offset);
                        }
                        reads += 1;
                    }
                    // The start moved between the two calls.
                    Err(Error::OffsetOutOfRange { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            reads
        })
    };
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || fill(&log, 200, now))
    };
    for _ in 0..20 {
        log.enforce_retention(now).unwrap();
    }
    writer.join().unwrap();
    log.enforce_retention(now).unwrap();
    stop.store(true, Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    let recs = read_all(&log);
    assert_eq!(
        recs.len() as i64,
        log.log_end_offset() - log.log_start_offset()
    );
}
