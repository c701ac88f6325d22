//! Metadata over the raw protocol: topics chosen by name or by topic id.

mod common;
mod raw;

use common::*;
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::TopicName;
use raw::*;

const UNKNOWN_TOPIC_ID: i16 = 100;

fn by_id(id: uuid::Uuid, name: Option<&str>) -> MetadataRequest {
    MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
        .with_topic_id(id)
        .with_name(name.map(|n| TopicName(s(n))))]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_by_id_whatever_the_name_field_says() {
    let broker = TestBroker::start().await;
    let admin = admin(&broker.bootstrap());
    let topic = unique_name("by-id");
    create_topic(&admin, &topic, 3, &[]).await;
    let mut raw = Raw::connect(broker.listen_addr()).await;

    let by_name = raw
        .call(
            12,
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(TopicName(s(&topic))))
            ])),
        )
        .await;
    assert_eq!(by_name.topics[0].error_code, 0);
    let id = by_name.topics[0].topic_id;
    assert!(!id.is_nil(), "v12 answers carry the topic id");

    // A null name (librdkafka) and an empty one (the Java client's
    // describeTopics(TopicCollection.ofTopicIds(..))) both mean "by id".
    for name in [None, Some("")] {
        for version in [12, 13] {
            let md = raw.call(version, &by_id(id, name)).await;
            assert_eq!(md.topics.len(), 1);
            let t = &md.topics[0];
            assert_eq!(t.error_code, 0, "v{version} name {name:?}");
            assert_eq!(t.topic_id, id);
            assert_eq!(t.name.as_ref().map(|n| n.0.as_str()), Some(topic.as_str()));
            assert_eq!(t.partitions.len(), 3);
        }
    }

    // An unknown id: UNKNOWN_TOPIC_ID, the id echoed, no name.
    let unknown = uuid::Uuid::from_u128(0x5eed);
    let md = raw.call(12, &by_id(unknown, Some(""))).await;
    assert_eq!(md.topics[0].error_code, UNKNOWN_TOPIC_ID);
    assert_eq!(md.topics[0].topic_id, unknown);
    assert_eq!(md.topics[0].name, None);
    broker.shutdown().await;
}
