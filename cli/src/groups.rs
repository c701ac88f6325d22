//! `strom groups`: list, describe, delete consumer groups and reset their
//! committed offsets, in the manner of `kafka-consumer-groups.sh`.
//!
//! Everything goes through librdkafka (so TLS/SASL settings apply): the group
//! list and members come from ListGroups + DescribeGroups, committed offsets
//! from OffsetFetch (for every partition of every topic, keeping those with a
//! committed offset), log-end offsets from ListOffsets, deletion from
//! DeleteGroups and resets from an OffsetCommit made outside the group
//! (generation -1), which the coordinator only accepts while the group has
//! no members.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use bytes::{Buf, Bytes};
use clap::{ArgGroup, Args, Subcommand};
use kafka_protocol::messages::ConsumerProtocolAssignment;
use kafka_protocol::protocol::Decodable;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::groups::GroupInfo;
use rdkafka::{Offset, TopicPartitionList};

use crate::client::{kafka_err, kafka_error, CliContext, ClientArgs, REQUEST_TIMEOUT};

/// `strom groups ...`
#[derive(Debug, Args)]
pub struct GroupsArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    #[command(subcommand)]
    pub command: GroupsCommand,
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List consumer groups, one a line.
    List(ListArgs),
    /// Show a group's partitions: committed offset, log-end offset, lag and owner.
    Describe(DescribeArgs),
    /// Delete a group without members, with its committed offsets.
    Delete(DeleteArgs),
    /// Move a group's committed offsets (the group must have no members).
    ResetOffsets(ResetArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also print each group's state.
    #[arg(long)]
    pub state: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The group to describe.
    pub group: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The group to delete.
    pub group: String,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args([
    "to_earliest", "to_latest", "to_offset", "to_datetime", "shift_by",
])))]
#[command(group(ArgGroup::new("scope").required(true).args(["topics", "all_topics"])))]
pub struct ResetArgs {
    /// The group whose offsets to reset.
    pub group: String,
    /// `TOPIC` or `TOPIC:P,P,...` (repeatable).
    #[arg(long = "topic", value_name = "TOPIC[:PARTITIONS]")]
    pub topics: Vec<String>,
    /// Every topic the group has committed offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// To the log start offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// To the log end offset.
    #[arg(long)]
    pub to_latest: bool,
    /// To this offset (kept within the log's range).
    #[arg(long, value_name = "N")]
    pub to_offset: Option<i64>,
    /// To the first offset with a timestamp at or after this time:
    /// `YYYY-MM-DDTHH:mm:SS[.sss][Z|±HH:MM]` (no zone: UTC) or epoch milliseconds.
    #[arg(long, value_name = "DATETIME", value_parser = parse_datetime)]
    pub to_datetime: Option<i64>,
    /// Move each committed offset by N (may be negative).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Commit the new offsets.
    #[arg(long, conflicts_with = "dry_run")]
    pub execute: bool,
    /// Only show the new offsets (the default).
    #[arg(long)]
    pub dry_run: bool,
}

type Client = BaseConsumer<CliContext>;

pub async fn run(args: GroupsArgs) -> Result<()> {
    let group_id = match &args.command {
        GroupsCommand::List(_) => "strom-cli-groups".to_string(),
        GroupsCommand::Describe(a) => a.group.clone(),
        GroupsCommand::Delete(a) => a.group.clone(),
        GroupsCommand::ResetOffsets(a) => a.group.clone(),
    };
    // A consumer that never subscribes: its group id only names the group
    // whose offsets it fetches or commits.
    let consumer: Client = args
        .client
        .client_config(&[
            ("group.id", group_id.as_str()),
            ("enable.auto.commit", "false"),
            ("allow.auto.create.topics", "false"),
        ])?
        .create_with_context(CliContext)
        .map_err(kafka_err)?;
    match args.command {
        GroupsCommand::List(a) => list(&consumer, a),
        GroupsCommand::Describe(a) => describe(&consumer, &a.group),
        GroupsCommand::Delete(a) => delete(&args.client, &a.group).await,
        GroupsCommand::ResetOffsets(a) => reset(&consumer, a),
    }
}

