//! fsync policy: group-commit `sync_to`, `flush.messages`, `flush.ms`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use kafka_protocol::records::Compression;
use strom_log::{LogConfig, PartitionLog};

#[test]
fn group_commit_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(
        PartitionLog::open(
            dir.path(),
            LogConfig {
                segment_bytes: 64 * 1024,
                ..config()
            },
        )
        .unwrap(),
    );
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 40;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let info = log
                        .append(batch(t * 1000 + i, 2, 0, Compression::None))
                        .unwrap();
                    log.sync_to(info.last_offset).unwrap();
                    assert!(log.durable_offset() > info.last_offset);
                }
            })
        })
        .collect();
    // Readers run alongside and always see whole batches below the high watermark.
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut reads = 0;
            while log.log_end_offset() < (THREADS * PER_THREAD * 2) as i64 {
                let hw = log.high_watermark();
                if hw > 0 {
                    let r = log.read(hw / 2, 4096, true).unwrap();
                    for h in headers(&r.records) {
                        assert!(h.last_offset() < r.high_watermark);
                    }
                    reads += 1;
                }
                std::thread::yield_now();
            }
            reads
        })
    };
    for h in handles {
        h.join().unwrap();
    }
    reader.join().unwrap();
    let total = THREADS * PER_THREAD;
    assert_eq!(log.log_end_offset() as u64, total * 2);
    assert_eq!(log.durable_offset() as u64, total * 2);
    assert!(log.sync_count() <= total + log.segment_count() as u64);
    // Already durable: no new fsync round.
    let before = log.sync_count();
    log.sync_to(0).unwrap();
    log.sync_to(log.log_end_offset() - 1).unwrap();
    assert_eq!(log.sync_count(), before);
    // Every record is there exactly once.
    let mut ids: Vec<u64> = read_all(&log).iter().map(key_id).collect();
    ids.sort_unstable();
    let mut want: Vec<u64> = (0..THREADS)
        .flat_map(|t| (0..PER_THREAD).flat_map(move |i| [t * 1000 + i, t * 1000 + i + 1]))
        .collect();
    want.sort_unstable();
    assert_eq!(ids, want);
}

#[test]
fn flush_messages_fsyncs_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(
        dir.path(),
        LogConfig {
            flush_interval_messages: Some(5),
            ..config()
        },
    )
    .unwrap();
    log.append(batch(0, 3, 0, Compression::None)).unwrap();
    assert_eq!(log.durable_offset(), 0);
    log.append(batch(3, 3, 0, Compression::None)).unwrap();
    assert_eq!(log.durable_offset(), 6);
    log.append(batch(6, 1, 0, Compression::None)).unwrap();
    assert_eq!(log.durable_offset(), 6);
}

#[test]
fn flush_ms_fsyncs_from_maybe_roll() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(
        dir.path(),
        LogConfig {
            flush_interval_ms: Some(Duration::ZERO),
            ..config()
        },
    )
    .unwrap();
    log.append(batch(0, 3, 0, Compression::None)).unwrap();
    assert_eq!(log.durable_offset(), 0);
    log.maybe_roll().unwrap();
    assert_eq!(log.durable_offset(), 3);
    // Without flush.ms nothing is flushed by maybe_roll.
    log.update_config(config());
    log.append(batch(3, 1, 0, Compression::None)).unwrap();
    log.maybe_roll().unwrap();
    assert_eq!(log.durable_offset(), 3);
    log.flush().unwrap();
    assert_eq!(log.durable_offset(), 4);
}
