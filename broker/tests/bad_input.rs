//! Hostile and malformed input over raw TCP (frames built with `kafka-protocol`):
//! the offending connection is answered or closed as Kafka does, other
//! connections keep working, and the broker keeps serving real clients. Also
//! the order of answers to requests pipelined on one connection.

mod common;

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use common::*;
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::api_versions_response::ApiVersionsResponse;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The APIs this broker must advertise and serve.
const SERVED: [ApiKey; 27] = [
    ApiKey::ApiVersions,
    ApiKey::Metadata,
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DeleteRecords,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
    ApiKey::DescribeTopicPartitions,
    ApiKey::DescribeLogDirs,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::DeleteGroups,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::OffsetDelete,
    ApiKey::InitProducerId,
];

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// A size-prefixed request frame: header (at the header version for `version`) and body.
fn frame<R: Request>(version: i16, correlation_id: i32, body: &R) -> BytesMut {
    frame_with_body_version(version, version, correlation_id, body)
}

/// Like [`frame`], but the header claims `header_api_version` while the body is
/// encoded at `body_version` (for requests at versions the crate cannot encode).
fn frame_with_body_version<R: Request>(
    header_api_version: i16,
    body_version: i16,
    correlation_id: i32,
    body: &R,
) -> BytesMut {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(header_api_version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("strom-bad-input-test")));
    let mut payload = BytesMut::new();
    header
        .encode(&mut payload, R::header_version(header_api_version))
        .expect("encode request header");
    body.encode(&mut payload, body_version)
        .expect("encode request body");
    with_size_prefix(&payload)
}

fn with_size_prefix(payload: &[u8]) -> BytesMut {
    let mut out = BytesMut::with_capacity(payload.len() + 4);
    out.put_i32(payload.len() as i32);
    out.put_slice(payload);
    out
}

async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
        .await
        .expect("connect within timeout")
        .expect("connect to broker")
}

async fn write_all(stream: &mut TcpStream, bytes: &[u8]) {
    tokio::time::timeout(IO_TIMEOUT, stream.write_all(bytes))
        .await
        .expect("write within timeout")
        .expect("write to broker");
}

/// Read one size-prefixed response frame.
async fn read_frame(stream: &mut TcpStream) -> Bytes {
    let size = tokio::time::timeout(IO_TIMEOUT, stream.read_i32())
        .await
        .expect("response within timeout")
        .expect("read response size");
    assert!((0..64 << 20).contains(&size), "response size {size}");
    let mut body = vec![0u8; size as usize];
    tokio::time::timeout(IO_TIMEOUT, stream.read_exact(&mut body))
        .await
        .expect("response body within timeout")
        .expect("read response body");
    Bytes::from(body)
}

/// Send `body` at `version` and decode the response, checking the correlation id.
async fn call<R: Request>(
    stream: &mut TcpStream,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> R::Response {
    write_all(stream, &frame(version, correlation_id, body)).await;
    let mut buf = read_frame(stream).await;
    let header = ResponseHeader::decode(&mut buf, R::Response::header_version(version))
        .expect("decode response header");
    assert_eq!(
        header.correlation_id, correlation_id,
        "correlation id echoed"
    );
    let response = R::Response::decode(&mut buf, version).expect("decode response body");
    assert_eq!(
        buf.remaining(),
        0,
        "no trailing bytes after a v{version} response"
    );
    response
}

/// The broker closes the connection (EOF or reset) before the deadline. Bytes it
/// may send before closing are read and ignored.
async fn assert_closed(stream: &mut TcpStream, what: &str) {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => panic!("{what}: connection still open after {IO_TIMEOUT:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => continue,
        }
    }
}

async fn api_versions_ok(stream: &mut TcpStream, correlation_id: i32) -> ApiVersionsResponse {
    let req = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("strom-test"))
        .with_client_software_version(StrBytes::from_static_str("0.1.0"));
    let resp = call(stream, 3, correlation_id, &req).await;
    assert_eq!(resp.error_code, 0, "ApiVersions v3 error code");
    resp
}