fn list(consumer: &Client, a: ListArgs) -> Result<()> {
    let groups = consumer
        .fetch_group_list(None, REQUEST_TIMEOUT)
        .map_err(kafka_err)
        .context("cannot list consumer groups")?;
    let mut rows: Vec<(String, String)> = groups
        .groups()
        .iter()
        .map(|g| (g.name().to_string(), g.state().to_string()))
        .collect();
    rows.sort();
    if a.state {
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(5);
        println!("{:<width$} STATE", "GROUP");
        for (name, state) in rows {
            println!("{name:<width$} {state}");
        }
    } else {
        for (name, _) in rows {
            println!("{name}");
        }
    }
    Ok(())
}

/// A member of a group as describe shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub consumer_id: String,
    pub host: String,
    pub client_id: String,
}

/// A group's state and members, as describe needs them.
struct GroupView {
    state: String,
    /// Partition -> the member it is assigned to.
    owners: BTreeMap<(String, i32), Owner>,
    /// Members without partitions.
    idle: Vec<Owner>,
}

/// The group's state and which member owns which partition.
fn group_info(consumer: &Client, group: &str) -> Result<GroupView> {
    let list = consumer
        .fetch_group_list(Some(group), REQUEST_TIMEOUT)
        .map_err(kafka_err)
        .with_context(|| format!("cannot describe group '{group}'"))?;
    let Some(info) = list.groups().iter().find(|g| g.name() == group) else {
        return Ok(GroupView {
            state: "Dead".into(),
            owners: BTreeMap::new(),
            idle: Vec::new(),
        });
    };
    let (owners, idle) = owners(info);
    Ok(GroupView {
        state: info.state().to_string(),
        owners,
        idle,
    })
}

/// Partition -> owner, and the members that own nothing.
fn owners(info: &GroupInfo) -> (BTreeMap<(String, i32), Owner>, Vec<Owner>) {
    let mut owners = BTreeMap::new();
    let mut idle = Vec::new();
    for m in info.members() {
        let owner = Owner {
            consumer_id: m.id().to_string(),
            host: m.client_host().to_string(),
            client_id: m.client_id().to_string(),
        };
        let assigned = m.assignment().map(parse_assignment).unwrap_or_default();
        if assigned.is_empty() {
            idle.push(owner);
            continue;
        }
        for tp in assigned {
            owners.insert(tp, owner.clone());
        }
    }
    (owners, idle)
}

