//! Appends, reads, rolls, timestamps and DeleteRecords through the public API.

mod common;

use std::time::{Duration, Instant};

use common::*;
use kafka_protocol::records::Compression;
use strom_log::{Error, LogConfig, PartitionLog, Wait};

#[test]
fn append_read_roundtrip_across_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders-0");
    let cfg = LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        ..config()
    };
    let log = PartitionLog::open(&path, cfg).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.dir(), path);
    let mut id = 0u64;
    let mut expected_next = 0i64;
    for i in 0..150 {
        let n = 1 + i % 5;
        let info = log
            .append(batch(id, n, 1_000 + id as i64, COMPRESSIONS[i % 5]))
            .unwrap();
        assert_eq!(info.base_offset, expected_next, "dense offsets");
        assert_eq!(info.last_offset, expected_next + n as i64 - 1);
        assert_eq!(info.record_count, n as u32);
        assert_eq!(info.log_append_time, -1);
        assert_eq!(info.log_start_offset, 0);
        expected_next = info.last_offset + 1;
        id += n as u64;
    }
    assert_eq!(log.log_end_offset(), expected_next);
    assert_eq!(log.high_watermark(), expected_next);
    assert!(log.segment_count() > 3, "rolled: {}", log.segment_count());

    let records = read_all(&log);
    assert_eq!(records.len(), id as usize);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!(key_id(r), i as u64);
        assert_eq!(r.timestamp, 1_000 + i as i64);
        assert_eq!(r.value, record(i as u64, 0, 20).value);
        assert_eq!(r.headers, record(i as u64, 0, 20).headers);
    }

    // Kafka file layout: 20-digit base offsets, .log/.index/.timeindex.
    let mut logs: Vec<String> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    logs.sort();
    assert_eq!(logs[0], "00000000000000000000.log");
    assert_eq!(logs.len(), log.segment_count());
    for name in &logs {
        let stem = name.trim_end_matches(".log");
        assert!(path.join(format!("{stem}.index")).exists());
        assert!(path.join(format!("{stem}.timeindex")).exists());
    }
    let on_disk: u64 = logs
        .iter()
        .map(|n| std::fs::metadata(path.join(n)).unwrap().len())
        .sum();
    assert_eq!(log.size_bytes(), on_disk);
    log.close().unwrap();
}

#[test]
fn read_returns_containing_batch_and_respects_limits() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let b0 = batch(0, 10, 100, Compression::None);
    let b1 = batch(10, 10, 200, Compression::Lz4);
    let b2 = batch(20, 10, 300, Compression::None);
    log.append(b0.clone()).unwrap();
    log.append(b1.clone()).unwrap();
    log.append(b2.clone()).unwrap();

    // Offset 15 lives in the second batch: the whole batch comes back.
    let r = log.read(15, 1 << 20, false).unwrap();
    let hs = headers(&r.records);
    assert_eq!(hs.len(), 2);
    assert_eq!(hs[0].base_offset, 10);
    assert_eq!(hs[1].base_offset, 20);
    assert_eq!(r.high_watermark, 30);
    assert_eq!(r.last_stable_offset, 30);
    assert_eq!(r.log_start_offset, 0);

    // max_bytes cuts at whole batches.
    let r = log.read(0, b0.len() + b1.len() + 5, false).unwrap();
    assert_eq!(r.records.len(), b0.len() + b1.len());
    let r = log.read(0, b0.len(), false).unwrap();
    assert_eq!(r.records.len(), b0.len());
    // A first batch larger than max_bytes: empty unless min_one_batch (KIP-74).
    let r = log.read(0, 10, false).unwrap();
    assert!(r.records.is_empty());
    let r = log.read(0, 10, true).unwrap();
    assert_eq!(r.records.len(), b0.len());
    let r = log.read(0, 0, true).unwrap();
    assert_eq!(headers(&r.records).len(), 1);

    // At the log end: empty. Beyond, or below the start: out of range.
    assert!(log.read(30, 1000, true).unwrap().records.is_empty());
    assert!(matches!(
        log.read(31, 1000, true),
        Err(Error::OffsetOutOfRange {
            offset: 31,
            log_start: 0,
            log_end: 30
        })
    ));
    assert!(matches!(
        log.read(-1, 1000, true),
        Err(Error::OffsetOutOfRange { .. })
    ));
}