fn metadata_request(topics: &[&str]) -> MetadataRequest {
    MetadataRequest::default().with_topics(Some(
        topics
            .iter()
            .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
            .collect(),
    ))
}

/// A normal librdkafka produce and consume on a fresh topic.
async fn assert_still_serves(broker: &TestBroker) {
    let bootstrap = broker.bootstrap();
    let topic = unique_name("still-serving");
    create_topic(&admin(&bootstrap), &topic, 1, &[]).await;
    let producer = producer(&bootstrap, &[]);
    let (p, o) = produce_one(&producer, &topic, "k", "still serving").await;
    assert_eq!((p, o), (0, 0));
    let c = consumer(&bootstrap, &[]);
    assign(&c, &topic, &[0], rdkafka::Offset::Beginning);
    let got = consume_n(&c, 1, STEP_TIMEOUT).await;
    assert_eq!(payload_str(&got[0]), "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_size_above_socket_request_max_bytes_closes_connection() {
    let broker = TestBroker::start_with(&[("socket.request.max.bytes", "1048576")]).await;
    let addr = broker.listen_addr();
    let mut healthy = connect(addr).await;
    api_versions_ok(&mut healthy, 1).await;

    for (size, what) in [
        (0x7fff_ffffu32, "size prefix 2 GiB - 1"),
        (0x8000_0000u32, "size prefix 2 GiB (negative as i32)"),
        (0xffff_ffffu32, "size prefix -1"),
        (
            1_048_577u32,
            "size prefix one byte over socket.request.max.bytes",
        ),
    ] {
        let mut s = connect(addr).await;
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0u8; 64]);
        write_all(&mut s, &bytes).await;
        assert_closed(&mut s, what).await;
    }

    // A frame just under the limit is legal: a Metadata request naming 4000
    // (non-existent, not to be created) topics of 200 characters, ~800 kB.
    let names: Vec<String> = (0..4000).map(|i| format!("{i:0>200}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let request = metadata_request(&names).with_allow_auto_topic_creation(false);
    let big = frame(12, 2, &request);
    assert!(
        big.len() > 700_000 && big.len() < 1_048_576,
        "frame of {} bytes",
        big.len()
    );
    let resp = call(&mut healthy, 12, 2, &request).await;
    assert_eq!(resp.topics.len(), 4000, "one answer per requested topic");
    assert!(
        resp.topics.iter().all(|t| t.error_code == 3),
        "unknown topics are UNKNOWN_TOPIC_OR_PARTITION and not created"
    );
    api_versions_ok(&mut healthy, 3).await;
    assert_still_serves(&broker).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_truncated_frames_close_only_their_connection() {
    let broker = TestBroker::start().await;
    let addr = broker.listen_addr();
    let mut healthy = connect(addr).await;
    api_versions_ok(&mut healthy, 1).await;

    // Garbage body behind a plausible header (Metadata v12).
    let mut garbage = BytesMut::new();
    garbage.put_i16(ApiKey::Metadata as i16);
    garbage.put_i16(12);
    garbage.put_i32(99);
    garbage.put_slice(&[0xff; 40]);
    let mut s = connect(addr).await;
    write_all(&mut s, &with_size_prefix(&garbage)).await;
    assert_closed(&mut s, "garbage Metadata v12 frame").await;

    // Pure noise.
    let noise: Vec<u8> = (0..200u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut s = connect(addr).await;
    write_all(&mut s, &with_size_prefix(&noise)).await;
    assert_closed(&mut s, "random bytes frame").await;

    // A valid request cut short, with a size prefix matching the cut.
    let full = frame(12, 5, &metadata_request(&["a-topic", "another-topic"]));
    let cut = &full[4..full.len() - 7];
    let mut s = connect(addr).await;
    write_all(&mut s, &with_size_prefix(cut)).await;
    assert_closed(&mut s, "truncated Metadata v12 frame").await;

    // A frame promising more bytes than ever arrive (EOF mid-frame).
    let mut s = connect(addr).await;
    let mut partial = 100i32.to_be_bytes().to_vec();
    partial.extend_from_slice(&full[4..14]);
    write_all(&mut s, &partial).await;
    s.shutdown().await.expect("half-close");
    assert_closed(&mut s, "EOF in the middle of a frame").await;

    // The healthy connection, open all along, still works.
    let resp = call(
        &mut healthy,
        12,
        7,
        &MetadataRequest::default().with_topics(None),
    )
    .await;
    assert_eq!(resp.brokers.len(), 1, "Metadata on the healthy connection");
    api_versions_ok(&mut healthy, 8).await;
    assert_still_serves(&broker).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_key_closes_connection() {
    let broker = TestBroker::start().await;
    let addr = broker.listen_addr();
    for api_key in [9999i16, i16::MAX, -1, ApiKey::Vote as i16] {
        let mut payload = BytesMut::new();
        payload.put_i16(api_key);
        payload.put_i16(0);
        payload.put_i32(42);
        payload.put_i16(4);
        payload.put_slice(b"test");
        payload.put_slice(&[0u8; 16]);
        let mut s = connect(addr).await;
        write_all(&mut s, &with_size_prefix(&payload)).await;
        assert_closed(&mut s, &format!("API key {api_key}")).await;
    }
    assert_still_serves(&broker).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_advertises_served_apis_and_answers_newer_clients_in_v0() {
    let broker = TestBroker::start().await;
    let addr = broker.listen_addr();
    let mut s = connect(addr).await;

    for version in [0i16, 3, 4] {
        let req = if version >= 3 {
            ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("strom-test"))
                .with_client_software_version(StrBytes::from_static_str("0.1.0"))
        } else {
            ApiVersionsRequest::default()
        };
        let resp = call(&mut s, version, 10 + version as i32, &req).await;
        assert_eq!(resp.error_code, 0, "ApiVersions v{version}");
        assert_eq!(
            resp.api_keys.len(),
            SERVED.len(),
            "ApiVersions v{version} advertises exactly the served APIs"
        );
        for api in SERVED {
            let entry = resp
                .api_keys
                .iter()
                .find(|k| k.api_key == api as i16)
                .unwrap_or_else(|| panic!("ApiVersions v{version} does not list {api:?}"));
            let valid = api.valid_versions();
            assert!(
                entry.min_version >= valid.min
                    && entry.max_version <= valid.max
                    && entry.min_version <= entry.max_version,
                "{api:?}: advertised {}..{} outside {}..{}",
                entry.min_version,
                entry.max_version,
                valid.min,
                valid.max
            );
        }
        for entry in &resp.api_keys {
            assert!(
                ApiKey::try_from(entry.api_key).is_ok(),
                "advertises unknown API key {}",
                entry.api_key
            );
        }
    }

    // KIP-511: ApiVersions at a version the broker does not know. The body is a v4
    // body; the header says v99. The answer is a v0 response: UNSUPPORTED_VERSION
    // and the supported ranges, so the client can retry at a version we speak.
    let req = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("future-client"))
        .with_client_software_version(StrBytes::from_static_str("99.0"));
    write_all(&mut s, &frame_with_body_version(99, 4, 77, &req)).await;
    let mut buf = read_frame(&mut s).await;
    let header = ResponseHeader::decode(&mut buf, 0).expect("v0 response header");
    assert_eq!(header.correlation_id, 77);
    let resp = ApiVersionsResponse::decode(&mut buf, 0).expect("ApiVersions v0 response body");
    assert_eq!(
        buf.remaining(),
        0,
        "the answer is exactly a v0 ApiVersions response"
    );
    assert_eq!(resp.error_code, 35, "UNSUPPORTED_VERSION");
    let own = resp
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::ApiVersions as i16)
        .expect("ApiVersions range in the UNSUPPORTED_VERSION answer");
    assert!(
        own.max_version >= 3,
        "ApiVersions max version {}",
        own.max_version
    );
    assert!(
        resp.api_keys
            .iter()
            .any(|k| k.api_key == ApiKey::Produce as i16),
        "the UNSUPPORTED_VERSION answer lists the other APIs too"
    );

    // The client retries at a version the broker speaks, on the same connection.
    let resp = api_versions_ok(&mut s, 78).await;
    assert!(!resp.api_keys.is_empty());
    broker.shutdown().await;
}

/// Kafka ignores bytes after a request body, and librdkafka depends on it: its
/// "all topics" Metadata request at v9+ leaves the 4-byte placeholder of the
/// topics count in place (one byte of it reads as the null compact array), so
/// the body is followed by 3 stray bytes. Such a frame must be answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_bytes_after_a_request_body_are_ignored_like_kafka() {
    let broker = TestBroker::start().await;
    let addr = broker.listen_addr();
    let mut s = connect(addr).await;
    for version in [11i16, 12, 13] {
        // Exactly what librdkafka 2.12 sends for rd_kafka_metadata(all_topics) at v11+:
        // header v2, then 00 00 00 00 (topics: null + 3 bytes), then
        // allow_auto_topic_creation, include_topic_authorized_operations, tags.
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::Metadata as i16)
            .with_request_api_version(version)
            .with_correlation_id(300 + version as i32)
            .with_client_id(Some(StrBytes::from_static_str("rdkafka")));
        let mut payload = BytesMut::new();
        header
            .encode(&mut payload, MetadataRequest::header_version(version))
            .expect("encode header");
        payload.put_slice(&[0, 0, 0, 0, 1, 0, 0]);
        write_all(&mut s, &with_size_prefix(&payload)).await;
        let mut buf = read_frame(&mut s).await;
        let header = ResponseHeader::decode(
            &mut buf,
            kafka_protocol::messages::MetadataResponse::header_version(version),
        )
        .expect("response header");
        assert_eq!(header.correlation_id, 300 + version as i32);
        let resp = kafka_protocol::messages::MetadataResponse::decode(&mut buf, version)
            .expect("Metadata response");
        assert_eq!(resp.brokers.len(), 1, "Metadata v{version} answered");
    }
    // The same from the real client, through rdkafka's full-metadata call.
    let admin = admin(&broker.bootstrap());
    let topic = unique_name("listed");
    create_topic(&admin, &topic, 1, &[]).await;
    assert!(
        topics(admin.inner()).contains_key(&topic),
        "full Metadata lists {topic}"
    );
    broker.shutdown().await;
}

