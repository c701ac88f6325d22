//! Everything the proxy asks of the cluster, through librdkafka (`rdkafka`):
//! metadata, watermarks, topic creation and deletion, one shared idempotent
//! producer; and, over the Kafka protocol directly
//! ([`strom_common::kafka::KafkaConnection`]), DescribeConfigs with
//! synonyms and IncrementalAlterConfigs, which librdkafka's Rust binding does
//! not expose.
//!
//! librdkafka's calls that block run on tokio's blocking pool.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    DescribeConfigsRequest, IncrementalAlterConfigsRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::FutureProducer;
use strom_common::kafka::KafkaConnection;

use crate::config::ProxyConfig;
use crate::error::{Error, Result};

/// Kafka's internal topics (`Topic.isInternal`).
pub const INTERNAL_TOPICS: [&str; 2] = ["__consumer_offsets", "__transaction_state"];

/// Config resource types of DescribeConfigs / IncrementalAlterConfigs.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// One broker as metadata describes it.
#[derive(Clone, Debug)]
pub struct BrokerMeta {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// One partition as metadata describes it.
#[derive(Clone, Debug)]
pub struct PartitionMeta {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// One topic as metadata describes it (partitions in id order).
#[derive(Clone, Debug)]
pub struct TopicMeta {
    pub name: String,
    pub partitions: Vec<PartitionMeta>,
}

impl TopicMeta {
    pub fn is_internal(&self) -> bool {
        INTERNAL_TOPICS.contains(&self.name.as_str())
    }

    pub fn replication_factor(&self) -> usize {
        self.partitions
            .first()
            .map(|p| p.replicas.len())
            .unwrap_or(0)
    }

    pub fn partition(&self, id: i32) -> Option<&PartitionMeta> {
        self.partitions.iter().find(|p| p.id == id)
    }
}

/// The cluster as one metadata answer describes it.
#[derive(Clone, Debug)]
pub struct ClusterMeta {
    pub brokers: Vec<BrokerMeta>,
    pub topics: Vec<TopicMeta>,
    /// The broker that answered (librdkafka does not report the controller;
    /// with one node it is the controller).
    pub origin_broker: i32,
}

impl ClusterMeta {
    pub fn broker(&self, id: i32) -> Option<&BrokerMeta> {
        self.brokers.iter().find(|b| b.id == id)
    }

    /// The controller as far as librdkafka tells: the lowest broker id.
    pub fn controller(&self) -> i32 {
        self.brokers
            .iter()
            .map(|b| b.id)
            .min()
            .unwrap_or(self.origin_broker)
    }
}

/// A config entry as DescribeConfigs gives it.
#[derive(Clone, Debug)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub sensitive: bool,
    pub source: i8,
    pub synonyms: Vec<(String, Option<String>, i8)>,
}

impl ConfigEntry {
    /// Kafka's `ConfigSource` names, as Confluent prints them.
    pub fn source_name(source: i8) -> &'static str {
        match source {
            1 => "DYNAMIC_TOPIC_CONFIG",
            2 => "DYNAMIC_BROKER_CONFIG",
            3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
            4 => "STATIC_BROKER_CONFIG",
            5 => "DEFAULT_CONFIG",
            6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
            7 => "CLIENT_METRICS_CONFIG",
            8 => "GROUP_CONFIG",
            _ => "UNKNOWN",
        }
    }

    pub fn is_default(&self) -> bool {
        self.source == 5
    }
}

/// How an incremental config change alters one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlterOp {
    Set = 0,
    Delete = 1,
    Append = 2,
    Subtract = 3,
}

/// The proxy's clients of the cluster.
pub struct Kafka {
    pub bootstrap: String,
    admin: Arc<AdminClient<DefaultClientContext>>,
    pub producer: FutureProducer,
    base: ClientConfig,
    cluster_id: Mutex<Option<String>>,
    pub timeout: Duration,
}