/// The partitions of a consumer-protocol assignment (none if it does not parse).
pub fn parse_assignment(bytes: &[u8]) -> Vec<(String, i32)> {
    let mut buf = Bytes::copy_from_slice(bytes);
    if buf.remaining() < 2 {
        return Vec::new();
    }
    let version = buf.get_i16().clamp(0, 3);
    match ConsumerProtocolAssignment::decode(&mut buf, version) {
        Ok(a) => a
            .assigned_partitions
            .iter()
            .flat_map(|tp| {
                tp.partitions
                    .iter()
                    .map(move |p| (tp.topic.0.to_string(), *p))
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Every partition of every non-internal topic (or of `only`).
fn all_partitions(
    consumer: &Client,
    only: Option<&BTreeSet<String>>,
) -> Result<Vec<(String, i32)>> {
    let metadata = consumer
        .fetch_metadata(None, REQUEST_TIMEOUT)
        .map_err(kafka_err)
        .context("cannot fetch metadata")?;
    let mut out = Vec::new();
    for t in metadata.topics() {
        if t.error().is_some() || t.name().starts_with("__") {
            continue;
        }
        if only.is_some_and(|o| !o.contains(t.name())) {
            continue;
        }
        for p in t.partitions() {
            out.push((t.name().to_string(), p.id()));
        }
    }
    out.sort();
    Ok(out)
}

/// Committed offsets of the consumer's group for these partitions (those with one).
fn committed(
    consumer: &Client,
    partitions: &[(String, i32)],
) -> Result<BTreeMap<(String, i32), i64>> {
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut tpl = TopicPartitionList::new();
    for (t, p) in partitions {
        tpl.add_partition(t, *p);
    }
    let got = consumer
        .committed_offsets(tpl, REQUEST_TIMEOUT)
        .map_err(kafka_err)
        .context("cannot fetch committed offsets")?;
    Ok(got
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(((e.topic().to_string(), e.partition()), o)),
            _ => None,
        })
        .collect())
}

/// (log start, log end) of a partition.
fn watermarks(consumer: &Client, topic: &str, partition: i32) -> Result<(i64, i64)> {
    consumer
        .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
        .map_err(kafka_err)
        .with_context(|| format!("cannot fetch the offsets of {topic}-{partition}"))
}

/// One row of `describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub topic: String,
    pub partition: String,
    pub current: String,
    pub end: String,
    pub lag: String,
    pub owner: Option<Owner>,
}

fn describe(consumer: &Client, group: &str) -> Result<()> {
    let GroupView {
        state,
        owners: owned,
        idle,
    } = group_info(consumer, group)?;
    let offsets = committed(consumer, &all_partitions(consumer, None)?)?;
    if state == "Dead" && offsets.is_empty() {
        bail!("GROUP_ID_NOT_FOUND: Consumer group '{group}' does not exist.");
    }
    let partitions: BTreeSet<(String, i32)> = offsets.keys().chain(owned.keys()).cloned().collect();
    let mut rows = Vec::new();
    for (topic, partition) in &partitions {
        let key = (topic.clone(), *partition);
        let (_, end) = watermarks(consumer, topic, *partition)?;
        let current = offsets.get(&key).copied();
        rows.push(Row {
            topic: topic.clone(),
            partition: partition.to_string(),
            current: current.map_or("-".into(), |c| c.to_string()),
            end: end.to_string(),
            lag: current.map_or("-".into(), |c| (end - c).max(0).to_string()),
            owner: owned.get(&key).cloned(),
        });
    }
    for owner in idle {
        rows.push(Row {
            topic: "-".into(),
            partition: "-".into(),
            current: "-".into(),
            end: "-".into(),
            lag: "-".into(),
            owner: Some(owner),
        });
    }
    if owned.is_empty() && !matches!(state.as_str(), "PreparingRebalance" | "CompletingRebalance") {
        println!("\nConsumer group '{group}' has no active members.");
    } else if state != "Stable" {
        println!("\nWarning: Consumer group '{group}' is rebalancing.");
    }
    print!("{}", format_describe(group, &rows));
    Ok(())
}

/// `kafka-consumer-groups.sh --describe`'s table.
pub fn format_describe(group: &str, rows: &[Row]) -> String {
    let dash = |o: &Option<Owner>, f: fn(&Owner) -> &str| o.as_ref().map_or("-", f).to_string();
    let width = |header: &str, values: &mut dyn Iterator<Item = usize>| {
        values.max().unwrap_or(0).max(header.len())
    };
    let group_w = group.len().max("GROUP".len());
    let topic_w = width("TOPIC", &mut rows.iter().map(|r| r.topic.len()));
    let id_w = width(
        "CONSUMER-ID",
        &mut rows
            .iter()
            .map(|r| dash(&r.owner, |o| &o.consumer_id).len()),
    );
    let host_w = width(
        "HOST",
        &mut rows.iter().map(|r| dash(&r.owner, |o| &o.host).len()),
    );
    let mut out = String::from("\n");
    let mut line = |cols: [&str; 9]| {
        let text = format!(
            "{:<group_w$} {:<topic_w$} {:<10} {:<15} {:<15} {:<15} {:<id_w$} {:<host_w$} {}",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8]
        );
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line([
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    for r in rows {
        let id = dash(&r.owner, |o| &o.consumer_id);
        let host = dash(&r.owner, |o| if o.host.is_empty() { "-" } else { &o.host });
        let client = dash(&r.owner, |o| &o.client_id);
        line([
            group,
            &r.topic,
            &r.partition,
            &r.current,
            &r.end,
            &r.lag,
            &id,
            &host,
            &client,
        ]);
    }
    out
}

async fn delete(client: &ClientArgs, group: &str) -> Result<()> {
    let admin: AdminClient<CliContext> = client
        .client_config(&[])?
        .create_with_context(CliContext)
        .map_err(kafka_err)?;
    let options = AdminOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .operation_timeout(Some(REQUEST_TIMEOUT));
    let results = admin
        .delete_groups(&[group], &options)
        .await
        .map_err(kafka_err)?;
    for result in results {
        match result {
            Ok(_) => println!("Deletion of requested consumer groups ('{group}') was successful."),
            Err((name, code)) => bail!(
                "Group '{name}' could not be deleted due to: {}",
                kafka_error(&rdkafka::error::KafkaError::AdminOp(code))
            ),
        }
    }
    Ok(())
}

/// What a reset moves the offsets to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Earliest,
    Latest,
    Offset(i64),
    Timestamp(i64),
    Shift(i64),
}

impl ResetArgs {
    fn target(&self) -> Target {
        if self.to_earliest {
            Target::Earliest
        } else if self.to_latest {
            Target::Latest
        } else if let Some(o) = self.to_offset {
            Target::Offset(o)
        } else if let Some(t) = self.to_datetime {
            Target::Timestamp(t)
        } else {
            Target::Shift(self.shift_by.unwrap_or(0))
        }
    }
}

/// Parse `TOPIC` or `TOPIC:0,1,2`.
pub fn parse_topic_spec(spec: &str) -> Result<(String, Option<Vec<i32>>)> {
    match spec.split_once(':') {
        None => Ok((spec.to_string(), None)),
        Some((topic, parts)) => {
            let partitions = parts
                .split(',')
                .map(|p| p.trim().parse::<i32>())
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("bad partition list in '{spec}'"))?;
            Ok((topic.to_string(), Some(partitions)))
        }
    }
}

fn reset(consumer: &Client, a: ResetArgs) -> Result<()> {
    let group = a.group.clone();
    let state = group_info(consumer, &group)?.state;
    if !matches!(state.as_str(), "Empty" | "Dead") {
        bail!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
        );
    }
    // The partitions to reset.
    let mut partitions: Vec<(String, i32)> = Vec::new();
    if a.all_topics {
        let all = all_partitions(consumer, None)?;
        partitions.extend(committed(consumer, &all)?.into_keys());
    }
    for spec in &a.topics {
        let (topic, only) = parse_topic_spec(spec)?;
        let wanted = BTreeSet::from([topic.clone()]);
        let existing = all_partitions(consumer, Some(&wanted))?;
        if existing.is_empty() {
            bail!("UNKNOWN_TOPIC_OR_PART: Topic '{topic}' does not exist.");
        }
        match only {
            None => partitions.extend(existing),
            Some(ps) => {
                for p in ps {
                    if !existing.contains(&(topic.clone(), p)) {
                        bail!("UNKNOWN_TOPIC_OR_PART: Partition {topic}-{p} does not exist.");
                    }
                    partitions.push((topic.clone(), p));
                }
            }
        }
    }
    partitions.sort();
    partitions.dedup();
    let current = committed(consumer, &partitions)?;
    let target = a.target();
    let mut new_offsets = Vec::new();
    for (topic, partition) in &partitions {
        let (low, high) = watermarks(consumer, topic, *partition)?;
        let offset = match target {
            Target::Earliest => low,
            Target::Latest => high,
            Target::Offset(o) => o.clamp(low, high),
            Target::Shift(n) => {
                let from = current
                    .get(&(topic.clone(), *partition))
                    .copied()
                    .unwrap_or(low);
                from.saturating_add(n).clamp(low, high)
            }
            Target::Timestamp(ts) => {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset(topic, *partition, Offset::Offset(ts))
                    .map_err(kafka_err)?;
                let found = consumer
                    .offsets_for_times(tpl, REQUEST_TIMEOUT)
                    .map_err(kafka_err)
                    .context("cannot look offsets up by time")?;
                match found.find_partition(topic, *partition).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) if o >= 0 => o,
                    _ => high,
                }
            }
        };
        new_offsets.push((topic.clone(), *partition, offset));
    }
    if a.execute {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, offset) in &new_offsets {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(kafka_err)?;
        }
        consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(kafka_err)
            .with_context(|| format!("cannot commit the new offsets of group '{group}'"))?;
    } else {
        eprintln!("WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.");
    }
    print!("{}", format_reset(&group, &new_offsets));
    Ok(())
}