#[test]
fn empty_log_reads_and_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(&dir.path().join("new/t-3"), config()).unwrap();
    assert!(log.read(0, 100, true).unwrap().records.is_empty());
    assert_eq!(log.max_timestamp(), None);
    assert_eq!(log.offset_for_timestamp(0).unwrap(), None);
    assert_eq!(log.size_bytes(), 0);
}

#[test]
fn timestamps_lookup_including_compressed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 128,
        ..config()
    };
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    // Batch i holds 5 records with timestamps 1000*i + 0, 10, 20, 30, 40
    // except records are written out of order inside each batch.
    for i in 0..30i64 {
        let recs: Vec<_> = [30, 0, 40, 10, 20]
            .iter()
            .enumerate()
            .map(|(j, d)| record((i * 5) as u64 + j as u64, 1000 * i + d, 10))
            .collect();
        log.append(encode_batch(&recs, COMPRESSIONS[i as usize % 5]))
            .unwrap();
    }
    assert!(log.segment_count() > 2);
    // Exact hit on a record inside a (maybe compressed) batch: earliest offset with ts >= target.
    let r = log.offset_for_timestamp(7010).unwrap().unwrap();
    // Batch 7 = offsets 35..40 with ts [7030, 7000, 7040, 7010, 7020]; first >= 7010 is offset 35 (7030).
    assert_eq!(r.offset, 35);
    assert_eq!(r.timestamp, 7030);
    let r = log.offset_for_timestamp(7035).unwrap().unwrap();
    assert_eq!((r.offset, r.timestamp), (37, 7040));
    let r = log.offset_for_timestamp(7041).unwrap().unwrap();
    assert_eq!((r.offset, r.timestamp), (40, 8030));
    let r = log.offset_for_timestamp(i64::MIN).unwrap().unwrap();
    assert_eq!((r.offset, r.timestamp), (0, 30));
    assert_eq!(log.offset_for_timestamp(29_041).unwrap(), None);
    let r = log.offset_for_timestamp(29_040).unwrap().unwrap();
    assert_eq!((r.offset, r.timestamp), (147, 29_040));

    // KIP-734: max timestamp and the offset of the record carrying it.
    let m = log.max_timestamp().unwrap();
    assert_eq!((m.timestamp, m.offset), (29_040, 147));

    // Same answers after a restart (indexes reloaded).
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let m = log.max_timestamp().unwrap();
    assert_eq!((m.timestamp, m.offset), (29_040, 147));
    let r = log.offset_for_timestamp(7010).unwrap().unwrap();
    assert_eq!((r.offset, r.timestamp), (35, 7030));
}

#[test]
fn delete_records_moves_log_start_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_bytes: 1024,
        ..config()
    };
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    for i in 0..40u64 {
        log.append(batch(i * 2, 2, i as i64, Compression::None))
            .unwrap();
    }
    let segments = log.segment_count();
    assert!(segments > 4);
    assert!(matches!(
        log.delete_records_before(81),
        Err(Error::OffsetOutOfRange { .. })
    ));
    assert_eq!(log.delete_records_before(41).unwrap(), 41);
    assert_eq!(log.log_start_offset(), 41);
    assert!(log.segment_count() < segments);
    // Below the new start: out of range; at it: the batch containing 41 (40..41).
    assert!(matches!(
        log.read(40, 1000, true),
        Err(Error::OffsetOutOfRange { log_start: 41, .. })
    ));
    let r = log.read(41, 1000, true).unwrap();
    assert_eq!(headers(&r.records)[0].base_offset, 40);
    assert_eq!(r.log_start_offset, 41);
    // Moving backwards is a no-op.
    assert_eq!(log.delete_records_before(10).unwrap(), 41);
    // Timestamps below the start are not returned.
    let r = log.offset_for_timestamp(0).unwrap().unwrap();
    assert_eq!(r.offset, 41);
    let info = log.append(batch(80, 1, 100, Compression::None)).unwrap();
    assert_eq!(info.log_start_offset, 41);
    drop(log); // unclean: the checkpoint must already be on disk

    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    assert_eq!(log.log_start_offset(), 41);
    assert_eq!(log.log_end_offset(), 81);
    let recs = read_all(&log);
    assert_eq!(recs.first().map(|r| r.offset), Some(41));
    assert_eq!(recs.len(), 40);
    // -1: up to the high watermark; the active segment stays.
    assert_eq!(log.delete_records_before(-1).unwrap(), 81);
    assert!(log.read(81, 100, true).unwrap().records.is_empty());
    assert!(log.segment_count() >= 1);
    let info = log.append(batch(81, 1, 100, Compression::None)).unwrap();
    assert_eq!(info.base_offset, 81);
}