impl Kafka {
    /// Create the clients (nothing is contacted yet).
    pub fn new(config: &ProxyConfig) -> Result<Kafka> {
        let mut base = ClientConfig::new();
        base.set("bootstrap.servers", &config.bootstrap_servers)
            .set("client.id", "strom-rest-proxy");
        for (k, v) in config.client_props("client.") {
            base.set(k, v);
        }
        let mut admin_config = base.clone();
        admin_config.set("allow.auto.create.topics", "false");
        for (k, v) in config.client_props("admin.") {
            admin_config.set(k, v);
        }
        let admin: AdminClient<DefaultClientContext> = admin_config
            .create()
            .map_err(|e| Error::Config(format!("admin client: {e}")))?;
        let mut producer_config = base.clone();
        producer_config
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "5");
        for (k, v) in config.client_props("producer.") {
            producer_config.set(k, v);
        }
        let producer: FutureProducer = producer_config
            .create()
            .map_err(|e| Error::Config(format!("producer: {e}")))?;
        Ok(Kafka {
            bootstrap: config.bootstrap_servers.clone(),
            admin: Arc::new(admin),
            producer,
            base,
            cluster_id: Mutex::new(None),
            timeout: Duration::from_secs(30),
        })
    }

    /// Client properties every client of the proxy shares (bootstrap servers, `client.*`).
    pub fn base_config(&self) -> ClientConfig {
        self.base.clone()
    }

    /// The cluster id (asked once, then remembered).
    pub async fn cluster_id(&self) -> Result<String> {
        if let Some(id) = self.cluster_id.lock().clone() {
            return Ok(id);
        }
        let admin = self.admin.clone();
        let timeout = self.timeout;
        let id = blocking(move || Ok(admin.inner().fetch_cluster_id(timeout))).await?;
        let id = id.ok_or_else(|| Error::Kafka {
            message: "the cluster id could not be fetched".to_string(),
            retriable: true,
        })?;
        *self.cluster_id.lock() = Some(id.clone());
        Ok(id)
    }

    /// Metadata for all topics, or one topic (`None` inside when it does not exist).
    pub async fn metadata(&self, topic: Option<&str>) -> Result<ClusterMeta> {
        let admin = self.admin.clone();
        let timeout = self.timeout;
        let topic = topic.map(str::to_owned);
        blocking(move || {
            let md = admin
                .inner()
                .fetch_metadata(topic.as_deref(), timeout)
                .map_err(Error::from)?;
            let brokers = md
                .brokers()
                .iter()
                .map(|b| BrokerMeta {
                    id: b.id(),
                    host: b.host().to_string(),
                    port: b.port(),
                })
                .collect();
            let mut topics = Vec::new();
            for t in md.topics() {
                if t.error().is_some() {
                    continue;
                }
                let mut partitions: Vec<PartitionMeta> = t
                    .partitions()
                    .iter()
                    .map(|p| PartitionMeta {
                        id: p.id(),
                        leader: p.leader(),
                        replicas: p.replicas().to_vec(),
                        isr: p.isr().to_vec(),
                    })
                    .collect();
                partitions.sort_by_key(|p| p.id);
                topics.push(TopicMeta {
                    name: t.name().to_string(),
                    partitions,
                });
            }
            topics.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(ClusterMeta {
                brokers,
                topics,
                origin_broker: md.orig_broker_id(),
            })
        })
        .await
    }

    /// One topic's metadata, or `None` when it does not exist.
    pub async fn topic(&self, name: &str) -> Result<Option<TopicMeta>> {
        if name.is_empty() {
            return Ok(None);
        }
        let md = self.metadata(Some(name)).await?;
        Ok(md.topics.into_iter().find(|t| t.name == name))
    }

    /// The topic a produce writes to: as a producer's own metadata request
    /// would, this lets a broker with `auto.create.topics.enable=true` create
    /// a missing topic (Confluent's proxy produces without checking first);
    /// `None` when the topic is missing and the broker did not create it.
    pub async fn topic_for_produce(&self, name: &str) -> Result<Option<TopicMeta>> {
        if let Some(meta) = self.topic(name).await? {
            return Ok(Some(meta));
        }
        let mut conn = self.connection(None).await?;
        let request = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                TopicName(StrBytes::from_string(name.to_string())),
            ))]))
            .with_allow_auto_topic_creation(true);
        let response = conn
            .send(&request, 9, self.timeout)
            .await
            .map_err(|e| Error::Kafka {
                message: e.to_string(),
                retriable: true,
            })?;
        if !response.topics.iter().any(|t| t.error_code == 0) {
            return Ok(None);
        }
        // Created: librdkafka's view catches up on its next metadata request.
        self.topic(name).await
    }

    /// Low and high watermark of a partition.
    pub async fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        let admin = self.admin.clone();
        let timeout = self.timeout;
        let topic = topic.to_owned();
        blocking(move || {
            admin
                .inner()
                .fetch_watermarks(&topic, partition, timeout)
                .map_err(Error::from)
        })
        .await
    }

    /// Create a topic; `None` counts mean the broker's defaults.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        replication_factor: Option<i32>,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<()> {
        let mut topic = NewTopic::new(
            name,
            partitions.unwrap_or(-1),
            TopicReplication::Fixed(replication_factor.unwrap_or(-1)),
        );
        for (k, v) in configs {
            topic = topic.set(k, v);
        }
        let opts = AdminOptions::new()
            .operation_timeout(Some(self.timeout))
            .validate_only(validate_only);
        let results = self.admin.create_topics([&topic], &opts).await?;
        for r in results {
            if let Err((name, code)) = r {
                return Err(Error::from_code(code, &name));
            }
        }
        Ok(())
    }

    /// Delete a topic.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout));
        let results = self.admin.delete_topics(&[name], &opts).await?;
        for r in results {
            if let Err((name, code)) = r {
                return Err(Error::from_code(code, &name));
            }
        }
        Ok(())
    }

    /// Bootstrap address to open a protocol connection to.
    fn bootstrap_addr(&self) -> String {
        self.bootstrap
            .split(',')
            .map(str::trim)
            .find(|s| !s.is_empty())
            .unwrap_or("localhost:9092")
            .to_string()
    }

    async fn connection(&self, addr: Option<String>) -> Result<KafkaConnection> {
        let addr = addr.unwrap_or_else(|| self.bootstrap_addr());
        KafkaConnection::connect(&addr, "strom-rest-proxy", self.timeout)
            .await
            .map_err(|e| Error::Kafka {
                message: e.to_string(),
                retriable: true,
            })
    }

    /// Every config of a topic (`RESOURCE_TOPIC`) or broker (`RESOURCE_BROKER`,
    /// asked of that broker at `addr`), with synonyms.
    pub async fn describe_configs(
        &self,
        resource_type: i8,
        name: &str,
        addr: Option<String>,
    ) -> Result<Vec<ConfigEntry>> {
        let mut conn = self.connection(addr).await?;
        let request = DescribeConfigsRequest::default()
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(name.to_string()))
                .with_configuration_keys(None)])
            .with_include_synonyms(true);
        let response = conn
            .send(&request, 3, self.timeout)
            .await
            .map_err(|e| Error::Kafka {
                message: e.to_string(),
                retriable: true,
            })?;
        let result = response
            .results
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal("DescribeConfigs: no result".to_string()))?;
        if result.error_code != 0 {
            return Err(protocol_error(
                result.error_code,
                result.error_message.map(|m| m.to_string()),
            ));
        }
        let mut entries: Vec<ConfigEntry> = result
            .configs
            .into_iter()
            .map(|c| ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                read_only: c.read_only,
                sensitive: c.is_sensitive,
                source: c.config_source,
                synonyms: c
                    .synonyms
                    .into_iter()
                    .map(|s| (s.name.to_string(), s.value.map(|v| v.to_string()), s.source))
                    .collect(),
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// IncrementalAlterConfigs on one topic.
    pub async fn alter_topic_configs(
        &self,
        topic: &str,
        changes: &[(String, AlterOp, Option<String>)],
        validate_only: bool,
    ) -> Result<()> {
        let mut conn = self.connection(None).await?;
        let configs = changes
            .iter()
            .map(|(name, op, value)| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(name.clone()))
                    .with_config_operation(*op as i8)
                    .with_value(value.clone().map(StrBytes::from_string))
            })
            .collect();
        let request = IncrementalAlterConfigsRequest::default()
            .with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(RESOURCE_TOPIC)
                .with_resource_name(StrBytes::from_string(topic.to_string()))
                .with_configs(configs)])
            .with_validate_only(validate_only);
        let response = conn
            .send(&request, 0, self.timeout)
            .await
            .map_err(|e| Error::Kafka {
                message: e.to_string(),
                retriable: true,
            })?;
        for r in response.responses {
            if r.error_code != 0 {
                return Err(protocol_error(
                    r.error_code,
                    r.error_message.map(|m| m.to_string()),
                ));
            }
        }
        Ok(())
    }
}

