//! DescribeLogDirs: the partitions in each log dir and their sizes.

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;

pub fn handle(ctx: &Ctx<'_>, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let broker = ctx.broker;
    let wanted: Vec<(String, Option<Vec<i32>>)> = match req.topics {
        None => broker
            .topics()
            .iter()
            .map(|t| (t.name.clone(), None))
            .collect(),
        Some(list) => list
            .into_iter()
            .map(|t| (t.topic.0.as_str().to_string(), Some(t.partitions)))
            .collect(),
    };
    let mut topics = Vec::new();
    for (name, parts) in wanted {
        let Some(topic) = broker.topic(&name) else {
            continue;
        };
        let partitions: Vec<DescribeLogDirsPartition> = topic
            .partitions
            .read()
            .iter()
            .filter(|p| parts.as_ref().is_none_or(|w| w.contains(&p.index)))
            .map(|p| {
                DescribeLogDirsPartition::default()
                    .with_partition_index(p.index)
                    .with_partition_size(p.log.size_bytes() as i64)
                    .with_offset_lag(0)
            })
            .collect();
        if !partitions.is_empty() {
            topics.push(
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(partitions),
            );
        }
    }
    let dir = broker
        .config
        .log_dirs
        .first()
        .map(|d| {
            std::fs::canonicalize(d)
                .unwrap_or_else(|_| d.clone())
                .display()
                .to_string()
        })
        .unwrap_or_default();
    DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(StrBytes::from_string(dir))
        .with_topics(topics)
        .with_total_bytes(-1)
        .with_usable_bytes(-1)])
}