#[test]
fn segment_ms_rolls_on_maybe_roll() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        segment_ms: Some(Duration::from_millis(20)),
        ..config()
    };
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    // An empty active segment never rolls.
    log.maybe_roll().unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(batch(0, 1, 0, Compression::None)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.segment_count() == 1 {
        assert!(Instant::now() < deadline, "segment never rolled");
        log.maybe_roll().unwrap();
        std::thread::yield_now();
    }
    assert_eq!(log.segment_count(), 2);
    // The new segment starts at the log end and the rolled one is on disk.
    assert!(dir.path().join("00000000000000000001.log").exists());
    assert_eq!(log.durable_offset(), 1);
    let info = log.append(batch(1, 1, 0, Compression::None)).unwrap();
    assert_eq!(info.base_offset, 1);
    assert_eq!(read_all(&log).len(), 2);
}

#[test]
fn update_config_applies_to_future_appends() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    log.append(batch(0, 10, 0, Compression::None)).unwrap();
    log.update_config(LogConfig {
        max_message_bytes: 100,
        ..config()
    });
    assert!(matches!(
        log.append(batch(10, 10, 0, Compression::None)),
        Err(Error::MessageTooLarge { max: 100, .. })
    ));
    log.update_config(LogConfig {
        segment_bytes: 1,
        ..config()
    });
    // A batch bigger than a segment is rejected (Kafka's RecordBatchTooLarge).
    assert!(matches!(
        log.append(batch(10, 1, 0, Compression::None)),
        Err(Error::MessageTooLarge { .. })
    ));
}

#[test]
fn close_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t-0");
    let log = PartitionLog::open(&path, config()).unwrap();
    log.append(batch(0, 3, 0, Compression::None)).unwrap();
    log.close().unwrap();
    assert!(matches!(log.close(), Err(Error::Closed)));
    assert!(matches!(
        log.append(batch(0, 1, 0, Compression::None)),
        Err(Error::Closed)
    ));
    assert!(matches!(log.read(0, 100, true), Err(Error::Closed)));
    assert!(matches!(log.sync_to(0), Err(Error::Closed)));
    assert!(matches!(log.flush(), Err(Error::Closed)));
    assert!(matches!(log.maybe_roll(), Err(Error::Closed)));
    assert_eq!(log.log_end_offset(), 3);

    let log = PartitionLog::open(&path, config()).unwrap();
    assert_eq!(log.log_end_offset(), 3);
    log.delete().unwrap();
    assert!(!path.exists());
    assert!(matches!(log.read(0, 100, true), Err(Error::Closed)));
}

#[test]
fn a_read_that_must_not_wait_says_so_when_the_page_cache_lacks_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders-0");
    let log = PartitionLog::open(&path, config()).unwrap();
    for i in 0..20u64 {
        log.append(batch(i * 10, 10, 1_000, Compression::None))
            .unwrap();
    }
    let region = |wait| {
        log.read_region(0, 1 << 20, true, wait)
            .map(|r| r.records.map(|g| (g.pos, g.len)))
    };
    let expected = region(Wait::Yes).unwrap();
    assert!(expected.is_some());
    assert_eq!(region(Wait::No).unwrap(), expected, "just written: cached");

    // Write the data back and drop it from the page cache.
    log.flush().unwrap();
    for file in files_with(&path, "log") {
        let f = std::fs::File::open(file).unwrap();
        rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    }
    match region(Wait::No) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
        other => panic!("expected WouldBlock, got {other:?}"),
    }
    // A read that may wait finds the same, and caches what it read.
    assert_eq!(region(Wait::Yes).unwrap(), expected);
    assert_eq!(region(Wait::No).unwrap(), expected);
}
