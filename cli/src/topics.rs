//! `strom topics`: create, list, describe, alter and delete topics, in the
//! manner of `kafka-topics.sh`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewPartitions, NewTopic,
    ResourceSpecifier, TopicReplication,
};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::MetadataTopic;

use crate::client::{
    kafka_err, parse_key_value, topic_error, CliContext, ClientArgs, REQUEST_TIMEOUT,
};
use crate::topic_ids;

/// `strom topics ...`
#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    #[command(subcommand)]
    pub command: TopicsCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create a topic.
    Create(CreateArgs),
    /// List topic names, one a line.
    List(ListArgs),
    /// Show partitions, leaders, replicas and non-default configs.
    Describe(DescribeArgs),
    /// Add partitions and change topic configs.
    Alter(AlterArgs),
    /// Delete a topic and all its data.
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the topic to create.
    pub topic: String,
    /// Number of partitions (default: the broker's `num.partitions`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: Option<i32>,
    /// Replicas per partition (default: the broker's `default.replication.factor`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub replication_factor: Option<i32>,
    /// A topic config, e.g. `--config retention.ms=3600000` (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub configs: Vec<(String, String)>,
    /// Succeed without doing anything if the topic already exists.
    #[arg(long)]
    pub if_not_exists: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Leave out internal topics (names starting with `__`).
    #[arg(long)]
    pub exclude_internal: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The topic to describe (default: every topic).
    pub topic: Option<String>,
    /// Leave out internal topics (names starting with `__`).
    #[arg(long)]
    pub exclude_internal: bool,
}

#[derive(Debug, Args)]
pub struct AlterArgs {
    /// Name of the topic to alter.
    pub topic: String,
    /// New total number of partitions (partitions can only be added).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: Option<i32>,
    /// Set a topic config (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub configs: Vec<(String, String)>,
    /// Remove a topic config override, going back to the default (repeatable).
    #[arg(long = "delete-config", value_name = "KEY")]
    pub delete_configs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Name of the topic to delete.
    pub topic: String,
    /// Succeed without doing anything if the topic does not exist.
    #[arg(long)]
    pub if_exists: bool,
}

type Admin = AdminClient<CliContext>;

pub async fn run(args: TopicsArgs) -> Result<()> {
    let admin: Admin = args
        .client
        .client_config(&[("allow.auto.create.topics", "false")])?
        .create_with_context(CliContext)
        .map_err(kafka_err)?;
    match args.command {
        TopicsCommand::Create(a) => create(&admin, a).await,
        TopicsCommand::List(a) => list(&admin, &args.client, a),
        TopicsCommand::Describe(a) => describe(&admin, &args.client, a).await,
        TopicsCommand::Alter(a) => alter(&admin, a).await,
        TopicsCommand::Delete(a) => delete(&admin, a).await,
    }
}

fn admin_options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .operation_timeout(Some(REQUEST_TIMEOUT))
}

async fn create(admin: &Admin, a: CreateArgs) -> Result<()> {
    let mut new_topic = NewTopic::new(
        &a.topic,
        a.partitions.unwrap_or(-1),
        TopicReplication::Fixed(a.replication_factor.unwrap_or(-1)),
    );
    for (k, v) in &a.configs {
        new_topic = new_topic.set(k, v);
    }
    let results = admin
        .create_topics([&new_topic], &admin_options())
        .await
        .map_err(kafka_err)?;
    for result in results {
        match result {
            Ok(name) => println!("Created topic {name}."),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) if a.if_not_exists => {}
            Err((name, code)) => bail!(topic_error(code, &name)),
        }
    }
    Ok(())
}

/// All topics the cluster knows, sorted by name.
fn fetch_topics(admin: &Admin, client: &ClientArgs) -> Result<Vec<(String, TopicSummary)>> {
    let metadata = admin
        .inner()
        .fetch_metadata(None, REQUEST_TIMEOUT)
        .map_err(kafka_err)
        .with_context(|| format!("cannot fetch metadata from {}", client.bootstrap_server))?;
    let mut topics: Vec<(String, TopicSummary)> = metadata
        .topics()
        .iter()
        .map(|t| (t.name().to_string(), TopicSummary::from_metadata(t)))
        .collect();
    topics.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(topics)
}