/// A member of a consumer group.
#[derive(Clone, Debug)]
pub struct GroupMember {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    /// Partitions from the member's consumer-protocol assignment.
    pub assignment: Vec<(String, i32)>,
}

/// A group as ListGroups + DescribeGroups give it.
#[derive(Clone, Debug)]
pub struct GroupInfo {
    pub group_id: String,
    /// Kafka's `ConsumerGroupState` name: `STABLE`, `EMPTY`, `PREPARING_REBALANCE`, ...
    pub state: String,
    pub protocol_type: String,
    /// The assignor the group chose (`range`, ...).
    pub protocol: String,
    pub members: Vec<GroupMember>,
}

fn state_name(s: &str) -> String {
    match s {
        "Stable" => "STABLE",
        "Empty" => "EMPTY",
        "PreparingRebalance" => "PREPARING_REBALANCE",
        "CompletingRebalance" | "AwaitingSync" => "COMPLETING_REBALANCE",
        "Dead" => "DEAD",
        _ => "UNKNOWN",
    }
    .to_string()
}

/// Partitions of a consumer-protocol assignment (`[version: i16][assignment]`).
fn decode_assignment(bytes: &[u8]) -> Vec<(String, i32)> {
    use bytes::Buf;
    use kafka_protocol::messages::ConsumerProtocolAssignment;
    use kafka_protocol::protocol::Decodable;
    let mut buf = bytes::Bytes::copy_from_slice(bytes);
    if buf.remaining() < 2 {
        return Vec::new();
    }
    let version = buf.get_i16().clamp(0, 3);
    match ConsumerProtocolAssignment::decode(&mut buf, version) {
        Ok(a) => a
            .assigned_partitions
            .into_iter()
            .flat_map(|tp| {
                let topic = tp.topic.0.to_string();
                tp.partitions.into_iter().map(move |p| (topic.clone(), p))
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

impl Kafka {
    /// Consumer groups (protocol type `consumer`, or empty for simple
    /// groups), or just `group` when given and it exists.
    pub async fn consumer_groups(&self, group: Option<&str>) -> Result<Vec<GroupInfo>> {
        let admin = self.admin.clone();
        let timeout = self.timeout;
        let group = group.map(str::to_owned);
        blocking(move || {
            let list = admin
                .inner()
                .fetch_group_list(group.as_deref(), timeout)
                .map_err(Error::from)?;
            let mut out: Vec<GroupInfo> = list
                .groups()
                .iter()
                .filter(|g| g.protocol_type() == "consumer" || g.protocol_type().is_empty())
                .filter(|g| !(g.state() == "Dead" && g.members().is_empty()))
                .map(|g| GroupInfo {
                    group_id: g.name().to_string(),
                    state: state_name(g.state()),
                    protocol_type: g.protocol_type().to_string(),
                    protocol: g.protocol().to_string(),
                    members: g
                        .members()
                        .iter()
                        .map(|m| GroupMember {
                            member_id: m.id().to_string(),
                            client_id: m.client_id().to_string(),
                            host: m.client_host().to_string(),
                            assignment: m.assignment().map(decode_assignment).unwrap_or_default(),
                        })
                        .collect(),
                })
                .collect();
            out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
            Ok(out)
        })
        .await
    }

    /// The coordinator of `group` (FindCoordinator).
    pub async fn group_coordinator(&self, group: &str) -> Result<i32> {
        use kafka_protocol::messages::FindCoordinatorRequest;
        let mut conn = self.connection(None).await?;
        let request = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(group.to_string()))
            .with_key_type(0);
        let response = conn
            .send(&request, 2, self.timeout)
            .await
            .map_err(|e| Error::Kafka {
                message: e.to_string(),
                retriable: true,
            })?;
        if response.error_code != 0 {
            return Err(protocol_error(
                response.error_code,
                response.error_message.map(|m| m.to_string()),
            ));
        }
        Ok(response.node_id.0)
    }

    /// A group's committed offsets on every partition of every (non-internal) topic.
    pub async fn group_offsets(&self, group: &str) -> Result<Vec<(String, i32, i64)>> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        use rdkafka::{Offset, TopicPartitionList};
        let md = self.metadata(None).await?;
        let mut tpl = TopicPartitionList::new();
        for t in md.topics.iter().filter(|t| !t.is_internal()) {
            for p in &t.partitions {
                tpl.add_partition(&t.name, p.id);
            }
        }
        if tpl.count() == 0 {
            return Ok(Vec::new());
        }
        let mut cc = self.base_config();
        cc.set("group.id", group).set("enable.auto.commit", "false");
        let timeout = self.timeout;
        blocking(move || {
            let consumer: BaseConsumer = cc.create().map_err(Error::from)?;
            let committed = consumer
                .committed_offsets(tpl, timeout)
                .map_err(Error::from)?;
            Ok(committed
                .elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some((e.topic().to_string(), e.partition(), o)),
                    _ => None,
                })
                .collect())
        })
        .await
    }
}

/// A Kafka protocol error code (from a response read off the wire) as the proxy reports it.
fn protocol_error(code: i16, message: Option<String>) -> Error {
    let message = message.filter(|m| !m.is_empty());
    match code {
        3 => Error::UnknownTopicOrPartition,
        17 | 36 | 37 | 38 | 39 | 40 | 42 | 44 => Error::KafkaBadRequest(
            message.unwrap_or_else(|| format!("Kafka refused the request (error code {code})")),
        ),
        _ => Error::Kafka {
            message: message.unwrap_or_else(|| format!("error code {code}")),
            retriable: matches!(code, 5 | 6 | 7 | 13 | 14 | 15 | 16),
        },
    }
}

/// Run a blocking librdkafka call on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}
