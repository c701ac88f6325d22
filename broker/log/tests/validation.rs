//! What an append accepts, rejects and rewrites.

mod common;

use bytes::Bytes;
use common::*;
use kafka_protocol::records::{Compression, Record};
use strom_log::batch::{compute_crc, crc_is_valid, BatchHeader};
use strom_log::{AppendOrigin, CompressionType, Error, LogConfig, PartitionLog, TimestampType};

fn tamper(b: &Bytes, fix_crc: bool, f: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut v = b.to_vec();
    f(&mut v);
    if fix_crc {
        let crc = compute_crc(&v);
        v[17..21].copy_from_slice(&crc.to_be_bytes());
    }
    Bytes::from(v)
}

fn open(cfg: LogConfig) -> (tempfile::TempDir, PartitionLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    (dir, log)
}

#[test]
fn rejects_bad_batches_atomically() {
    let (_dir, log) = open(config());
    log.append(batch(0, 2, 0, Compression::None)).unwrap();
    let good = batch(2, 3, 0, Compression::None);

    // CRC mismatch: a flipped value byte.
    let corrupt = tamper(&good, false, |v| {
        let n = v.len();
        v[n - 3] ^= 0xff;
    });
    let err = log
        .append(concat(&[good.clone(), corrupt.clone()]))
        .unwrap_err();
    assert!(matches!(err, Error::CorruptRecord(_)), "{err:?}");
    // Nothing of the append was written: the good first batch neither.
    assert_eq!(log.log_end_offset(), 2);

    // Magic 0/1.
    let v1 = tamper(&good, false, |v| v[16] = 1);
    assert!(matches!(log.append(v1), Err(Error::UnsupportedMagic(1))));
    let v0 = tamper(&good, false, |v| v[16] = 0);
    assert!(matches!(log.append(v0), Err(Error::UnsupportedMagic(0))));
    let v7 = tamper(&good, false, |v| v[16] = 7);
    assert!(matches!(log.append(v7), Err(Error::CorruptRecord(_))));

    // Truncated, trailing garbage, empty.
    let truncated = good.slice(..good.len() - 1);
    assert!(matches!(
        log.append(truncated),
        Err(Error::CorruptRecord(_))
    ));
    let trailing = concat(&[good.clone(), Bytes::from_static(&[0, 0, 0])]);
    assert!(matches!(log.append(trailing), Err(Error::CorruptRecord(_))));
    let bad_len = tamper(&good, false, |v| {
        v[8..12].copy_from_slice(&(-1i32).to_be_bytes())
    });
    assert!(matches!(log.append(bad_len), Err(Error::CorruptRecord(_))));
    assert!(matches!(
        log.append(Bytes::new()),
        Err(Error::InvalidRecord(_))
    ));

    // Codec 5..7 (with a valid CRC).
    let codec6 = tamper(&good, true, |v| v[22] = (v[22] & !7) | 6);
    assert!(matches!(
        log.append(codec6),
        Err(Error::UnsupportedCompression(6))
    ));

    // Record count 0 / inconsistent with lastOffsetDelta / records section.
    let zero = tamper(&good, true, |v| {
        v[57..61].copy_from_slice(&0i32.to_be_bytes())
    });
    assert!(matches!(log.append(zero), Err(Error::InvalidRecord(_))));
    let delta = tamper(&good, true, |v| {
        v[23..27].copy_from_slice(&5i32.to_be_bytes())
    });
    assert!(matches!(log.append(delta), Err(Error::InvalidRecord(_))));
    let count = tamper(&good, true, |v| {
        v[57..61].copy_from_slice(&4i32.to_be_bytes());
        v[23..27].copy_from_slice(&3i32.to_be_bytes());
    });
    assert!(matches!(log.append(count), Err(Error::InvalidRecord(_))));

    // Control batches only from coordinators.
    let control = tamper(&good, true, |v| v[22] |= 0x20);
    assert!(matches!(
        log.append(control.clone()),
        Err(Error::InvalidRecord(_))
    ));
    let info = log
        .append_with_origin(control, AppendOrigin::Coordinator)
        .unwrap();
    assert_eq!(info.base_offset, 2);

    // Idempotent producer with a negative sequence.
    let no_seq = tamper(&good, true, |v| {
        v[43..51].copy_from_slice(&7i64.to_be_bytes());
        v[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    });
    assert!(matches!(log.append(no_seq), Err(Error::InvalidRecord(_))));

    assert_eq!(log.log_end_offset(), 5);
    let info = log.append(good).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (5, 7));
}

