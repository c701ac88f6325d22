//! A deterministic mutational fuzzer for `strom_broker::codec::decode_request`,
//! the decoder every byte from the network goes through. It runs on the stable
//! toolchain as an ordinary test (cargo-fuzz needs nightly).
//!
//! * Seeds: valid request frames (header + body, no size prefix) for every API the
//!   broker serves, at every version it serves, built with the
//!   crate's own encoders from several bodies per API.
//! * Mutations: bit flips; bytes set to 0x00/0xFF/0x7F/0x80; i16/i32 fields
//!   overwritten with huge or negative values; unsigned varints (compact lengths,
//!   tagged-field counts) written or inserted with huge values; truncation;
//!   duplication, insertion and deletion of ranges; splicing two seeds; a changed
//!   API key or version in the header. One to four per input, applied to a seed
//!   or to an earlier mutant that still decoded (a cheap coverage proxy).
//! * Oracle: `decode_request` returns (`Ok` or `Err`) without panicking, within a
//!   second, and without growing the process's peak resident memory by more than
//!   [`RSS_GROWTH_LIMIT_KIB`] (hostile counts must not turn into real memory).
//!
//! A failing input is written to `broker/fuzz-corpus/crashes/<hash>.bin` and the
//! test fails. Inputs that once failed live in `broker/fuzz-corpus/regressions/`
//! and are replayed by `regressions_decode_without_panic`. See
//! `broker/fuzz-corpus/README.md`.
//!
//! Environment: `STROM_FUZZ_SECS` (run length, default 3), `STROM_FUZZ_ITERS`
//! (iteration cap, default 5,000,000), `STROM_FUZZ_SEED` (PRNG seed, default fixed).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::alter_configs_request::{
    AlterConfigsRequest, AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsRequest, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use kafka_protocol::messages::delete_groups_request::DeleteGroupsRequest;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic,
};
use kafka_protocol::messages::delete_topics_request::{DeleteTopicState, DeleteTopicsRequest};
use kafka_protocol::messages::describe_cluster_request::DescribeClusterRequest;
use kafka_protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::describe_log_dirs_request::{
    DescribableLogDirTopic, DescribeLogDirsRequest,
};
use kafka_protocol::messages::describe_topic_partitions_request::{
    Cursor, DescribeTopicPartitionsRequest, TopicRequest,
};
use kafka_protocol::messages::fetch_request::{
    FetchPartition, FetchRequest, FetchTopic, ForgottenTopic,
};
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::incremental_alter_configs_request as incremental;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequest, OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::{ApiKey, BrokerId, GroupId, RequestHeader, RequestKind, TopicName};
use kafka_protocol::messages::{InitProducerIdRequest, ProducerId, TransactionalId};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strom_broker::codec::decode_request;
use strom_broker::handlers::api_versions::{supported_range, SUPPORTED};
use uuid::Uuid;

/// The APIs the broker serves (exactly what it advertises); each gets seeds at
/// every version it serves.
fn served() -> impl Iterator<Item = ApiKey> {
    SUPPORTED.iter().map(|&(api, _, _)| api)
}

/// A decode may not take longer than this.
const MAX_DECODE_TIME: Duration = Duration::from_secs(1);
/// Peak RSS growth (KiB) a batch of decodes may cause: inputs are at most a few
/// kB, so anything near this means a count from the input became real memory.
const RSS_GROWTH_LIMIT_KIB: u64 = 256 * 1024;
/// How often (iterations) the fuzz loop checks peak RSS.
const RSS_CHECK_EVERY: usize = 512;

/// Tests in this file measure process-wide memory: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-corpus")
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

// ---------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------

/// One valid frame: what was encoded, and the bytes.
struct Seed {
    api: ApiKey,
    version: i16,
    header: RequestHeader,
    body: RequestKind,
    frame: Vec<u8>,
}

fn s(v: &'static str) -> StrBytes {
    StrBytes::from_static_str(v)
}

fn topic(v: &'static str) -> TopicName {
    TopicName(s(v))
}

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn record_batch(compression: Compression, n: usize) -> Bytes {
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let mut headers = IndexMap::new();
            headers.insert(s("h"), Some(Bytes::from_static(b"header-value")));
            headers.insert(s("null"), None);
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: -1,
                timestamp: 1_704_067_200_000 + i as i64,
                key: (i % 2 == 0).then(|| Bytes::from(format!("key-{i}"))),
                value: Some(Bytes::from(format!("value-{i}-{}", "v".repeat(i * 3)))),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode record batch");
    buf.freeze()
}