/// `kafka-consumer-groups.sh --reset-offsets`'s table.
pub fn format_reset(group: &str, rows: &[(String, i32, i64)]) -> String {
    let group_w = group.len().max("GROUP".len());
    let topic_w = rows
        .iter()
        .map(|r| r.0.len())
        .max()
        .unwrap_or(0)
        .max("TOPIC".len());
    let mut out = String::from("\n");
    out.push_str(&format!(
        "{:<group_w$} {:<topic_w$} {:<10} NEW-OFFSET\n",
        "GROUP", "TOPIC", "PARTITION"
    ));
    for (topic, partition, offset) in rows {
        out.push_str(&format!(
            "{group:<group_w$} {topic:<topic_w$} {partition:<10} {offset}\n"
        ));
    }
    out
}

/// `YYYY-MM-DDTHH:mm:SS[.sss][Z|±HH:MM]` (no zone: UTC) or epoch milliseconds,
/// to epoch milliseconds.
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || format!("'{s}' is not YYYY-MM-DDTHH:mm:SS[.sss][Z|±HH:MM] or epoch milliseconds");
    let (date, rest) = s.split_once('T').ok_or_else(bad)?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (Some(Ok(year)), Some(Ok(month)), Some(Ok(day)), None) =
        (d.next(), d.next(), d.next(), d.next())
    else {
        return Err(bad());
    };
    // Split the zone off the time.
    let (time, offset_minutes) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, zone) = rest.split_at(i);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, m) = zone[1..].split_once(':').unwrap_or((&zone[1..], "0"));
        let h: i64 = h.parse().map_err(|_| bad())?;
        let m: i64 = m.parse().map_err(|_| bad())?;
        (t, sign * (h * 60 + m))
    } else {
        (rest, 0)
    };
    let (hms, millis) = match time.split_once('.') {
        Some((hms, frac)) => {
            let digits: String = frac.chars().take(3).collect();
            let ms: i64 = format!("{digits:0<3}").parse().map_err(|_| bad())?;
            (hms, ms)
        }
        None => (time, 0),
    };
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (Some(Ok(hour)), Some(Ok(minute)), second) = (t.next(), t.next(), t.next()) else {
        return Err(bad());
    };
    let second = match second {
        None => 0,
        Some(Ok(s)) => s,
        Some(Err(_)) => return Err(bad()),
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00").unwrap(), 0);
        assert_eq!(parse_datetime("1970-01-01T00:00:01.5Z").unwrap(), 1500);
        assert_eq!(
            parse_datetime("2024-02-29T12:00:00.000Z").unwrap(),
            1_709_208_000_000
        );
        assert_eq!(
            parse_datetime("2024-02-29T14:00:00+02:00").unwrap(),
            1_709_208_000_000
        );
        assert_eq!(parse_datetime("1700000000000").unwrap(), 1_700_000_000_000);
        assert!(parse_datetime("yesterday").is_err());
        assert!(parse_datetime("2024-13-01T00:00:00").is_err());
    }

    #[test]
    fn topic_specs() {
        assert_eq!(parse_topic_spec("t").unwrap(), ("t".into(), None));
        assert_eq!(
            parse_topic_spec("t:0,2").unwrap(),
            ("t".into(), Some(vec![0, 2]))
        );
        assert!(parse_topic_spec("t:x").is_err());
    }

    #[test]
    fn assignments() {
        let a = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
            TopicPartition::default()
                .with_topic(TopicName(StrBytes::from_static_str("orders")))
                .with_partitions(vec![0, 2]),
        ]);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&1i16.to_be_bytes());
        a.encode(&mut buf, 1).unwrap();
        assert_eq!(
            parse_assignment(&buf),
            vec![("orders".to_string(), 0), ("orders".to_string(), 2)]
        );
        assert!(parse_assignment(&[1]).is_empty());
    }

    #[test]
    fn describe_table() {
        let rows = vec![Row {
            topic: "orders".into(),
            partition: "0".into(),
            current: "7".into(),
            end: "10".into(),
            lag: "3".into(),
            owner: None,
        }];
        let text = format_describe("g", &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            vec![
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "CONSUMER-ID",
                "HOST",
                "CLIENT-ID"
            ]
        );
        let cols: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            cols,
            vec!["g", "orders", "0", "7", "10", "3", "-", "-", "-"]
        );
    }
}
