//! Log compaction (`cleanup.policy=compact`): latest value per key with original
//! offsets, tombstones and their delete horizon, compaction lags, compact+delete,
//! concurrent appends and reads, crash leftovers, idempotent producers' last batches.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use kafka_protocol::records::{Compression, Record};
use strom_log::batch::DELETE_HORIZON_FLAG;
use strom_log::{Error, LogConfig, PartitionLog};

const HOUR: i64 = 60 * 60 * 1000;

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        cleanup_compact: true,
        cleanup_delete: false,
        min_cleanable_dirty_ratio: 0.01,
        ..config()
    }
}

fn key_of(r: &Record) -> String {
    String::from_utf8(r.key.clone().expect("key").to_vec()).unwrap()
}

/// Appends one batch of `(key, live)` records (live: value `key@offset`, else a
/// tombstone) timestamped `ts`; returns its base offset.
fn put(log: &PartitionLog, pairs: &[(&str, bool)], ts: i64, compression: Compression) -> i64 {
    let base = log.log_end_offset();
    let recs: Vec<Record> = pairs
        .iter()
        .enumerate()
        .map(|(i, (k, live))| {
            let v = format!("{k}@{}", base + i as i64);
            kv(Some(k), live.then_some(v.as_str()), ts)
        })
        .collect();
    let info = log.append(encode_batch(&recs, compression)).unwrap();
    assert_eq!(info.base_offset, base);
    base
}

/// Offsets strictly increase and every value names its key and original offset.
fn check_values(records: &[Record]) {
    let mut prev = -1;
    for r in records {
        assert!(r.offset > prev, "offsets go up");
        prev = r.offset;
        if let Some(v) = &r.value {
            assert_eq!(
                std::str::from_utf8(v).unwrap(),
                format!("{}@{}", key_of(r), r.offset)
            );
        }
    }
}

/// The latest record offset per key (tombstones included).
fn latest(records: &[Record]) -> BTreeMap<String, i64> {
    records.iter().map(|r| (key_of(r), r.offset)).collect()
}

fn write_updates(log: &PartitionLog, n_batches: usize, keys: u64, ts: i64, rng: &mut Rng) {
    for b in 0..n_batches {
        let names: Vec<String> = (0..5).map(|_| format!("k{}", rng.below(keys))).collect();
        let pairs: Vec<(&str, bool)> = names.iter().map(|k| (k.as_str(), true)).collect();
        put(log, &pairs, ts, COMPRESSIONS[b % COMPRESSIONS.len()]);
    }
}

#[test]
fn many_updates_compact_to_the_latest_value_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg()).unwrap();
    let now = now_ms();
    let mut rng = Rng::new(7);
    write_updates(&log, 300, 10, now, &mut rng);
    let (before, _) = read_everything(&log);
    let want = latest(&before);
    let end = log.log_end_offset();
    let size = log.size_bytes();
    assert!(log.segment_count() > 5);

    let out = log.compact(now).unwrap();
    assert!(out.cleaned);
    assert!(out.records_removed > 1000, "{out:?}");
    assert!(out.segments_rewritten + out.segments_deleted > 0);
    assert!(
        log.size_bytes() < size / 3,
        "{} of {size}",
        log.size_bytes()
    );
    assert_eq!(log.log_end_offset(), end);
    let clean_end = out.first_dirty_offset;
    assert!(clean_end > 0);

    let (after, _) = read_everything(&log);
    check_values(&after);
    assert_eq!(
        latest(&after),
        want,
        "latest value of every key, original offsets"
    );
    let mut seen = HashMap::new();
    for r in after.iter().filter(|r| r.offset < clean_end) {
        assert!(
            seen.insert(key_of(r), r.offset).is_none(),
            "one record per key"
        );
    }
    assert!(seen.len() <= 10);
    // Records read from any offset: a read in a gap returns the next batch.
    let mid = log.read(clean_end / 2, 1 << 20, true).unwrap();
    assert!(!mid.records.is_empty());

    // A second pass right away has nothing to do.
    let again = log.compact(now).unwrap();
    assert!(!again.cleaned, "{again:?}");

    // Incremental: more updates, another pass, the checkpoint moves on.
    write_updates(&log, 100, 10, now, &mut rng);
    let want = latest(&read_everything(&log).0);
    let out2 = log.compact(now).unwrap();
    assert!(out2.cleaned && out2.first_dirty_offset > clean_end);
    log.close().unwrap();
    assert!(dir.path().join("cleaner-offset-checkpoint").exists());
    let log = PartitionLog::open(dir.path(), cfg()).unwrap();
    let (after, _) = read_everything(&log);
    check_values(&after);
    assert_eq!(latest(&after), want);
    assert!(!log.compact(now).unwrap().cleaned);
}