fn record_batch(value: &str) -> BytesMut {
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 1_704_067_200_000,
        key: Some(Bytes::from_static(b"key")),
        value: Some(Bytes::copy_from_slice(value.as_bytes())),
        headers: IndexMap::new(),
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [&record],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode record batch");
    buf
}

fn create_topics_request(names: &[&str], partitions: i32) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(
            names
                .iter()
                .map(|n| {
                    CreatableTopic::default()
                        .with_name(topic_name(n))
                        .with_num_partitions(partitions)
                        .with_replication_factor(1)
                })
                .collect(),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_with_bad_crc_is_corrupt_message_for_that_partition() {
    let broker = TestBroker::start().await;
    let addr = broker.listen_addr();
    let mut s = connect(addr).await;
    let topic = unique_name("crc");
    let resp = call(&mut s, 7, 1, &create_topics_request(&[&topic], 2)).await;
    assert_eq!(resp.topics.len(), 1);
    assert_eq!(resp.topics[0].error_code, 0, "create {topic}");

    let good = record_batch("good");
    let mut bad = record_batch("bad!");
    let last = bad.len() - 1;
    bad[last] ^= 0x55; // inside the CRC-covered part: the stored CRC no longer matches
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(&topic))
            .with_partition_data(vec![
                PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(bad.freeze())),
                PartitionProduceData::default()
                    .with_index(1)
                    .with_records(Some(good.freeze())),
            ])]);
    let resp = call(&mut s, 9, 2, &request).await;
    assert_eq!(resp.responses.len(), 1, "one topic in the Produce response");
    let mut partitions: Vec<(i32, i16, i64)> = resp.responses[0]
        .partition_responses
        .iter()
        .map(|p| (p.index, p.error_code, p.base_offset))
        .collect();
    partitions.sort();
    assert_eq!(
        partitions.len(),
        2,
        "both partitions answered: {partitions:?}"
    );
    assert_eq!(partitions[0].1, 2, "partition 0 (bad CRC): CORRUPT_MESSAGE");
    assert_eq!(
        (partitions[1].1, partitions[1].2),
        (0, 0),
        "partition 1 (good batch) appended at 0"
    );

    // The connection stays usable after a per-partition error.
    api_versions_ok(&mut s, 3).await;
    let c = consumer(&broker.bootstrap(), &[]);
    assert_eq!(
        watermarks(&c, &topic, 0),
        (0, 0),
        "nothing of the corrupt batch was stored"
    );
    assert_eq!(watermarks(&c, &topic, 1), (0, 1));
    assert_still_serves(&broker).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_with_invalid_name_is_invalid_topic_exception() {
    let broker = TestBroker::start().await;
    let addr = broker.listen_addr();
    let mut s = connect(addr).await;
    let valid = unique_name("valid");
    let too_long = "z".repeat(250);
    let names = [
        "bad/topic",
        "..",
        "with space",
        too_long.as_str(),
        valid.as_str(),
    ];
    for (i, version) in [2i16, 5, 7].into_iter().enumerate() {
        let valid_v = format!("{valid}-v{version}");
        let mut request_names = names.to_vec();
        request_names[4] = valid_v.as_str();
        let resp = call(
            &mut s,
            version,
            100 + i as i32,
            &create_topics_request(&request_names, 1),
        )
        .await;
        let codes: Vec<(String, i16)> = resp
            .topics
            .iter()
            .map(|t| (t.name.0.to_string(), t.error_code))
            .collect();
        for name in &request_names[..4] {
            assert!(
                codes.contains(&(name.to_string(), 17)),
                "CreateTopics v{version}: {name:?} -> INVALID_TOPIC_EXCEPTION; got {codes:?}"
            );
        }
        assert!(
            codes.contains(&(valid_v.clone(), 0)),
            "CreateTopics v{version}: the valid topic in the same request is created; got {codes:?}"
        );
    }
    let resp = call(
        &mut s,
        12,
        200,
        &MetadataRequest::default().with_topics(None),
    )
    .await;
    let listed: Vec<String> = resp
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .collect();
    assert!(
        !listed.iter().any(|n| n == "bad/topic" || n == ".."),
        "invalid names not created: {listed:?}"
    );
    assert_still_serves(&broker).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_configs_of_a_missing_topic_is_unknown_topic() {
    use kafka_protocol::messages::alter_configs_request::{
        AlterConfigsRequest, AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::incremental_alter_configs_request as inc;
    let broker = TestBroker::start().await;
    let mut s = connect(broker.listen_addr()).await;
    let missing = unique_name("missing");
    let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(StrBytes::from_string(missing.clone()))
        .with_configs(vec![AlterableConfig::default()
            .with_name(StrBytes::from_static_str("retention.ms"))
            .with_value(Some(StrBytes::from_static_str("1000")))])]);
    let resp = call(&mut s, 2, 1, &req).await;
    assert_eq!(resp.responses.len(), 1);
    assert_eq!(
        resp.responses[0].error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    let req = inc::IncrementalAlterConfigsRequest::default().with_resources(vec![
        inc::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(missing.clone()))
            .with_configs(vec![inc::AlterableConfig::default()
                .with_name(StrBytes::from_static_str("retention.ms"))
                .with_config_operation(0)
                .with_value(Some(StrBytes::from_static_str("1000")))]),
    ]);
    let resp = call(&mut s, 1, 2, &req).await;
    assert_eq!(
        resp.responses[0].error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert_still_serves(&broker).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_cannot_append_to_internal_topics() {
    use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
    let broker = TestBroker::start().await;
    let mut s = connect(broker.listen_addr()).await;
    // FindCoordinator for a group creates __consumer_offsets.
    let find = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(vec![StrBytes::from_static_str("some-group")]);
    let resp = call(&mut s, 4, 1, &find).await;
    assert_eq!(resp.coordinators[0].error_code, 0);
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name("__consumer_offsets"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(record_batch("x").freeze()))])]);
    let resp = call(&mut s, 9, 2, &request).await;
    assert_eq!(
        resp.responses[0].partition_responses[0].error_code, 17,
        "INVALID_TOPIC_EXCEPTION: Cannot append to internal topic"
    );
    assert_still_serves(&broker).await;
    broker.shutdown().await;
}

