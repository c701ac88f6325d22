//! The Fetch response encoder that does not copy record data.
//!
//! The `kafka-protocol` crate encodes a whole response into one buffer, so the
//! records read from the log (most of a Fetch answer's bytes) would be copied
//! once more before they reach the socket. [`encode_fetch_response`] writes
//! the same bytes field by field for the versions the broker serves (4–18),
//! but leaves every partition's records in the `Bytes` the log returned: the
//! frame is a list of chunks (header parts and record buffers) that the
//! connection writes with vectored writes. The nested structs that carry no
//! records (aborted transactions, epochs, leader, snapshot id, node endpoints)
//! are still encoded by the crate. The tests compare the output with the
//! crate's encoder, byte for byte, over every served version.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseHeader};
use kafka_protocol::protocol::Encodable;

use strom_log::FileRegion;

use super::{Chunk, Frame};

/// Records left in segment files, by topic and partition, in the order of the
/// response's topics and partitions. A partition with a region is sent with
/// the region's bytes as its records (its `records` field is ignored).
pub type Regions = [Vec<Option<FileRegion>>];

/// Records shorter than this are copied into the header buffer rather than
/// sent as a chunk of their own (an iovec costs more than a short copy).
const MIN_CHUNK: usize = 512;

/// The oldest and newest Fetch versions this encoder writes.
const VERSIONS: std::ops::RangeInclusive<i16> = 4..=18;

/// Chunks of a frame under construction: header bytes accumulate in `head`
/// and are cut off whenever a record buffer is appended.
struct ChunkWriter {
    /// The first part of the frame (with the size prefix), kept mutable until
    /// the size is known.
    first: Option<BytesMut>,
    chunks: Vec<Chunk>,
    head: BytesMut,
}

impl ChunkWriter {
    fn new() -> Self {
        let mut head = BytesMut::with_capacity(512);
        head.put_i32(0); // size, filled in by `finish`
        ChunkWriter {
            first: None,
            chunks: Vec::new(),
            head,
        }
    }

    fn push_records(&mut self, records: &Bytes) {
        if records.len() < MIN_CHUNK {
            self.head.put_slice(records);
            return;
        }
        self.cut();
        self.chunks.push(Chunk::Mem(records.clone()));
    }

    fn push_region(&mut self, region: &FileRegion) {
        self.cut();
        self.chunks.push(Chunk::File(region.clone()));
    }

    /// Ends the current header part, before a records chunk.
    fn cut(&mut self) {
        let part = self.head.split();
        if self.first.is_none() {
            self.first = Some(part);
            self.chunks.push(Chunk::Mem(Bytes::new())); // replaced by `first` in `finish`
        } else {
            self.chunks.push(Chunk::Mem(part.freeze()));
        }
    }

    fn finish(mut self) -> anyhow::Result<Frame> {
        let Some(mut first) = self.first.take() else {
            let size = i32::try_from(self.head.len() - 4).context("response too large")?;
            self.head[..4].copy_from_slice(&size.to_be_bytes());
            return Ok(Frame::Buf(self.head));
        };
        if !self.head.is_empty() {
            self.chunks.push(Chunk::Mem(self.head.freeze()));
        }
        let total: usize = first.len() + self.chunks.iter().map(Chunk::len).sum::<usize>();
        let size = i32::try_from(total - 4).context("response too large")?;
        first[..4].copy_from_slice(&size.to_be_bytes());
        self.chunks[0] = Chunk::Mem(first.freeze());
        Ok(Frame::Chunks(self.chunks))
    }
}

fn put_uvarint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn len_u32(n: usize, what: &str) -> anyhow::Result<u32> {
    u32::try_from(n).with_context(|| format!("{what} too long to encode ({n})"))
}

/// An array length: compact (length + 1, unsigned varint) from v12, else int32.
fn put_array_len(buf: &mut BytesMut, flexible: bool, len: Option<usize>) -> anyhow::Result<()> {
    match (flexible, len) {
        (true, None) => put_uvarint(buf, 0),
        (true, Some(n)) => {
            let n = len_u32(n, "array")?;
            put_uvarint(buf, n.checked_add(1).context("array too long to encode")?)
        }
        (false, None) => buf.put_i32(-1),
        (false, Some(n)) => buf.put_i32(i32::try_from(n).context("array too long to encode")?),
    }
    Ok(())
}