/// Several bodies per API, from empty to rich. Fields a version lacks make the
/// encoder refuse that (body, version) pair; each version keeps the bodies it can encode.
fn bodies(api: ApiKey) -> Vec<RequestKind> {
    match api {
        ApiKey::ApiVersions => vec![
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
            RequestKind::ApiVersions(
                ApiVersionsRequest::default()
                    .with_client_software_name(s("librdkafka"))
                    .with_client_software_version(s("2.12.1")),
            ),
        ],
        ApiKey::Metadata => {
            let named = vec![
                MetadataRequestTopic::default().with_name(Some(topic("orders"))),
                MetadataRequestTopic::default().with_name(Some(topic("payments.v2"))),
            ];
            vec![
                RequestKind::Metadata(MetadataRequest::default()),
                RequestKind::Metadata(MetadataRequest::default().with_topics(None)),
                RequestKind::Metadata(MetadataRequest::default().with_topics(Some(named.clone()))),
                RequestKind::Metadata(
                    MetadataRequest::default()
                        .with_topics(Some(named))
                        .with_allow_auto_topic_creation(false)
                        .with_include_topic_authorized_operations(true),
                ),
                RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![
                    MetadataRequestTopic::default().with_topic_id(uuid(0x1234)).with_name(None),
                ]))),
            ]
        }
        ApiKey::Produce => {
            let by_name = |acks: i16, batches: Vec<Bytes>| {
                ProduceRequest::default()
                    .with_acks(acks)
                    .with_timeout_ms(30_000)
                    .with_topic_data(vec![
                        TopicProduceData::default()
                            .with_name(topic("orders"))
                            .with_partition_data(
                                batches
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, b)| {
                                        PartitionProduceData::default()
                                            .with_index(i as i32)
                                            .with_records(Some(b))
                                    })
                                    .collect(),
                            ),
                        TopicProduceData::default()
                            .with_name(topic("empty"))
                            .with_partition_data(vec![PartitionProduceData::default()
                                .with_index(0)
                                .with_records(None)]),
                    ])
            };
            vec![
                RequestKind::Produce(by_name(-1, vec![record_batch(Compression::None, 3)])),
                RequestKind::Produce(by_name(
                    1,
                    vec![
                        record_batch(Compression::Gzip, 5),
                        record_batch(Compression::None, 1),
                    ],
                )),
                RequestKind::Produce(
                    by_name(0, vec![record_batch(Compression::Lz4, 2)])
                        .with_transactional_id(Some(s("txn-1").into())),
                ),
                RequestKind::Produce(
                    ProduceRequest::default()
                        .with_acks(-1)
                        .with_timeout_ms(1000)
                        .with_topic_data(vec![TopicProduceData::default()
                            .with_topic_id(uuid(0xabcdef))
                            .with_partition_data(vec![PartitionProduceData::default()
                                .with_index(0)
                                .with_records(Some(record_batch(Compression::None, 2)))])]),
                ),
            ]
        }
        ApiKey::Fetch => {
            let partitions = vec![
                FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(0)
                    .with_partition_max_bytes(1 << 20),
                FetchPartition::default()
                    .with_partition(3)
                    .with_fetch_offset(12345)
                    .with_current_leader_epoch(7)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(65536),
            ];
            let base = FetchRequest::default()
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_max_bytes(52_428_800);
            vec![
                RequestKind::Fetch(base.clone()),
                RequestKind::Fetch(base.clone().with_topics(vec![FetchTopic::default()
                    .with_topic(topic("orders"))
                    .with_partitions(partitions.clone())])),
                RequestKind::Fetch(
                    base.clone()
                        .with_isolation_level(1)
                        .with_session_id(17)
                        .with_session_epoch(3)
                        .with_topics(vec![FetchTopic::default()
                            .with_topic(topic("orders"))
                            .with_partitions(partitions.clone())])
                        .with_forgotten_topics_data(vec![ForgottenTopic::default()
                            .with_topic(topic("old"))
                            .with_partitions(vec![0, 1, 2])])
                        .with_rack_id(s("rack-a")),
                ),
                RequestKind::Fetch(
                    base.with_topics(vec![FetchTopic::default()
                        .with_topic_id(uuid(0x77))
                        .with_partitions(partitions)])
                        .with_forgotten_topics_data(vec![ForgottenTopic::default()
                            .with_topic_id(uuid(0x78))
                            .with_partitions(vec![5])]),
                ),
            ]
        }
        ApiKey::ListOffsets => {
            let topics = vec![ListOffsetsTopic::default()
                .with_name(topic("orders"))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-1),
                    ListOffsetsPartition::default()
                        .with_partition_index(1)
                        .with_timestamp(-2),
                    ListOffsetsPartition::default()
                        .with_partition_index(2)
                        .with_timestamp(1_704_067_200_000),
                ])];
            vec![
                RequestKind::ListOffsets(
                    ListOffsetsRequest::default()
                        .with_replica_id(BrokerId(-1))
                        .with_topics(topics.clone()),
                ),
                RequestKind::ListOffsets(
                    ListOffsetsRequest::default()
                        .with_replica_id(BrokerId(-1))
                        .with_isolation_level(1)
                        .with_topics(topics)
                        .with_timeout_ms(5000),
                ),
            ]
        }
        ApiKey::CreateTopics => {
            let topics = vec![
                CreatableTopic::default()
                    .with_name(topic("new-topic"))
                    .with_num_partitions(6)
                    .with_replication_factor(1)
                    .with_configs(vec![
                        CreatableTopicConfig::default()
                            .with_name(s("retention.ms"))
                            .with_value(Some(s("86400000"))),
                        CreatableTopicConfig::default()
                            .with_name(s("cleanup.policy"))
                            .with_value(None),
                    ]),
                CreatableTopic::default()
                    .with_name(topic("assigned"))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_assignments(vec![CreatableReplicaAssignment::default()
                        .with_partition_index(0)
                        .with_broker_ids(vec![BrokerId(1)])]),
            ];
            vec![
                RequestKind::CreateTopics(CreateTopicsRequest::default().with_timeout_ms(30_000)),
                RequestKind::CreateTopics(
                    CreateTopicsRequest::default()
                        .with_timeout_ms(30_000)
                        .with_topics(topics.clone()),
                ),
                RequestKind::CreateTopics(
                    CreateTopicsRequest::default()
                        .with_timeout_ms(30_000)
                        .with_topics(topics)
                        .with_validate_only(true),
                ),
            ]
        }
        ApiKey::DeleteTopics => vec![
            RequestKind::DeleteTopics(
                DeleteTopicsRequest::default()
                    .with_timeout_ms(30_000)
                    .with_topic_names(vec![topic("a"), topic("b")]),
            ),
            RequestKind::DeleteTopics(
                DeleteTopicsRequest::default()
                    .with_timeout_ms(30_000)
                    .with_topics(vec![
                        DeleteTopicState::default().with_name(Some(topic("a"))),
                        DeleteTopicState::default()
                            .with_name(None)
                            .with_topic_id(uuid(0x99)),
                    ]),
            ),
        ],
        ApiKey::CreatePartitions => vec![
            RequestKind::CreatePartitions(
                CreatePartitionsRequest::default()
                    .with_timeout_ms(30_000)
                    .with_topics(vec![CreatePartitionsTopic::default()
                        .with_name(topic("grow"))
                        .with_count(12)
                        .with_assignments(None)]),
            ),
            RequestKind::CreatePartitions(
                CreatePartitionsRequest::default()
                    .with_timeout_ms(30_000)
                    .with_validate_only(true)
                    .with_topics(vec![CreatePartitionsTopic::default()
                        .with_name(topic("grow"))
                        .with_count(3)
                        .with_assignments(Some(vec![
                            CreatePartitionsAssignment::default()
                                .with_broker_ids(vec![BrokerId(1)]),
                            CreatePartitionsAssignment::default().with_broker_ids(vec![]),
                        ]))]),
            ),
        ],
        ApiKey::DeleteRecords => vec![RequestKind::DeleteRecords(
            DeleteRecordsRequest::default()
                .with_timeout_ms(30_000)
                .with_topics(vec![DeleteRecordsTopic::default()
                    .with_name(topic("orders"))
                    .with_partitions(vec![
                        DeleteRecordsPartition::default()
                            .with_partition_index(0)
                            .with_offset(10),
                        DeleteRecordsPartition::default()
                            .with_partition_index(1)
                            .with_offset(-1),
                    ])]),
        )],
        ApiKey::DescribeConfigs => {
            let resources = vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("orders"))
                    .with_configuration_keys(None),
                DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("1"))
                    .with_configuration_keys(Some(vec![s("num.partitions"), s("log.dirs")])),
            ];
            vec![
                RequestKind::DescribeConfigs(
                    DescribeConfigsRequest::default().with_resources(resources.clone()),
                ),
                RequestKind::DescribeConfigs(
                    DescribeConfigsRequest::default()
                        .with_resources(resources)
                        .with_include_synonyms(true)
                        .with_include_documentation(true),
                ),
            ]
        }
        ApiKey::AlterConfigs => vec![RequestKind::AlterConfigs(
            AlterConfigsRequest::default()
                .with_validate_only(true)
                .with_resources(vec![AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("orders"))
                    .with_configs(vec![
                        AlterableConfig::default()
                            .with_name(s("retention.ms"))
                            .with_value(Some(s("1000"))),
                        AlterableConfig::default()
                            .with_name(s("segment.bytes"))
                            .with_value(None),
                    ])]),
        )],
        ApiKey::IncrementalAlterConfigs => vec![RequestKind::IncrementalAlterConfigs(
            incremental::IncrementalAlterConfigsRequest::default().with_resources(vec![
                incremental::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("orders"))
                    .with_configs(
                        (0..4i8)
                            .map(|op| {
                                incremental::AlterableConfig::default()
                                    .with_name(s("cleanup.policy"))
                                    .with_config_operation(op)
                                    .with_value((op != 1).then(|| s("compact")))
                            })
                            .collect(),
                    ),
                incremental::AlterConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s(""))
                    .with_configs(vec![]),
            ]),
        )],
        ApiKey::DescribeCluster => vec![
            RequestKind::DescribeCluster(DescribeClusterRequest::default()),
            RequestKind::DescribeCluster(
                DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
            ),
            RequestKind::DescribeCluster(DescribeClusterRequest::default().with_endpoint_type(1)),
            RequestKind::DescribeCluster(
                DescribeClusterRequest::default()
                    .with_endpoint_type(1)
                    .with_include_fenced_brokers(true),
            ),
        ],
        ApiKey::DescribeTopicPartitions => vec![
            RequestKind::DescribeTopicPartitions(
                DescribeTopicPartitionsRequest::default()
                    .with_topics(vec![TopicRequest::default().with_name(topic("orders"))])
                    .with_response_partition_limit(2000),
            ),
            RequestKind::DescribeTopicPartitions(
                DescribeTopicPartitionsRequest::default()
                    .with_topics(vec![
                        TopicRequest::default().with_name(topic("a")),
                        TopicRequest::default().with_name(topic("b")),
                    ])
                    .with_response_partition_limit(1)
                    .with_cursor(Some(
                        Cursor::default()
                            .with_topic_name(topic("a"))
                            .with_partition_index(5),
                    )),
            ),
        ],
        ApiKey::DescribeLogDirs => vec![
            RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default().with_topics(None)),
            RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default().with_topics(Some(
                vec![
                DescribableLogDirTopic::default()
                    .with_topic(topic("orders"))
                    .with_partitions(vec![0, 1, 2]),
            ],
            ))),
        ],
        ApiKey::FindCoordinator => vec![
            RequestKind::FindCoordinator(FindCoordinatorRequest::default().with_key(s("group"))),
            RequestKind::FindCoordinator(
                FindCoordinatorRequest::default()
                    .with_key(s("txn"))
                    .with_key_type(1),
            ),
            RequestKind::FindCoordinator(
                FindCoordinatorRequest::default()
                    .with_key_type(0)
                    .with_coordinator_keys(vec![s("g1"), s("g2")]),
            ),
        ],
        ApiKey::JoinGroup => {
            let protocols = vec![
                JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(
                        b"\0\x01\0\0\0\x01\0\x01t\xff\xff\xff\xff",
                    )),
                JoinGroupRequestProtocol::default()
                    .with_name(s("cooperative-sticky"))
                    .with_metadata(Bytes::new()),
            ];
            let minimal = JoinGroupRequest::default()
                .with_group_id(GroupId(s("group")))
                .with_session_timeout_ms(45_000)
                .with_member_id(s(""))
                .with_protocol_type(s("consumer"))
                .with_protocols(protocols);
            vec![
                RequestKind::JoinGroup(minimal.clone()),
                RequestKind::JoinGroup(minimal.clone().with_rebalance_timeout_ms(300_000)),
                RequestKind::JoinGroup(
                    minimal
                        .clone()
                        .with_rebalance_timeout_ms(300_000)
                        .with_member_id(s("member-1"))
                        .with_group_instance_id(Some(s("instance-1"))),
                ),
                RequestKind::JoinGroup(
                    minimal
                        .with_rebalance_timeout_ms(300_000)
                        .with_group_instance_id(Some(s("instance-1")))
                        .with_reason(Some(s("rejoin"))),
                ),
            ]
        }
        ApiKey::SyncGroup => {
            let minimal = SyncGroupRequest::default()
                .with_group_id(GroupId(s("group")))
                .with_generation_id(3)
                .with_member_id(s("member-1"))
                .with_assignments(vec![
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s("member-1"))
                        .with_assignment(Bytes::from_static(b"\0\x01\0\0\0\0")),
                    SyncGroupRequestAssignment::default().with_member_id(s("member-2")),
                ]);
            vec![
                RequestKind::SyncGroup(minimal.clone()),
                RequestKind::SyncGroup(
                    minimal
                        .clone()
                        .with_group_instance_id(Some(s("instance-1"))),
                ),
                RequestKind::SyncGroup(
                    minimal
                        .with_group_instance_id(Some(s("instance-1")))
                        .with_protocol_type(Some(s("consumer")))
                        .with_protocol_name(Some(s("range"))),
                ),
            ]
        }
        ApiKey::Heartbeat => {
            let minimal = HeartbeatRequest::default()
                .with_group_id(GroupId(s("group")))
                .with_generation_id(3)
                .with_member_id(s("member-1"));
            vec![
                RequestKind::Heartbeat(minimal.clone()),
                RequestKind::Heartbeat(minimal.with_group_instance_id(Some(s("instance-1")))),
            ]
        }
        ApiKey::LeaveGroup => vec![
            RequestKind::LeaveGroup(
                LeaveGroupRequest::default()
                    .with_group_id(GroupId(s("group")))
                    .with_member_id(s("member-1")),
            ),
            RequestKind::LeaveGroup(
                LeaveGroupRequest::default()
                    .with_group_id(GroupId(s("group")))
                    .with_members(vec![
                        MemberIdentity::default().with_member_id(s("member-1")),
                        MemberIdentity::default()
                            .with_member_id(s(""))
                            .with_group_instance_id(Some(s("instance-1"))),
                    ]),
            ),
            RequestKind::LeaveGroup(
                LeaveGroupRequest::default()
                    .with_group_id(GroupId(s("group")))
                    .with_members(vec![MemberIdentity::default()
                        .with_member_id(s("member-1"))
                        .with_reason(Some(s("shutting down")))]),
            ),
        ],
        ApiKey::DescribeGroups => vec![
            RequestKind::DescribeGroups(
                DescribeGroupsRequest::default()
                    .with_groups(vec![GroupId(s("a")), GroupId(s("b"))]),
            ),
            RequestKind::DescribeGroups(
                DescribeGroupsRequest::default()
                    .with_groups(vec![GroupId(s("a"))])
                    .with_include_authorized_operations(true),
            ),
        ],
        ApiKey::ListGroups => vec![
            RequestKind::ListGroups(ListGroupsRequest::default()),
            RequestKind::ListGroups(
                ListGroupsRequest::default().with_states_filter(vec![s("Stable"), s("Empty")]),
            ),
            RequestKind::ListGroups(
                ListGroupsRequest::default()
                    .with_states_filter(vec![s("Stable")])
                    .with_types_filter(vec![s("classic")]),
            ),
        ],
        ApiKey::DeleteGroups => vec![RequestKind::DeleteGroups(
            DeleteGroupsRequest::default()
                .with_groups_names(vec![GroupId(s("a")), GroupId(s("b"))]),
        )],
        ApiKey::OffsetCommit => {
            let partitions = vec![
                OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(42)
                    .with_committed_metadata(Some(s("meta"))),
                OffsetCommitRequestPartition::default()
                    .with_partition_index(1)
                    .with_committed_offset(7)
                    .with_committed_metadata(None),
            ];
            let minimal = OffsetCommitRequest::default()
                .with_group_id(GroupId(s("group")))
                .with_generation_id_or_member_epoch(3)
                .with_member_id(s("member-1"))
                .with_topics(vec![OffsetCommitRequestTopic::default()
                    .with_name(topic("orders"))
                    .with_partitions(partitions)]);
            let mut with_epoch = minimal.clone();
            with_epoch.topics[0].partitions[0].committed_leader_epoch = 5;
            vec![
                RequestKind::OffsetCommit(minimal.clone()),
                RequestKind::OffsetCommit(minimal.with_retention_time_ms(60_000)),
                RequestKind::OffsetCommit(with_epoch.clone()),
                RequestKind::OffsetCommit(with_epoch.with_group_instance_id(Some(s("instance-1")))),
            ]
        }
        ApiKey::OffsetFetch => vec![
            RequestKind::OffsetFetch(
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(s("group")))
                    .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                        .with_name(topic("orders"))
                        .with_partition_indexes(vec![0, 1, 2])])),
            ),
            RequestKind::OffsetFetch(
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(s("group")))
                    .with_topics(None),
            ),
            RequestKind::OffsetFetch(
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(s("group")))
                    .with_topics(None)
                    .with_require_stable(true),
            ),
            RequestKind::OffsetFetch(
                OffsetFetchRequest::default()
                    .with_groups(vec![
                        OffsetFetchRequestGroup::default()
                            .with_group_id(GroupId(s("a")))
                            .with_topics(None),
                        OffsetFetchRequestGroup::default()
                            .with_group_id(GroupId(s("b")))
                            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                                .with_name(topic("orders"))
                                .with_partition_indexes(vec![0])])),
                    ])
                    .with_require_stable(true),
            ),
            RequestKind::OffsetFetch(OffsetFetchRequest::default().with_groups(vec![
                OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(s("a")))
                    .with_member_id(Some(s("member-1")))
                    .with_member_epoch(4)
                    .with_topics(None),
            ])),
        ],
        ApiKey::OffsetDelete => vec![RequestKind::OffsetDelete(
            OffsetDeleteRequest::default()
                .with_group_id(GroupId(s("group")))
                .with_topics(vec![OffsetDeleteRequestTopic::default()
                    .with_name(topic("orders"))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0),
                        OffsetDeleteRequestPartition::default().with_partition_index(3),
                    ])]),
        )],
        ApiKey::InitProducerId => vec![
            RequestKind::InitProducerId(
                InitProducerIdRequest::default().with_transaction_timeout_ms(60_000),
            ),
            RequestKind::InitProducerId(
                InitProducerIdRequest::default()
                    .with_transactional_id(Some(TransactionalId(s("txn"))))
                    .with_producer_id(ProducerId(7))
                    .with_producer_epoch(3),
            ),
        ],
        other => panic!("no seed bodies for {other:?}"),
    }
}