/// Requests written back to back on one connection are answered in order,
/// whether an answer is ready at once (ApiVersions, Metadata) or waits for an
/// fsync (produce with Strom's default flush policy); acks=0 gets no answer and
/// the next answer is not held up by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_answers_come_back_in_request_order() {
    let broker = TestBroker::start().await;
    let mut s = connect(broker.listen_addr()).await;
    let topic = unique_name("pipelined");
    let resp = call(&mut s, 7, 1, &create_topics_request(&[&topic], 1)).await;
    assert_eq!(resp.topics[0].error_code, 0, "create {topic}");

    let produce = |acks: i16, value: &str| {
        ProduceRequest::default()
            .with_acks(acks)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(topic_name(&topic))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(record_batch(value).freeze()))])])
    };
    let versions = ApiVersionsRequest::default();
    let metadata = metadata_request(&[&topic]);
    // Correlation ids 10.. in request order; 15 (acks=0) is never answered.
    let mut burst = BytesMut::new();
    burst.extend_from_slice(&frame(9, 10, &produce(-1, "a")));
    burst.extend_from_slice(&frame(12, 11, &metadata));
    burst.extend_from_slice(&frame(9, 12, &produce(1, "b")));
    burst.extend_from_slice(&frame(3, 13, &versions));
    burst.extend_from_slice(&frame(9, 14, &produce(-1, "c")));
    burst.extend_from_slice(&frame(9, 15, &produce(0, "d")));
    burst.extend_from_slice(&frame(12, 16, &metadata));
    burst.extend_from_slice(&frame(9, 17, &produce(-1, "e")));
    write_all(&mut s, &burst).await;

    let mut base_offsets = Vec::new();
    for (correlation_id, api) in [
        (10, ApiKey::Produce),
        (11, ApiKey::Metadata),
        (12, ApiKey::Produce),
        (13, ApiKey::ApiVersions),
        (14, ApiKey::Produce),
        (16, ApiKey::Metadata),
        (17, ApiKey::Produce),
    ] {
        let mut buf = read_frame(&mut s).await;
        // Every answer here has a v0 header except ApiVersions (always v0 too)
        // and Produce v9 / Metadata v12 (flexible: v1 header).
        let header_version = if api == ApiKey::ApiVersions { 0 } else { 1 };
        let header = ResponseHeader::decode(&mut buf, header_version).expect("response header");
        assert_eq!(
            header.correlation_id, correlation_id,
            "answers in request order ({api:?} expected next)"
        );
        if api == ApiKey::Produce {
            let r = kafka_protocol::messages::ProduceResponse::decode(&mut buf, 9)
                .expect("produce response");
            let p = &r.responses[0].partition_responses[0];
            assert_eq!(p.error_code, 0, "produce {correlation_id}");
            base_offsets.push(p.base_offset);
        }
    }
    // "d" (acks=0) was appended between "c" and "e".
    assert_eq!(base_offsets, vec![0, 1, 2, 4]);
    assert_still_serves(&broker).await;
}