#[test]
fn rejects_oversize_batches() {
    let (_dir, log) = open(LogConfig {
        max_message_bytes: 1000,
        ..config()
    });
    let small = batch(0, 1, 0, Compression::None);
    let big = encode_batch(&[record(1, 0, 2000)], Compression::None);
    let err = log
        .append(concat(&[small.clone(), big.clone()]))
        .unwrap_err();
    assert!(
        matches!(err, Error::MessageTooLarge { size, max: 1000 } if size == big.len()),
        "{err:?}"
    );
    assert_eq!(log.log_end_offset(), 0);
    // Compressed it fits.
    let compressed = encode_batch(&[record(1, 0, 2000)], Compression::Zstd);
    log.append(concat(&[small, compressed])).unwrap();
    assert_eq!(log.log_end_offset(), 2);
    // ... but not when the topic forces it uncompressed.
    log.update_config(LogConfig {
        max_message_bytes: 1000,
        compression_type: CompressionType::Uncompressed,
        ..config()
    });
    let compressed = encode_batch(&[record(1, 0, 2000)], Compression::Zstd);
    assert!(matches!(
        log.append(compressed),
        Err(Error::MessageTooLarge { .. })
    ));
}

#[test]
fn compression_bomb_is_an_error() {
    let (_dir, log) = open(config());
    let mut r = record(0, 0, 1);
    r.value = Some(Bytes::from(vec![0u8; 65 << 20]));
    let bomb = encode_batch(&[r], Compression::Zstd);
    assert!(bomb.len() < 1 << 20);
    assert!(matches!(
        log.append(bomb),
        Err(Error::MessageTooLarge { .. })
    ));
    assert_eq!(log.log_end_offset(), 0);
}

#[test]
fn stored_batches_get_offsets_and_leader_epoch() {
    let (_dir, log) = open(config());
    log.append(batch(0, 4, 10, Compression::None)).unwrap();
    log.set_leader_epoch(3);
    log.append(batch(4, 2, 10, Compression::Gzip)).unwrap();
    let r = log.read(0, 1 << 20, true).unwrap();
    let hs = headers(&r.records);
    assert_eq!(hs[0].base_offset, 0);
    assert_eq!(hs[0].partition_leader_epoch, 0);
    assert_eq!(hs[1].base_offset, 4);
    assert_eq!(hs[1].partition_leader_epoch, 3);
    for b in strom_log::batch::split_batches(&r.records).unwrap() {
        assert!(crc_is_valid(b));
    }
}

#[test]
fn log_append_time_rewrites_max_timestamp_and_crc() {
    let (_dir, log) = open(LogConfig {
        message_timestamp_type: TimestampType::LogAppendTime,
        ..config()
    });
    for (i, c) in COMPRESSIONS.iter().enumerate() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let info = log.append(batch(i as u64 * 3, 3, 5, *c)).unwrap();
        assert!(info.log_append_time >= before, "{info:?}");
        assert_eq!(info.max_timestamp, info.log_append_time);
        assert_eq!(info.offset_of_max_timestamp, info.base_offset);
        let r = log.read(info.base_offset, 1 << 20, true).unwrap();
        let stored = strom_log::batch::split_batches(&r.records).unwrap()[0];
        assert!(crc_is_valid(stored), "CRC re-verifies");
        let h = BatchHeader::parse(stored).unwrap();
        assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(h.max_timestamp, info.log_append_time);
        assert_eq!(h.base_timestamp, 5, "first timestamp unchanged");
        // The kafka-protocol decoder (which checks the CRC) reads it.
        assert_eq!(decode(&Bytes::copy_from_slice(stored)).len(), 3);
    }
    // offset_for_timestamp sees the append time for every record.
    let t = log.max_timestamp().unwrap();
    let r = log.offset_for_timestamp(t.timestamp).unwrap().unwrap();
    assert!(r.timestamp == t.timestamp && r.offset <= t.offset);
    let r = log.offset_for_timestamp(0).unwrap().unwrap();
    assert_eq!(r.offset, 0);
}