fn encode_frame(
    header: &RequestHeader,
    api: ApiKey,
    version: i16,
    body: &RequestKind,
) -> Option<Vec<u8>> {
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, api.request_header_version(version))
        .ok()?;
    body.encode(&mut buf, version).ok()?;
    Some(buf.to_vec())
}

/// Every (API, version, body) the encoders accept, with two header shapes.
fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut correlation_id = 1;
    for api in served() {
        let range = supported_range(api).unwrap_or_else(|| api.valid_versions());
        for version in range.min..=range.max {
            let before = out.len();
            for body in bodies(api) {
                for client_id in [Some(s("fuzz-client")), None] {
                    correlation_id += 1;
                    let header = RequestHeader::default()
                        .with_request_api_key(api as i16)
                        .with_request_api_version(version)
                        .with_correlation_id(correlation_id)
                        .with_client_id(client_id);
                    if let Some(frame) = encode_frame(&header, api, version, &body) {
                        out.push(Seed {
                            api,
                            version,
                            header,
                            body: body.clone(),
                            frame,
                        });
                    }
                }
            }
            assert!(
                out.len() > before,
                "no seed body encodes for {api:?} v{version}"
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

const HUGE_I32: [u32; 8] = [
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_fffe,
    0x00ff_ffff,
    0x1000_0000,
    0x0001_0000,
    0,
];
const HUGE_I16: [u16; 5] = [0x7fff, 0x8000, 0xffff, 0xfffe, 0x0100];
const HUGE_VARINT: [u32; 6] = [
    0xffff_ffff,
    0x7fff_ffff,
    0x0fff_ffff,
    1 << 28,
    0x0001_0000,
    0,
];
const INTERESTING_BYTES: [u8; 5] = [0x00, 0xff, 0x7f, 0x80, 0x01];

fn unsigned_varint(mut v: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

fn overwrite(input: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        match input.get_mut(at + i) {
            Some(slot) => *slot = *b,
            None => input.push(*b),
        }
    }
}

/// Apply one mutation; returns its name (for the failure report).
fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, seeds: &[Seed]) -> &'static str {
    let len = input.len();
    let pos = |rng: &mut StdRng| if len == 0 { 0 } else { rng.gen_range(0..len) };
    match rng.gen_range(0..14) {
        0 if len > 0 => {
            let p = pos(rng);
            input[p] ^= 1 << rng.gen_range(0..8);
            "bit flip"
        }
        1 if len > 0 => {
            let p = pos(rng);
            input[p] = INTERESTING_BYTES[rng.gen_range(0..INTERESTING_BYTES.len())];
            "interesting byte"
        }
        2 => {
            let v = HUGE_I32[rng.gen_range(0..HUGE_I32.len())];
            let p = pos(rng);
            overwrite(input, p, &v.to_be_bytes());
            "i32 overwrite"
        }
        3 => {
            let v = HUGE_I16[rng.gen_range(0..HUGE_I16.len())];
            let p = pos(rng);
            overwrite(input, p, &v.to_be_bytes());
            "i16 overwrite"
        }
        4 => {
            let v = unsigned_varint(HUGE_VARINT[rng.gen_range(0..HUGE_VARINT.len())]);
            let p = pos(rng);
            overwrite(input, p, &v);
            "varint overwrite"
        }
        5 => {
            let v = unsigned_varint(HUGE_VARINT[rng.gen_range(0..HUGE_VARINT.len())]);
            let p = rng.gen_range(0..=len);
            input.splice(p..p, v);
            "varint insert"
        }
        6 => {
            input.truncate(rng.gen_range(0..=len));
            "truncate"
        }
        7 if len > 0 => {
            let a = pos(rng);
            let b = rng.gen_range(a..=len.min(a + 64));
            let chunk = input[a..b].to_vec();
            let p = rng.gen_range(0..=len);
            input.splice(p..p, chunk);
            "duplicate range"
        }
        8 => {
            let n = rng.gen_range(1..=16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            let p = rng.gen_range(0..=len);
            input.splice(p..p, bytes);
            "insert random bytes"
        }
        9 if len > 0 => {
            let a = pos(rng);
            let b = rng.gen_range(a..=len.min(a + 32));
            input.drain(a..b);
            "delete range"
        }
        10 => {
            let other = &seeds[rng.gen_range(0..seeds.len())].frame;
            let cut = rng.gen_range(0..=len);
            let from = rng.gen_range(0..=other.len());
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
            "splice with another seed"
        }
        11 if len >= 4 => {
            let v: i16 = match rng.gen_range(0..4) {
                0 => rng.gen_range(-1..=20),
                1 => 99,
                2 => i16::MAX,
                _ => i16::MIN,
            };
            input[2..4].copy_from_slice(&v.to_be_bytes());
            "header version"
        }
        12 if len >= 2 => {
            let api = SUPPORTED[rng.gen_range(0..SUPPORTED.len())].0 as i16;
            input[0..2].copy_from_slice(&api.to_be_bytes());
            "header api key"
        }
        _ => {
            // Flip several random bits at once.
            for _ in 0..rng.gen_range(2..8) {
                if input.is_empty() {
                    break;
                }
                let p = rng.gen_range(0..input.len());
                input[p] ^= rng.gen::<u8>();
            }
            "multi-byte havoc"
        }
    }
}

// ---------------------------------------------------------------------------
// Oracle
// ---------------------------------------------------------------------------

/// Peak resident set size of this process in KiB (`VmHWM`), if the OS tells us.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reset the peak RSS to the current RSS (Linux `clear_refs` value 5).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Save a failing input under `fuzz-corpus/crashes/` and return the path.
fn save_crash(input: &[u8]) -> PathBuf {
    let dir = corpus_dir().join("crashes");
    std::fs::create_dir_all(&dir).expect("create fuzz-corpus/crashes");
    let path = dir.join(format!("{:016x}.bin", fnv1a(input)));
    std::fs::write(&path, input).expect("write crash input");
    path
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

enum Outcome {
    Ok(i16),
    Err,
}

/// Decode one input under `catch_unwind` and the time limit; Err(description) on failure.
fn check(input: &[u8]) -> Result<Outcome, String> {
    let frame = Bytes::copy_from_slice(input);
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| decode_request(frame)));
    let elapsed = start.elapsed();
    let outcome = match result {
        Err(payload) => {
            return Err(format!(
                "decode_request panicked: {}",
                panic_message(&*payload)
            ))
        }
        Ok(Ok(decoded)) => Outcome::Ok(decoded.header.request_api_key),
        Ok(Err(_)) => Outcome::Err,
    };
    if elapsed > MAX_DECODE_TIME {
        return Err(format!(
            "decode_request took {elapsed:?} (limit {MAX_DECODE_TIME:?})"
        ));
    }
    Ok(outcome)
}

fn hex_preview(input: &[u8]) -> String {
    let shown: Vec<String> = input.iter().take(64).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}{} ({} bytes)",
        shown.join(" "),
        if input.len() > 64 { " ..." } else { "" },
        input.len()
    )
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Every seed decodes, and re-encodes to the same bytes: the fuzzer starts from
/// frames the decoder really accepts, and the codec accepts every served API at
/// every version of the Kafka 4.x range.
#[test]
fn seeds_decode_to_what_was_encoded() {
    let _serial = serial();
    let seeds = seeds();
    let mut failures = Vec::new();
    for seed in &seeds {
        match catch_unwind(AssertUnwindSafe(|| {
            decode_request(Bytes::from(seed.frame.clone()))
        })) {
            Err(payload) => {
                let path = save_crash(&seed.frame);
                panic!(
                    "decode_request panicked on a valid {:?} v{} frame (saved to {}): {}",
                    seed.api,
                    seed.version,
                    path.display(),
                    panic_message(&*payload)
                );
            }
            Ok(Err(e)) => failures.push(format!("{:?} v{}: rejected: {e}", seed.api, seed.version)),
            Ok(Ok(decoded)) => {
                // Fields a version lacks but marks ignorable are dropped by the
                // encoder, so compare re-encoded bytes rather than structs.
                let again = encode_frame(&decoded.header, seed.api, seed.version, &decoded.body);
                if decoded.header != seed.header {
                    failures.push(format!(
                        "{:?} v{}: header {:?} != {:?}",
                        seed.api, seed.version, decoded.header, seed.header
                    ));
                } else if again.as_deref() != Some(&seed.frame[..]) {
                    failures.push(format!(
                        "{:?} v{}: decoded body re-encodes differently: {:?}",
                        seed.api, seed.version, seed.body
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} valid frames did not decode back:\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
}

#[test]
fn fuzz_decode_request() {
    let _serial = serial();
    let secs: f64 = env_or("STROM_FUZZ_SECS", 3.0);
    let max_iters: usize = env_or("STROM_FUZZ_ITERS", 5_000_000);
    let rng_seed: u64 = env_or("STROM_FUZZ_SEED", 0x5EED_0000_0001);
    let seeds = seeds();
    let budget = Duration::from_secs_f64(secs);
    let mut rng = StdRng::seed_from_u64(rng_seed);
    eprintln!(
        "fuzz_decode_request: {} seeds, {secs}s, at most {max_iters} iterations, STROM_FUZZ_SEED={rng_seed}",
        seeds.len()
    );

    // Mutants that still decoded: mutating them again reaches deeper structure.
    let mut pool: Vec<Vec<u8>> = Vec::new();
    // Recent inputs, to pin down one that raised the peak RSS.
    let mut recent: Vec<Vec<u8>> = Vec::with_capacity(RSS_CHECK_EVERY);
    let rss_baseline = {
        reset_peak_rss();
        peak_rss_kib()
    };
    let mut stats: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let start = Instant::now();
    let mut iterations = 0usize;
    while iterations < max_iters && start.elapsed() < budget {
        iterations += 1;
        let mut input = if !pool.is_empty() && rng.gen_ratio(1, 4) {
            pool[rng.gen_range(0..pool.len())].clone()
        } else {
            seeds[rng.gen_range(0..seeds.len())].frame.clone()
        };
        let mut trail = Vec::new();
        for _ in 0..rng.gen_range(1..=4) {
            trail.push(mutate(&mut rng, &mut input, &seeds));
        }
        match check(&input) {
            Err(failure) => {
                let path = save_crash(&input);
                panic!(
                    "iteration {iterations} (STROM_FUZZ_SEED={rng_seed}): {failure}\nmutations: {trail:?}\ninput saved to {}\ninput: {}",
                    path.display(),
                    hex_preview(&input)
                );
            }
            Ok(outcome) => {
                let key = match &outcome {
                    Outcome::Ok(api) => format!("{:?}", ApiKey::try_from(*api).ok()),
                    Outcome::Err => "Err".to_string(),
                };
                let entry = stats.entry(key).or_default();
                entry.0 += 1;
                entry.1 += input.len() as u64;
                if matches!(outcome, Outcome::Ok(_)) && input.len() <= 1 << 16 {
                    if pool.len() < 4096 {
                        pool.push(input.clone());
                    } else {
                        let i = rng.gen_range(0..pool.len());
                        pool[i] = input.clone();
                    }
                }
            }
        }
        recent.push(input);
        if recent.len() == RSS_CHECK_EVERY {
            check_rss(rss_baseline, &mut recent, rng_seed);
        }
    }
    check_rss(rss_baseline, &mut recent, rng_seed);
    eprintln!(
        "fuzz_decode_request: {iterations} inputs in {:.1?}, no failure; outcomes: {:?}; pool of decodable mutants: {}",
        start.elapsed(),
        stats.iter().map(|(k, (n, _))| (k.as_str(), *n)).collect::<Vec<_>>(),
        pool.len()
    );
    assert!(iterations > 0, "the fuzzer ran no iteration");
}

/// Fail if the peak RSS grew too much since `baseline`; pin down the input by replaying `recent`.
fn check_rss(baseline: Option<u64>, recent: &mut Vec<Vec<u8>>, rng_seed: u64) {
    let (Some(baseline), Some(peak)) = (baseline, peak_rss_kib()) else {
        recent.clear();
        return;
    };
    if peak.saturating_sub(baseline) <= RSS_GROWTH_LIMIT_KIB {
        recent.clear();
        return;
    }
    // Replay one by one, resetting the peak between inputs, to find the culprit.
    let mut culprit = None;
    if reset_peak_rss() {
        for input in recent.iter() {
            let before = peak_rss_kib().unwrap_or(0);
            let _ = check(input);
            if peak_rss_kib().unwrap_or(0).saturating_sub(before) > RSS_GROWTH_LIMIT_KIB {
                culprit = Some(input.clone());
                break;
            }
            reset_peak_rss();
        }
    }
    match culprit {
        Some(input) => {
            let path = save_crash(&input);
            panic!(
                "decoding one input raised the peak RSS by more than {RSS_GROWTH_LIMIT_KIB} KiB (STROM_FUZZ_SEED={rng_seed}); saved to {}; input: {}",
                path.display(),
                hex_preview(&input)
            );
        }
        None => {
            let paths: Vec<PathBuf> = recent.iter().map(|i| save_crash(i)).collect();
            panic!(
                "peak RSS grew from {baseline} KiB to {peak} KiB during the last {} inputs (STROM_FUZZ_SEED={rng_seed}); all saved under {}",
                recent.len(),
                paths.first().and_then(|p| p.parent()).map(|p| p.display().to_string()).unwrap_or_default()
            );
        }
    }
}

/// Replay every input in `fuzz-corpus/regressions/`: each decodes (Ok or Err)
/// without panicking, within a second, and without a jump in resident memory.
#[test]
fn regressions_decode_without_panic() {
    let _serial = serial();
    let dir = corpus_dir().join("regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected the committed regression inputs in {}",
        dir.display()
    );
    for path in &files {
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        reset_peak_rss();
        let before = peak_rss_kib();
        let outcome =
            check(&input).unwrap_or_else(|failure| panic!("{}: {failure}", path.display()));
        if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
            assert!(
                after.saturating_sub(before) <= RSS_GROWTH_LIMIT_KIB,
                "{}: peak RSS grew from {before} KiB to {after} KiB",
                path.display()
            );
        }
        eprintln!(
            "{}: {}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            match outcome {
                Outcome::Ok(api) => format!("decoded (API key {api})"),
                Outcome::Err => "rejected".to_string(),
            }
        );
    }
}