#[test]
fn tombstones_stay_until_the_delete_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let c = LogConfig {
        delete_retention_ms: 1000,
        ..cfg()
    };
    let log = PartitionLog::open(dir.path(), c).unwrap();
    let t0 = now_ms();
    put(
        &log,
        &[("a", true), ("b", true)],
        t0 - 10,
        Compression::None,
    );
    let tomb = put(&log, &[("a", false), ("c", true)], t0 - 5, Compression::Lz4);
    let mut i = 0;
    while log.segment_count() < 4 {
        let k = format!("f{i}");
        put(&log, &[(k.as_str(), true)], t0, Compression::None);
        i += 1;
    }

    let out = log.compact(t0).unwrap();
    assert!(out.cleaned);
    let (recs, batches) = read_everything(&log);
    check_values(&recs);
    let a: Vec<&Record> = recs.iter().filter(|r| key_of(r) == "a").collect();
    assert_eq!(a.len(), 1, "the old value of a is gone");
    assert_eq!((a[0].offset, a[0].value.is_none()), (tomb, true));
    assert_eq!(a[0].timestamp, t0 - 5, "record timestamps are kept");
    assert!(a[0].delete_horizon);
    let h = batches.iter().find(|h| h.base_offset == tomb).unwrap();
    assert!(h.attributes & DELETE_HORIZON_FLAG != 0);
    assert_eq!(h.delete_horizon(), Some(t0 + 1000));
    assert_eq!(h.compression_id(), 3, "codec kept");
    assert_eq!(h.last_offset_delta, 1);

    // Before the horizon: kept.
    log.compact(t0 + 500).unwrap();
    let (recs, _) = read_everything(&log);
    assert!(recs.iter().any(|r| key_of(r) == "a"));
    // After it: gone (a pass runs for it even though nothing is dirty).
    let out = log.compact(t0 + 1001).unwrap();
    assert!(out.cleaned);
    let (recs, _) = read_everything(&log);
    check_values(&recs);
    assert!(!recs.iter().any(|r| key_of(r) == "a"));
    assert!(recs.iter().any(|r| key_of(r) == "c"));
    assert_eq!(recs.iter().filter(|r| key_of(r) == "b").count(), 1);
    // The horizon is not re-checked without a reason.
    assert!(!log.compact(t0 + 2000).unwrap().cleaned);
}

#[test]
fn min_compaction_lag_protects_recent_records() {
    let dir = tempfile::tempdir().unwrap();
    let c = LogConfig {
        min_compaction_lag_ms: HOUR,
        ..cfg()
    };
    let log = PartitionLog::open(dir.path(), c).unwrap();
    let now = now_ms();
    let mut rng = Rng::new(3);
    write_updates(&log, 100, 5, now - 2 * HOUR, &mut rng);
    write_updates(&log, 100, 5, now, &mut rng);
    let (before, _) = read_everything(&log);
    let recent = before.iter().filter(|r| r.timestamp == now).count();

    let out = log.compact(now).unwrap();
    assert!(out.cleaned);
    let (after, _) = read_everything(&log);
    check_values(&after);
    assert_eq!(latest(&after), latest(&before));
    assert_eq!(
        after.iter().filter(|r| r.timestamp == now).count(),
        recent,
        "records newer than the lag are all kept"
    );
    // The cleaned part (segments wholly older than the lag) has one record per key;
    // the segment where recent records start is not cleaned.
    let cleaned: Vec<&Record> = after
        .iter()
        .filter(|r| r.offset < out.first_dirty_offset)
        .collect();
    assert!(
        !cleaned.is_empty() && cleaned.len() <= 5,
        "{}",
        cleaned.len()
    );
    assert!(cleaned.iter().all(|r| r.timestamp < now));
    let old = after.iter().filter(|r| r.timestamp < now).count();
    assert!(old < (before.len() - recent) / 2, "{old}");

    // Later, the rest becomes cleanable.
    let out = log.compact(now + 2 * HOUR).unwrap();
    assert!(out.cleaned);
    let (after, _) = read_everything(&log);
    check_values(&after);
    assert_eq!(latest(&after), latest(&before));
    assert!(after.len() < recent);
}