fn is_internal(name: &str) -> bool {
    name.starts_with("__")
}

fn list(admin: &Admin, client: &ClientArgs, a: ListArgs) -> Result<()> {
    for (name, summary) in fetch_topics(admin, client)? {
        if summary.error.is_some() || (a.exclude_internal && is_internal(&name)) {
            continue;
        }
        println!("{name}");
    }
    Ok(())
}

/// What describe prints about one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionSummary {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// What describe prints about one topic (besides id and configs).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSummary {
    pub error: Option<RDKafkaErrorCode>,
    pub partitions: Vec<PartitionSummary>,
}

impl TopicSummary {
    fn from_metadata(t: &MetadataTopic) -> Self {
        let mut partitions: Vec<PartitionSummary> = t
            .partitions()
            .iter()
            .map(|p| PartitionSummary {
                id: p.id(),
                leader: p.leader(),
                replicas: p.replicas().to_vec(),
                isr: p.isr().to_vec(),
            })
            .collect();
        partitions.sort_by_key(|p| p.id);
        TopicSummary {
            error: t.error().map(RDKafkaErrorCode::from),
            partitions,
        }
    }
}

fn join_ids(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// `kafka-topics.sh --describe` output for one topic.
pub fn format_description(
    name: &str,
    topic_id: &str,
    summary: &TopicSummary,
    configs: &[(String, String)],
) -> String {
    let replication_factor = summary.partitions.first().map_or(0, |p| p.replicas.len());
    let configs = configs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = format!(
        "Topic: {name}\tTopicId: {topic_id}\tPartitionCount: {}\tReplicationFactor: {replication_factor}\tConfigs: {configs}\n",
        summary.partitions.len()
    );
    for p in &summary.partitions {
        let leader = if p.leader < 0 {
            "none".to_string()
        } else {
            p.leader.to_string()
        };
        out.push_str(&format!(
            "\tTopic: {name}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}\n",
            p.id,
            join_ids(&p.replicas),
            join_ids(&p.isr)
        ));
    }
    out
}

/// Every config of `topic` as DescribeConfigs returns it: (name, value, source).
async fn describe_configs(
    admin: &Admin,
    topic: &str,
) -> Result<Vec<(String, Option<String>, ConfigSource, bool)>> {
    let results = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &admin_options())
        .await
        .map_err(kafka_err)?;
    let mut entries = Vec::new();
    for result in results {
        let resource = result.map_err(|code| anyhow!(topic_error(code, topic)))?;
        for e in resource.entries {
            entries.push((e.name, e.value, e.source, e.is_default));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

async fn describe(admin: &Admin, client: &ClientArgs, a: DescribeArgs) -> Result<()> {
    let mut topics = fetch_topics(admin, client)?;
    match &a.topic {
        Some(wanted) => {
            topics.retain(|(name, _)| name == wanted);
            if topics.is_empty() {
                bail!(topic_error(
                    RDKafkaErrorCode::UnknownTopicOrPartition,
                    wanted
                ));
            }
        }
        None if a.exclude_internal => topics.retain(|(name, _)| !is_internal(name)),
        None => {}
    }
    let ids = if client.is_plaintext()? {
        let bootstrap = client
            .properties()?
            .remove("bootstrap.servers")
            .unwrap_or_default();
        topic_ids::fetch(&bootstrap, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| {
                tracing::debug!("could not fetch topic ids: {e:#}");
                HashMap::new()
            })
    } else {
        HashMap::new()
    };
    for (name, summary) in &topics {
        if let Some(code) = summary.error {
            bail!(topic_error(code, name));
        }
        let configs: Vec<(String, String)> = describe_configs(admin, name)
            .await?
            .into_iter()
            .filter(|(_, _, source, is_default)| !is_default && *source != ConfigSource::Default)
            .map(|(k, v, _, _)| (k, v.unwrap_or_else(|| "<sensitive>".into())))
            .collect();
        let id = ids.get(name).map_or(topic_ids::ZERO_ID, String::as_str);
        print!("{}", format_description(name, id, summary, &configs));
    }
    Ok(())
}

/// The full set of dynamic topic configs to send with (non-incremental)
/// AlterConfigs: the current overrides, minus `deletes`, plus `sets`.
pub fn merge_configs(
    current: &BTreeMap<String, String>,
    sets: &[(String, String)],
    deletes: &[String],
) -> BTreeMap<String, String> {
    let mut merged = current.clone();
    for key in deletes {
        merged.remove(key);
    }
    for (k, v) in sets {
        merged.insert(k.clone(), v.clone());
    }
    merged
}

async fn alter(admin: &Admin, a: AlterArgs) -> Result<()> {
    if a.partitions.is_none() && a.configs.is_empty() && a.delete_configs.is_empty() {
        bail!("nothing to alter: give --partitions, --config or --delete-config");
    }
    if let Some(count) = a.partitions {
        let count = usize::try_from(count)?;
        let request = NewPartitions::new(&a.topic, count);
        let results = admin
            .create_partitions([&request], &admin_options())
            .await
            .map_err(kafka_err)?;
        for result in results {
            if let Err((name, code)) = result {
                bail!(topic_error(code, &name));
            }
        }
    }
    if !a.configs.is_empty() || !a.delete_configs.is_empty() {
        // AlterConfigs replaces the whole set of overrides, so send the
        // current ones along with the change.
        let mut current = BTreeMap::new();
        for (name, value, source, _) in describe_configs(admin, &a.topic).await? {
            if source != ConfigSource::DynamicTopic {
                continue;
            }
            match value {
                Some(v) => {
                    current.insert(name, v);
                }
                None => bail!(
                    "cannot alter the configs of '{}': the value of '{name}' is hidden \
                     (sensitive) and would be lost",
                    a.topic
                ),
            }
        }
        let merged = merge_configs(&current, &a.configs, &a.delete_configs);
        let mut request = AlterConfig::new(ResourceSpecifier::Topic(&a.topic));
        for (k, v) in &merged {
            request = request.set(k, v);
        }
        let results = admin
            .alter_configs([&request], &admin_options())
            .await
            .map_err(kafka_err)?;
        for result in results {
            if let Err((_, code)) = result {
                bail!(topic_error(code, &a.topic));
            }
        }
    }
    println!("Altered topic {}.", a.topic);
    Ok(())
}

async fn delete(admin: &Admin, a: DeleteArgs) -> Result<()> {
    let results = admin
        .delete_topics(&[&a.topic], &admin_options())
        .await
        .map_err(kafka_err)?;
    for result in results {
        match result {
            Ok(name) => println!("Deleted topic {name}."),
            Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) if a.if_exists => {}
            Err((name, code)) => bail!(topic_error(code, &name)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_format() {
        let summary = TopicSummary {
            error: None,
            partitions: vec![
                PartitionSummary {
                    id: 0,
                    leader: 1,
                    replicas: vec![1],
                    isr: vec![1],
                },
                PartitionSummary {
                    id: 1,
                    leader: -1,
                    replicas: vec![1, 2],
                    isr: vec![],
                },
            ],
        };
        let configs = vec![
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("retention.ms".to_string(), "1000".to_string()),
        ];
        let out = format_description("orders", "ID", &summary, &configs);
        assert_eq!(
            out,
            "Topic: orders\tTopicId: ID\tPartitionCount: 2\tReplicationFactor: 1\t\
             Configs: cleanup.policy=compact,retention.ms=1000\n\
             \tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n\
             \tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 1,2\tIsr: \n"
        );
        let empty = TopicSummary {
            error: None,
            partitions: vec![],
        };
        assert_eq!(
            format_description("t", "ID", &empty, &[]),
            "Topic: t\tTopicId: ID\tPartitionCount: 0\tReplicationFactor: 0\tConfigs: \n"
        );
    }

    #[test]
    fn merge_keeps_current_overrides() {
        let current: BTreeMap<String, String> = [
            ("retention.ms".to_string(), "1".to_string()),
            ("cleanup.policy".to_string(), "compact".to_string()),
        ]
        .into();
        let merged = merge_configs(
            &current,
            &[
                ("segment.bytes".into(), "1024".into()),
                ("retention.ms".into(), "2".into()),
            ],
            &["cleanup.policy".into(), "not.set".into()],
        );
        let expected: BTreeMap<String, String> = [
            ("retention.ms".to_string(), "2".to_string()),
            ("segment.bytes".to_string(), "1024".to_string()),
        ]
        .into();
        assert_eq!(merged, expected);
    }
}