/// A tagged field holding a struct: tag, size, the struct's own encoding.
fn put_tagged_struct<T: Encodable>(
    buf: &mut BytesMut,
    tag: u32,
    value: &T,
    version: i16,
) -> anyhow::Result<()> {
    put_uvarint(buf, tag);
    put_uvarint(buf, len_u32(value.compute_size(version)?, "tagged field")?);
    value.encode(buf, version)
}

/// Unknown tagged fields with tags in `from..`, as the crate writes them.
fn put_unknown_tagged(
    buf: &mut BytesMut,
    from: i32,
    fields: &BTreeMap<i32, Bytes>,
) -> anyhow::Result<()> {
    for (&tag, value) in fields.range(from..) {
        put_uvarint(buf, tag as u32);
        put_uvarint(buf, len_u32(value.len(), "tagged field")?);
        buf.put_slice(value);
    }
    Ok(())
}

/// Encode a Fetch response frame (size prefix, header, body) at `version`
/// without copying the partitions' records. Byte for byte what
/// [`super::encode_response`] produces.
pub fn encode_fetch_response(
    version: i16,
    correlation_id: i32,
    body: &FetchResponse,
) -> anyhow::Result<Frame> {
    encode_fetch_response_with_regions(version, correlation_id, body, &[])
}

/// [`encode_fetch_response`] with some partitions' records still in segment
/// files (`regions`), to be sent from there.
pub fn encode_fetch_response_with_regions(
    version: i16,
    correlation_id: i32,
    body: &FetchResponse,
    regions: &Regions,
) -> anyhow::Result<Frame> {
    if !VERSIONS.contains(&version) {
        bail!("Fetch v{version} is not served");
    }
    let flexible = version >= 12;
    let mut w = ChunkWriter::new();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut w.head, ApiKey::Fetch.response_header_version(version))?;
    w.head.put_i32(body.throttle_time_ms);
    if version >= 7 {
        w.head.put_i16(body.error_code);
        w.head.put_i32(body.session_id);
    } else if body.session_id != 0 {
        bail!("session_id is not available in Fetch v{version}");
    }
    put_array_len(&mut w.head, flexible, Some(body.responses.len()))?;
    for (t, topic) in body.responses.iter().enumerate() {
        if version <= 12 {
            let name = topic.topic.0.as_bytes();
            if flexible {
                put_uvarint(&mut w.head, len_u32(name.len(), "topic name")? + 1);
            } else {
                let len = i16::try_from(name.len()).context("topic name too long")?;
                w.head.put_i16(len);
            }
            w.head.put_slice(name);
        }
        if version >= 13 {
            w.head.put_slice(topic.topic_id.as_bytes());
        }
        put_array_len(&mut w.head, flexible, Some(topic.partitions.len()))?;
        for (i, p) in topic.partitions.iter().enumerate() {
            let region = regions
                .get(t)
                .and_then(|r| r.get(i))
                .and_then(Option::as_ref);
            put_partition(&mut w, p, region, version)?;
        }
        if flexible {
            put_uvarint(
                &mut w.head,
                len_u32(topic.unknown_tagged_fields.len(), "tagged fields")?,
            );
            put_unknown_tagged(&mut w.head, 0, &topic.unknown_tagged_fields)?;
        }
    }
    if flexible {
        let endpoints = version >= 16 && !body.node_endpoints.is_empty();
        let count = body.unknown_tagged_fields.len() + usize::from(endpoints);
        put_uvarint(&mut w.head, len_u32(count, "tagged fields")?);
        if endpoints {
            let mut size = 0usize;
            for e in &body.node_endpoints {
                size += e.compute_size(version)?;
            }
            let n = len_u32(body.node_endpoints.len(), "array")?;
            let mut len_prefix = BytesMut::new();
            put_uvarint(&mut len_prefix, n + 1);
            put_uvarint(&mut w.head, 0);
            put_uvarint(
                &mut w.head,
                len_u32(size + len_prefix.len(), "tagged field")?,
            );
            w.head.put_slice(&len_prefix);
            for e in &body.node_endpoints {
                e.encode(&mut w.head, version)?;
            }
        }
        put_unknown_tagged(&mut w.head, 1, &body.unknown_tagged_fields)?;
    }
    w.finish()
}