#[test]
fn max_compaction_lag_forces_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let c = LogConfig {
        min_cleanable_dirty_ratio: 0.99,
        max_compaction_lag_ms: HOUR,
        ..cfg()
    };
    let log = PartitionLog::open(dir.path(), c).unwrap();
    let now = now_ms();
    let mut rng = Rng::new(5);
    write_updates(&log, 100, 5, now - 2 * HOUR, &mut rng);
    write_updates(&log, 20, 5, now, &mut rng);
    let first = log.compact(now).unwrap();
    assert!(first.cleaned);
    // The dirty part is now young and small: the ratio alone does not trigger.
    write_updates(&log, 30, 5, now, &mut rng);
    let out = log.compact(now).unwrap();
    assert!(!out.cleaned, "{out:?}");
    assert!(out.dirty_ratio > 0.0 && out.dirty_ratio < 0.99);
}

#[test]
fn compact_and_delete_apply_both() {
    let dir = tempfile::tempdir().unwrap();
    let c = LogConfig {
        cleanup_delete: true,
        retention_ms: 7 * 24 * HOUR,
        ..cfg()
    };
    let log = PartitionLog::open(dir.path(), c).unwrap();
    let now = now_ms();
    let mut rng = Rng::new(11);
    write_updates(&log, 100, 8, now - 10 * 24 * HOUR, &mut rng);
    write_updates(&log, 200, 8, now, &mut rng);
    let ret = log.enforce_retention(now).unwrap();
    assert!(ret.segments_deleted > 0);
    let start = log.log_start_offset();
    assert!(start > 0);
    let (before, _) = read_everything(&log);
    assert!(before
        .iter()
        .all(|r| r.timestamp == now || r.offset >= start));
    let out = log.compact(now).unwrap();
    assert!(out.cleaned && out.records_removed > 0);
    let (after, _) = read_everything(&log);
    check_values(&after);
    assert_eq!(latest(&after), latest(&before));
    assert_eq!(log.log_start_offset(), start);
    assert!(matches!(
        log.read(start - 1, 100, true),
        Err(Error::OffsetOutOfRange { .. })
    ));
}

