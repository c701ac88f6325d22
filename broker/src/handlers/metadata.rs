//! Metadata: brokers, topics and partition leaders; creates missing topics
//! when the client allows it and `auto.create.topics.enable` is on.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{blocking, Ctx, AUTHORIZED_OPERATIONS_OMITTED};
use crate::broker::{validate_topic_name, Broker, Topic};

/// This broker, as the listener the client connected to advertises it.
pub fn this_broker(broker: &Broker, listener: &str) -> (String, i32) {
    let endpoints = broker.endpoints.read();
    let ep = endpoints
        .iter()
        .find(|e| e.listener == listener)
        .or_else(|| endpoints.first());
    match ep {
        Some(e) => (e.host.clone(), i32::from(e.port)),
        None => ("localhost".to_string(), 9092),
    }
}

/// The partitions of a topic as Metadata-style responses describe them.
pub fn partition_entries(broker: &Broker, topic: &Topic) -> Vec<MetadataResponsePartition> {
    let node = BrokerId(broker.node_id);
    (0..topic.partition_count())
        .map(|i| {
            MetadataResponsePartition::default()
                .with_partition_index(i)
                .with_leader_id(node)
                .with_leader_epoch(0)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect()
}

fn topic_entry(broker: &Broker, topic: &Topic, with_ops: bool) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(topic.id)
        .with_is_internal(topic.is_internal())
        .with_partitions(partition_entries(broker, topic))
        .with_topic_authorized_operations(if with_ops {
            ALL_TOPIC_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        })
}

/// Without ACLs every operation is allowed. Bits are Kafka's AclOperation codes:
/// READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10,
/// ALTER_CONFIGS 11 for topics.
pub const ALL_TOPIC_OPERATIONS: i32 = ops(&[3, 4, 5, 6, 7, 8, 10, 11]);

/// For the cluster: CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
/// DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
pub const ALL_CLUSTER_OPERATIONS: i32 = ops(&[5, 7, 8, 9, 10, 11, 12]);

const fn ops(codes: &[u8]) -> i32 {
    let mut bits = 0;
    let mut i = 0;
    while i < codes.len() {
        bits |= 1 << codes[i];
        i += 1;
    }
    bits
}

pub async fn handle(ctx: &Ctx<'_>, req: MetadataRequest) -> MetadataResponse {
    let broker = ctx.broker;
    let version = ctx.version();
    let (host, port) = this_broker(broker, ctx.listener);
    let with_ops = req.include_topic_authorized_operations;
    let auto_create =
        broker.config.auto_create_topics() && (version < 4 || req.allow_auto_topic_creation);
    let topics = match req.topics {
        None => broker
            .topics()
            .iter()
            .map(|t| topic_entry(broker, t, with_ops))
            .collect(),
        Some(wanted) => {
            let mut out = Vec::with_capacity(wanted.len().min(1024));
            for t in wanted {
                // A non-zero topic id selects by id, whatever the name says (the
                // Java client sends `""` as the name of a by-id request).
                out.push(match t.name {
                    Some(name) if t.topic_id.is_nil() => {
                        named_topic(broker, name.0.as_str(), auto_create, with_ops).await
                    }
                    _ => match broker.topic_by_id(t.topic_id) {
                        Some(topic) => topic_entry(broker, &topic, with_ops),
                        None => MetadataResponseTopic::default()
                            .with_name(None)
                            .with_topic_id(t.topic_id)
                            .with_error_code(ResponseError::UnknownTopicId.code()),
                    },
                });
            }
            out
        }
    };
    let mut resp = MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(broker.node_id))
            .with_host(StrBytes::from_string(host))
            .with_port(port)
            .with_rack(broker.config.rack().map(StrBytes::from_string))])
        .with_cluster_id(Some(StrBytes::from_string(broker.cluster_id.clone())))
        .with_controller_id(BrokerId(broker.node_id))
        .with_topics(topics);
    if req.include_cluster_authorized_operations && (8..=10).contains(&version) {
        resp.cluster_authorized_operations = ALL_CLUSTER_OPERATIONS;
    }
    resp
}

async fn named_topic(
    broker: &Arc<Broker>,
    name: &str,
    auto_create: bool,
    with_ops: bool,
) -> MetadataResponseTopic {
    let unknown = |code: ResponseError| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
            .with_error_code(code.code())
    };
    if let Some(t) = broker.topic(name) {
        return topic_entry(broker, &t, with_ops);
    }
    if validate_topic_name(name).is_err() {
        return unknown(ResponseError::InvalidTopicException);
    }
    if !auto_create {
        return unknown(ResponseError::UnknownTopicOrPartition);
    }
    let b = broker.clone();
    let n = name.to_string();
    match blocking(move || b.auto_create_topic(&n)).await {
        Ok(Ok(t)) => topic_entry(broker, &t, with_ops),
        Ok(Err(e)) => unknown(e.code),
        Err(e) => unknown(e.code),
    }
}