fn put_partition(
    w: &mut ChunkWriter,
    p: &PartitionData,
    region: Option<&FileRegion>,
    version: i16,
) -> anyhow::Result<()> {
    let flexible = version >= 12;
    let head = &mut w.head;
    head.put_i32(p.partition_index);
    head.put_i16(p.error_code);
    head.put_i64(p.high_watermark);
    head.put_i64(p.last_stable_offset);
    if version >= 5 {
        head.put_i64(p.log_start_offset);
    }
    put_array_len(
        head,
        flexible,
        p.aborted_transactions.as_ref().map(Vec::len),
    )?;
    for t in p.aborted_transactions.iter().flatten() {
        t.encode(head, version)?;
    }
    if version >= 11 {
        head.put_i32(p.preferred_read_replica.0);
    } else if p.preferred_read_replica != -1 {
        bail!("preferred_read_replica is not available in Fetch v{version}");
    }
    let records_len = match region {
        Some(r) => Some(r.len),
        None => p.records.as_ref().map(Bytes::len),
    };
    match (records_len, flexible) {
        (None, true) => put_uvarint(head, 0),
        (None, false) => head.put_i32(-1),
        (Some(n), true) => put_uvarint(
            head,
            len_u32(n, "records")?
                .checked_add(1)
                .context("records too long")?,
        ),
        (Some(n), false) => head.put_i32(i32::try_from(n).context("records too long")?),
    }
    match (region, &p.records) {
        (Some(r), _) if r.len > 0 => w.push_region(r),
        (None, Some(r)) if !r.is_empty() => w.push_records(r),
        _ => {}
    }
    if flexible {
        let head = &mut w.head;
        let diverging = p.diverging_epoch != Default::default();
        let leader = p.current_leader != Default::default();
        let snapshot = p.snapshot_id != Default::default();
        let count = p.unknown_tagged_fields.len()
            + usize::from(diverging)
            + usize::from(leader)
            + usize::from(snapshot);
        put_uvarint(head, len_u32(count, "tagged fields")?);
        if diverging {
            put_tagged_struct(head, 0, &p.diverging_epoch, version)?;
        }
        if leader {
            put_tagged_struct(head, 1, &p.current_leader, version)?;
        }
        if snapshot {
            put_tagged_struct(head, 2, &p.snapshot_id, version)?;
        }
        put_unknown_tagged(head, 3, &p.unknown_tagged_fields)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint,
        SnapshotId,
    };
    use kafka_protocol::messages::{BrokerId, ResponseKind, TopicName};
    use kafka_protocol::protocol::StrBytes;

    fn records(len: usize, seed: u8) -> Bytes {
        Bytes::from(
            (0..len)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect::<Vec<u8>>(),
        )
    }

    fn partition(index: i32, records: Option<Bytes>) -> PartitionData {
        PartitionData::default()
            .with_partition_index(index)
            .with_high_watermark(1000 + i64::from(index))
            .with_last_stable_offset(990 + i64::from(index))
            .with_log_start_offset(7)
            .with_records(records)
    }

    fn topic(name: &str, id: u128, partitions: Vec<PartitionData>) -> FetchableTopicResponse {
        FetchableTopicResponse::default()
            .with_topic(TopicName(StrBytes::from_string(name.to_string())))
            .with_topic_id(uuid::Uuid::from_u128(id))
            .with_partitions(partitions)
    }

    /// Responses the broker builds, and the fields it may build later.
    fn cases(version: i16) -> Vec<(&'static str, FetchResponse)> {
        let flexible = version >= 12;
        let mut cases = vec![
            ("empty", FetchResponse::default()),
            (
                "error",
                FetchResponse::default()
                    .with_error_code(71)
                    .with_throttle_time_ms(12),
            ),
            (
                "one partition without records",
                FetchResponse::default().with_responses(vec![topic(
                    "t",
                    1,
                    vec![partition(0, Some(Bytes::new()))],
                )]),
            ),
            (
                "null records and a partition error",
                FetchResponse::default().with_responses(vec![topic(
                    "t",
                    1,
                    vec![partition(3, None).with_error_code(3)],
                )]),
            ),
            (
                "short records (copied) and long records (chunks)",
                FetchResponse::default().with_responses(vec![topic(
                    "short-and-long",
                    2,
                    vec![
                        partition(0, Some(records(10, 1))),
                        partition(1, Some(records(MIN_CHUNK, 2))),
                        partition(2, Some(records(70_000, 3))),
                    ],
                )]),
            ),
            (
                "several topics and partitions",
                FetchResponse::default()
                    .with_throttle_time_ms(5)
                    .with_responses(vec![
                        topic(
                            "a",
                            10,
                            vec![
                                partition(0, Some(records(4096, 4))),
                                partition(1, Some(Bytes::new())),
                                partition(2, Some(records(100_000, 5))),
                            ],
                        ),
                        topic("b", 11, vec![]),
                        topic(
                            "a-topic-with-a-longer-name.and.dots_and_underscores",
                            12,
                            vec![
                                partition(5, Some(records(2000, 6))).with_error_code(1),
                                partition(6, Some(records(1, 7))),
                            ],
                        ),
                    ]),
            ),
            (
                "aborted transactions: empty, null, several",
                FetchResponse::default().with_responses(vec![topic(
                    "tx",
                    3,
                    vec![
                        partition(0, Some(records(1500, 8)))
                            .with_aborted_transactions(Some(vec![])),
                        partition(1, Some(records(1500, 9))).with_aborted_transactions(None),
                        partition(2, Some(records(1500, 10))).with_aborted_transactions(Some(
                            vec![
                                AbortedTransaction::default()
                                    .with_producer_id(42.into())
                                    .with_first_offset(100),
                                AbortedTransaction::default()
                                    .with_producer_id(43.into())
                                    .with_first_offset(-1),
                            ],
                        )),
                    ],
                )]),
            ),
        ];
        if version >= 7 {
            cases.push((
                "session id",
                FetchResponse::default()
                    .with_session_id(1234)
                    .with_responses(vec![topic(
                        "s",
                        4,
                        vec![partition(0, Some(records(600, 11)))],
                    )]),
            ));
        }
        if version >= 11 {
            cases.push((
                "preferred read replica",
                FetchResponse::default().with_responses(vec![topic(
                    "r",
                    5,
                    vec![partition(0, Some(records(800, 12)))
                        .with_preferred_read_replica(BrokerId(2))],
                )]),
            ));
        }
        if flexible {
            cases.push((
                "tagged fields of a partition",
                FetchResponse::default().with_responses(vec![topic(
                    "tagged",
                    6,
                    vec![
                        partition(0, Some(records(3000, 13))).with_diverging_epoch(
                            EpochEndOffset::default().with_epoch(3).with_end_offset(77),
                        ),
                        partition(1, Some(records(3000, 14))).with_current_leader(
                            LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(1))
                                .with_leader_epoch(9),
                        ),
                        partition(2, None).with_snapshot_id(
                            SnapshotId::default().with_end_offset(5).with_epoch(2),
                        ),
                        partition(3, Some(records(700, 15)))
                            .with_diverging_epoch(EpochEndOffset::default().with_epoch(1))
                            .with_current_leader(
                                LeaderIdAndEpoch::default().with_leader_id(BrokerId(4)),
                            )
                            .with_snapshot_id(SnapshotId::default().with_epoch(8))
                            .with_unknown_tagged_field(7, Bytes::from_static(b"seven")),
                    ],
                )]),
            ));
            cases.push((
                "unknown tagged fields of the response and a topic",
                FetchResponse::default()
                    .with_unknown_tagged_field(5, Bytes::from_static(b"top"))
                    .with_responses(vec![topic(
                        "u",
                        7,
                        vec![partition(0, Some(records(900, 16)))],
                    )
                    .with_unknown_tagged_field(0, Bytes::from_static(b"topic-zero"))
                    .with_unknown_tagged_field(300, records(200, 17))]),
            ));
        }
        if version >= 16 {
            cases.push((
                "node endpoints",
                FetchResponse::default()
                    .with_node_endpoints(vec![
                        NodeEndpoint::default()
                            .with_node_id(BrokerId(1))
                            .with_host(StrBytes::from_static_str("localhost"))
                            .with_port(9092),
                        NodeEndpoint::default()
                            .with_node_id(BrokerId(2))
                            .with_host(StrBytes::from_static_str("broker-2.example"))
                            .with_port(19092)
                            .with_rack(Some(StrBytes::from_static_str("rack-b"))),
                    ])
                    .with_responses(vec![topic(
                        "n",
                        8,
                        vec![partition(0, Some(records(1200, 18)))],
                    )]),
            ));
        }
        cases
    }

    fn flatten(frame: &Frame) -> Vec<u8> {
        match frame {
            Frame::Buf(b) => b.to_vec(),
            Frame::Chunks(c) => c
                .iter()
                .flat_map(|c| match c {
                    Chunk::Mem(b) => b.to_vec(),
                    Chunk::File(r) => r.read(strom_log::Wait::Yes).expect("read region").to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn same_bytes_as_the_crate_for_every_served_version() {
        let served =
            crate::handlers::api_versions::supported_range(ApiKey::Fetch).expect("Fetch is served");
        assert!(
            VERSIONS.contains(&served.min) && VERSIONS.contains(&served.max),
            "the encoder must cover every advertised Fetch version"
        );
        for version in served.min..=served.max {
            for (name, body) in cases(version) {
                let expected = encode_response(
                    ApiKey::Fetch,
                    version,
                    77,
                    &ResponseKind::Fetch(body.clone()),
                )
                .unwrap_or_else(|e| panic!("crate encoder, v{version} {name}: {e:#}"));
                let frame = encode_fetch_response(version, 77, &body)
                    .unwrap_or_else(|e| panic!("chunked encoder, v{version} {name}: {e:#}"));
                assert_eq!(
                    flatten(&frame),
                    expected.to_vec(),
                    "Fetch v{version}, case {name:?}"
                );
            }
        }
    }

    #[test]
    fn records_are_not_copied() {
        let long = records(64 * 1024, 1);
        let body = FetchResponse::default().with_responses(vec![topic(
            "t",
            1,
            vec![
                partition(0, Some(long.clone())),
                partition(1, Some(long.clone())),
            ],
        )]);
        for version in [4, 11, 12, 18] {
            let Frame::Chunks(chunks) = encode_fetch_response(version, 1, &body).expect("encode")
            else {
                panic!("v{version}: expected a chunked frame");
            };
            let shared = chunks
                .iter()
                .filter(|c| matches!(c, Chunk::Mem(b) if b.as_ptr() == long.as_ptr() && b.len() == long.len()))
                .count();
            assert_eq!(
                shared, 2,
                "v{version}: both record buffers are sent as they are"
            );
        }
    }

    /// Records given as file regions encode to the same bytes as the same
    /// records in memory, and are sent as file chunks.
    #[test]
    fn file_regions_encode_like_the_records_they_hold() {
        let short = records(100, 3);
        let long = records(70_000, 4);
        let mut file = tempfile::tempfile().expect("temp file");
        std::io::Write::write_all(&mut file, &[0u8; 10]).expect("write");
        std::io::Write::write_all(&mut file, &short).expect("write");
        std::io::Write::write_all(&mut file, &long).expect("write");
        let file = std::sync::Arc::new(file);
        let region = |pos: u64, len: usize| FileRegion {
            file: file.clone(),
            pos,
            len,
        };
        let in_memory = FetchResponse::default().with_responses(vec![
            topic(
                "a",
                1,
                vec![partition(0, Some(short.clone())), partition(1, None)],
            ),
            topic(
                "b",
                2,
                vec![
                    partition(0, Some(Bytes::new())),
                    partition(1, Some(long.clone())),
                ],
            ),
        ]);
        let placeholders = FetchResponse::default().with_responses(vec![
            topic(
                "a",
                1,
                vec![partition(0, Some(Bytes::new())), partition(1, None)],
            ),
            topic(
                "b",
                2,
                vec![
                    partition(0, Some(Bytes::new())),
                    partition(1, Some(Bytes::new())),
                ],
            ),
        ]);
        let regions = vec![
            vec![Some(region(10, short.len())), None],
            vec![None, Some(region(10 + short.len() as u64, long.len()))],
        ];
        for version in [4, 11, 12, 13, 18] {
            let expected = encode_fetch_response(version, 5, &in_memory).expect("encode");
            let frame = encode_fetch_response_with_regions(version, 5, &placeholders, &regions)
                .expect("encode with regions");
            assert_eq!(flatten(&frame), flatten(&expected), "v{version}");
            let Frame::Chunks(chunks) = frame else {
                panic!("v{version}: expected a chunked frame");
            };
            let files = chunks
                .iter()
                .filter(|c| matches!(c, Chunk::File(_)))
                .count();
            assert_eq!(files, 2, "v{version}: both regions are sent from the file");
        }
    }

    #[test]
    fn refuses_what_the_crate_refuses() {
        let body = FetchResponse::default().with_session_id(3);
        assert!(encode_fetch_response(6, 1, &body).is_err());
        let body = FetchResponse::default().with_responses(vec![topic(
            "t",
            1,
            vec![partition(0, None).with_preferred_read_replica(BrokerId(1))],
        )]);
        assert!(encode_fetch_response(10, 1, &body).is_err());
        assert!(encode_fetch_response(3, 1, &FetchResponse::default()).is_err());
        assert!(encode_fetch_response(19, 1, &FetchResponse::default()).is_err());
    }
}