#[test]
fn create_time_topic_fixes_max_timestamp() {
    let (_dir, log) = open(config());
    // A producer that set a wrong maxTimestamp and the LogAppendTime bit.
    let b = tamper(&batch(0, 3, 100, Compression::None), true, |v| {
        v[35..43].copy_from_slice(&5i64.to_be_bytes());
        v[22] |= 0x08;
    });
    let info = log.append(b).unwrap();
    assert_eq!((info.max_timestamp, info.offset_of_max_timestamp), (102, 2));
    let r = log.read(0, 1 << 20, true).unwrap();
    let h = BatchHeader::parse(&r.records).unwrap();
    assert_eq!(h.max_timestamp, 102);
    assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    assert!(crc_is_valid(&r.records));
}

fn same_records(a: &[Record], b: &[Record]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.key, y.key);
        assert_eq!(x.value, y.value);
        assert_eq!(x.headers, y.headers);
        assert_eq!(x.timestamp, y.timestamp);
        assert_eq!(x.producer_id, y.producer_id);
        assert_eq!(x.producer_epoch, y.producer_epoch);
        assert_eq!(x.sequence, y.sequence);
        assert_eq!(x.transactional, y.transactional);
    }
}

#[test]
fn recompresses_to_the_topic_codec() {
    let topic_codecs = [
        (CompressionType::Uncompressed, 0u8),
        (CompressionType::Gzip, 1),
        (CompressionType::Snappy, 2),
        (CompressionType::Lz4, 3),
        (CompressionType::Zstd, 4),
    ];
    for (topic, id) in topic_codecs {
        let (_dir, log) = open(LogConfig {
            compression_type: topic,
            ..config()
        });
        for (i, producer) in COMPRESSIONS.iter().enumerate() {
            let recs: Vec<Record> = (0..20)
                .map(|j| {
                    let mut r = record((i * 20 + j) as u64, 1_000 + j as i64 * 7, 50 + j);
                    // A producer per batch: each batch starts at sequence 0.
                    r.producer_id = 42 + i as i64;
                    r.producer_epoch = 3;
                    r
                })
                .collect();
            let sent = encode_batch(&recs, *producer);
            let info = log.append(sent.clone()).unwrap();
            let r = log.read(info.base_offset, 1 << 20, true).unwrap();
            let h = BatchHeader::parse(&r.records).unwrap();
            assert_eq!(
                h.compression_id(),
                id,
                "topic {topic:?} producer {producer:?}"
            );
            assert_eq!(h.producer_id, 42 + i as i64);
            assert_eq!(h.producer_epoch, 3);
            assert_eq!(h.base_sequence, 0);
            assert!(crc_is_valid(&r.records));
            let got = decode(&r.records);
            let want = decode(&sent);
            same_records(&got, &want);
            for (k, g) in got.iter().enumerate() {
                assert_eq!(g.offset, info.base_offset + k as i64);
            }
        }
    }
}

#[test]
fn producer_compression_is_kept() {
    let (_dir, log) = open(config());
    for (i, c) in COMPRESSIONS.iter().enumerate() {
        let sent = batch(i as u64 * 4, 4, 0, *c);
        let info = log.append(sent.clone()).unwrap();
        let r = log.read(info.base_offset, 1 << 20, true).unwrap();
        // Only baseOffset and the leader epoch differ (both outside the CRC).
        assert_eq!(r.records.len(), sent.len());
        assert_eq!(&r.records[17..], &sent[17..], "codec {c:?}");
    }
}

#[test]
fn replication_keeps_offsets() {
    let (_dir, log) = open(config());
    let b = tamper(&batch(0, 3, 0, Compression::None), false, |v| {
        v[0..8].copy_from_slice(&10i64.to_be_bytes())
    });
    // Offsets above the log end are kept as sent (a gap, as after compaction).
    let info = log
        .append_with_origin(b.clone(), AppendOrigin::Replication)
        .unwrap();
    assert_eq!((info.base_offset, info.last_offset), (10, 12));
    assert_eq!(log.log_end_offset(), 13);
    assert!(matches!(
        log.append_with_origin(b, AppendOrigin::Replication),
        Err(Error::InvalidRecord(_))
    ));
    let r = log.read(0, 1 << 20, true).unwrap();
    assert_eq!(headers(&r.records)[0].base_offset, 10);
    let r = log.read(11, 1 << 20, true).unwrap();
    assert_eq!(headers(&r.records)[0].base_offset, 10);
}