#[test]
fn compacted_topics_reject_records_without_a_key() {
    let keyless = encode_batch(
        &[kv(Some("k"), Some("v"), 1), kv(None, Some("v"), 1)],
        Compression::Gzip,
    );
    for (compact, delete, ok) in [
        (true, false, false),
        (true, true, false),
        (false, true, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let c = LogConfig {
            cleanup_compact: compact,
            cleanup_delete: delete,
            ..cfg()
        };
        let log = PartitionLog::open(dir.path(), c).unwrap();
        let r = log.append(keyless.clone());
        if ok {
            r.unwrap();
        } else {
            assert!(matches!(r, Err(Error::InvalidRecord(_))), "{r:?}");
            assert_eq!(log.log_end_offset(), 0);
        }
    }
}

#[test]
fn appends_and_reads_go_on_during_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(PartitionLog::open(dir.path(), cfg()).unwrap());
    let now = now_ms();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut rng = Rng::new(99);
            write_updates(&log, 600, 30, now, &mut rng);
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (log, done) = (log.clone(), done.clone());
            std::thread::spawn(move || {
                let mut passes = 0;
                while !done.load(Ordering::Acquire) {
                    let (recs, _) = read_everything(&log);
                    check_values(&recs);
                    passes += 1;
                }
                passes
            })
        })
        .collect();
    let mut passes = 0;
    while !writer.is_finished() {
        if log.compact(now).unwrap().cleaned {
            passes += 1;
        }
    }
    writer.join().unwrap();
    log.compact(now).unwrap();
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert!(passes > 0);
    let (recs, _) = read_everything(&log);
    check_values(&recs);
    // Replay the writer's sequence to know the latest offset per key.
    let mut rng = Rng::new(99);
    let mut want = BTreeMap::new();
    let mut offset = 0i64;
    for _ in 0..600 {
        for _ in 0..5 {
            want.insert(format!("k{}", rng.below(30)), offset);
            offset += 1;
        }
    }
    assert_eq!(latest(&recs), want);
    assert_eq!(log.log_end_offset(), 3000);
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn interrupted_cleaning_recovers() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let now = now_ms();
    {
        let log = PartitionLog::open(a.path(), cfg()).unwrap();
        write_updates(&log, 200, 6, now, &mut Rng::new(1));
        log.close().unwrap();
    }
    copy_dir(a.path(), b.path());
    let (original, _) = read_everything(&PartitionLog::open(b.path(), cfg()).unwrap());
    let first_log = files_with(a.path(), ".log").remove(0);
    let name = first_log.file_name().unwrap().to_str().unwrap().to_string();
    let stem = name.trim_end_matches(".log").to_string();

    // Crash while writing a cleaned segment: `.cleaned` leftovers, and index `.swap`
    // files of a swap that was never committed.
    for f in [
        format!("{stem}.log.cleaned"),
        format!("{stem}.index.cleaned"),
        format!("{stem}.timeindex.swap"),
        format!("{stem}.index.swap"),
    ] {
        std::fs::write(b.path().join(f), b"partial garbage").unwrap();
    }
    {
        let log = PartitionLog::open(b.path(), cfg()).unwrap();
        assert_eq!(read_everything(&log).0, original);
        assert!(files_with(b.path(), ".cleaned").is_empty());
        assert!(files_with(b.path(), ".swap").is_empty());
        drop(log);
    }

    // Compact A; then give B the cleaned first segment as a committed swap (crash
    // after the commit point, before the rename over the live files).
    let compacted = {
        let log = PartitionLog::open(a.path(), cfg()).unwrap();
        assert!(log.compact(now).unwrap().cleaned);
        let recs = read_everything(&log).0;
        log.close().unwrap();
        recs
    };
    assert!(compacted.len() < original.len());
    std::fs::copy(&first_log, b.path().join(format!("{name}.swap"))).unwrap();
    std::fs::copy(
        a.path().join(format!("{stem}.index")),
        b.path().join(format!("{stem}.index.swap")),
    )
    .unwrap();
    // (the time index was already renamed: the stale live one is rebuilt)
    let log = PartitionLog::open(b.path(), cfg()).unwrap();
    assert!(files_with(b.path(), ".swap").is_empty());
    assert_eq!(
        std::fs::read(b.path().join(&name)).unwrap(),
        std::fs::read(&first_log).unwrap()
    );
    let (recs, _) = read_everything(&log);
    check_values(&recs);
    assert_eq!(latest(&recs), latest(&original));
    assert!(recs.len() < original.len());
    let t = log.max_timestamp().unwrap();
    assert_eq!(t.timestamp, now);
}

#[test]
fn an_idempotent_producers_last_batch_is_kept_empty() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg()).unwrap();
    let now = now_ms();
    let p = producer_batch(
        11,
        0,
        0,
        &[
            kv(Some("x"), Some("x@0"), now),
            kv(Some("y"), Some("y@1"), now),
        ],
        Compression::Zstd,
    );
    assert_eq!(log.append(p.clone()).unwrap().base_offset, 0);
    write_updates(&log, 150, 3, now, &mut Rng::new(4));
    for k in ["x", "y"] {
        put(&log, &[(k, true)], now, Compression::None);
    }
    // Push the overwrites out of the active segment too.
    write_updates(&log, 50, 3, now, &mut Rng::new(5));
    let out = log.compact(now).unwrap();
    assert!(out.cleaned);
    let (recs, batches) = read_everything(&log);
    check_values(&recs);
    assert!(
        recs.iter().all(|r| r.offset > 1),
        "x@0 and y@1 are superseded"
    );
    let kept = batches.iter().find(|h| h.producer_id == 11).expect("kept");
    assert_eq!(
        (
            kept.base_offset,
            kept.record_count,
            kept.last_offset_delta,
            kept.base_sequence
        ),
        (0, 0, 1, 0)
    );
    assert_eq!(kept.compression_id(), 0);

    // Crash, and lose the snapshots: the state is rebuilt from the log, the retry
    // is still a duplicate.
    drop(log);
    for s in files_with(dir.path(), ".snapshot") {
        std::fs::remove_file(s).unwrap();
    }
    let log = PartitionLog::open(dir.path(), cfg()).unwrap();
    let s = log.producer_state(11).unwrap();
    assert_eq!((s.last_seq, s.last_offset), (1, 1));
    let dup = log.append(p).unwrap();
    assert!(dup.duplicate);
    assert_eq!((dup.base_offset, dup.last_offset), (0, 1));
}
