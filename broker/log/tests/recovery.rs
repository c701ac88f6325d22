//! Opening a log after clean and unclean shutdowns, torn writes, lost indexes.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use common::*;
use kafka_protocol::records::Compression;
use strom_log::{LogConfig, PartitionLog};

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 200,
        ..config()
    }
}

fn fill(log: &PartitionLog, batches: u64) -> u64 {
    let mut id = log.log_end_offset() as u64;
    for i in 0..batches {
        let n = 1 + (i % 4) as usize;
        log.append(batch(
            id,
            n,
            1000 + id as i64,
            COMPRESSIONS[(i % 5) as usize],
        ))
        .unwrap();
        id += n as u64;
    }
    id
}

fn files_with(dir: &Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn last_log(dir: &Path) -> std::path::PathBuf {
    files_with(dir, ".log").pop().unwrap()
}

fn check_contents(log: &PartitionLog, n: u64) {
    let recs = read_all(log);
    assert_eq!(recs.len() as u64, n);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!(key_id(r), i as u64);
    }
}

#[test]
fn garbage_after_clean_close_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    let n = fill(&log, 40);
    log.close().unwrap();
    let active = last_log(dir.path());
    let len = std::fs::metadata(&active).unwrap().len();
    OpenOptions::new()
        .append(true)
        .open(&active)
        .unwrap()
        .write_all(&[0xab; 100])
        .unwrap();

    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.log_end_offset() as u64, n);
    assert_eq!(std::fs::metadata(&active).unwrap().len(), len);
    check_contents(&log, n);
    let info = log.append(batch(n, 2, 0, Compression::None)).unwrap();
    assert_eq!(info.base_offset as u64, n);
    check_contents(&log, n + 2);
}

#[test]
fn torn_batch_is_truncated_clean_and_unclean() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
        let n = fill(&log, 30);
        let last = batch(n, 5, 0, Compression::None);
        log.append(last.clone()).unwrap();
        if clean {
            log.close().unwrap();
        } else {
            log.sync_to(log.log_end_offset() - 1).unwrap();
            drop(log);
        }
        // Cut the last batch in the middle.
        let active = last_log(dir.path());
        let len = std::fs::metadata(&active).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&active)
            .unwrap()
            .set_len(len - last.len() as u64 / 2)
            .unwrap();

        let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
        assert_eq!(log.log_end_offset() as u64, n, "clean={clean}");
        assert_eq!(
            std::fs::metadata(&active).unwrap().len(),
            len - last.len() as u64
        );
        check_contents(&log, n);
        let info = log.append(batch(n, 3, 0, Compression::Lz4)).unwrap();
        assert_eq!(info.base_offset as u64, n);
        log.close().unwrap();
        let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
        check_contents(&log, n + 3);
    }
}

#[test]
fn truncation_below_the_last_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 1 << 20,
        index_interval_bytes: 100,
        ..config()
    };
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    let mut sizes = Vec::new();
    for i in 0..20u64 {
        sizes.push(
            log.append(batch(i, 1, i as i64, Compression::None))
                .unwrap()
                .size_bytes,
        );
    }
    log.close().unwrap();
    let active = last_log(dir.path());
    // Keep 5 batches and half of the sixth: far below the last index entry.
    let keep: usize = sizes[..5].iter().sum::<usize>() + sizes[5] / 2;
    OpenOptions::new()
        .write(true)
        .open(&active)
        .unwrap()
        .set_len(keep as u64)
        .unwrap();
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.log_end_offset(), 5);
    check_contents(&log, 5);
    // Timestamps of the truncated data are gone too.
    assert_eq!(log.max_timestamp().unwrap().offset, 4);
    assert_eq!(log.offset_for_timestamp(5).unwrap(), None);
    let info = log.append(batch(5, 1, 5, Compression::None)).unwrap();
    assert_eq!(info.base_offset, 5);
    assert_eq!(log.offset_for_timestamp(5).unwrap().unwrap().offset, 5);
}

#[test]
fn missing_or_corrupt_indexes_are_rebuilt() {
    for corrupt in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
        let n = fill(&log, 60);
        let max = log.max_timestamp().unwrap();
        let by_ts = log.offset_for_timestamp(1100).unwrap().unwrap();
        let segments = log.segment_count();
        assert!(segments > 3);
        log.close().unwrap();
        for path in files_with(dir.path(), "index") {
            if corrupt {
                // Kafka-style preallocated zeros: insane entries.
                std::fs::write(&path, vec![0u8; 240]).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
        let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
        assert_eq!(log.segment_count(), segments);
        assert_eq!(log.log_end_offset() as u64, n);
        check_contents(&log, n);
        assert_eq!(log.max_timestamp(), Some(max));
        assert_eq!(log.offset_for_timestamp(1100).unwrap(), Some(by_ts));
        // Rebuilt index files are there and non-trivial.
        let idx = files_with(dir.path(), ".index");
        assert_eq!(idx.len(), segments);
        assert!(std::fs::metadata(&idx[0]).unwrap().len() > 0);
        assert_eq!(std::fs::metadata(&idx[0]).unwrap().len() % 8, 0);
        // Reads from every offset find their batch.
        for o in 0..n as i64 {
            let r = log.read(o, 100, true).unwrap();
            let h = headers(&r.records);
            assert!(h[0].base_offset <= o && o <= h[0].last_offset());
        }
    }
}

#[test]
fn unclean_shutdown_recovers_from_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    let n = fill(&log, 60);
    log.flush().unwrap();
    let segments = log.segment_count();
    drop(log); // no close: no clean-shutdown marker
    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.segment_count(), segments);
    check_contents(&log, n);
}

#[test]
fn corruption_in_an_unflushed_segment_drops_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    fill(&log, 60);
    let segments = log.segment_count();
    assert!(segments > 4);
    drop(log);
    // Pretend nothing was known durable and damage the second segment.
    std::fs::remove_file(dir.path().join("recovery-point-offset")).unwrap();
    let logs = files_with(dir.path(), ".log");
    let second = &logs[1];
    let base: i64 = second
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut bytes = std::fs::read(second).unwrap();
    let first_batch = headers(&bytes[..])[0];
    let at = first_batch.size() + 70; // inside the second batch
    bytes[at] ^= 0xff;
    std::fs::write(second, &bytes).unwrap();

    let log = PartitionLog::open(dir.path(), small_segments()).unwrap();
    assert_eq!(log.segment_count(), 2);
    assert_eq!(log.log_end_offset(), first_batch.last_offset() + 1);
    assert_eq!(first_batch.base_offset, base);
    check_contents(&log, log.log_end_offset() as u64);
    assert_eq!(files_with(dir.path(), ".log").len(), 2);
    let info = log.append(batch(0, 1, 0, Compression::None)).unwrap();
    assert_eq!(info.base_offset, first_batch.last_offset() + 1);
}

#[test]
fn stray_files_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("00000000000000000099.index"), [0u8; 8]).unwrap();
    std::fs::write(dir.path().join("log-start-offset.tmp"), b"5").unwrap();
    std::fs::write(dir.path().join("leader-epoch-checkpoint"), b"0\n0\n").unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    assert!(!dir.path().join("00000000000000000099.index").exists());
    assert!(!dir.path().join("log-start-offset.tmp").exists());
    assert!(dir.path().join("leader-epoch-checkpoint").exists());
}
