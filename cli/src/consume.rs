//! `strom consume`: print the records of a topic, like
//! `kafka-console-consumer.sh` and `kcat -C`.
//!
//! Partitions are assigned directly (no consumer group) and read from
//! explicit offsets; nothing is ever committed.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::{Args, ValueEnum};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::client::{kafka_err, kafka_error, topic_error, CliContext, ClientArgs, REQUEST_TIMEOUT};

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// Topic to read.
    pub topic: String,

    /// Start at the earliest offset (same as `--offset beginning`).
    #[arg(long, conflicts_with = "offset")]
    pub from_beginning: bool,

    /// Read only this partition (default: all partitions).
    #[arg(short = 'p', long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,

    /// Where to start in each partition: `beginning`, `end` (default), an
    /// absolute offset `N`, or `-N` for N records before the end.
    #[arg(short = 'o', long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub offset: Option<OffsetSpec>,

    /// Exit after printing N records.
    #[arg(short = 'c', long, value_name = "N")]
    pub max_messages: Option<u64>,

    /// Exit (with status 0) when no record arrived for this long.
    /// Default: wait forever.
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,

    /// Exit when the end of every partition is reached (kcat's -e).
    #[arg(short = 'e', long)]
    pub exit_at_end: bool,

    /// Output format. `text` prints each value as is, one a line. `json`
    /// prints one object a line: topic, partition, offset, timestamp
    /// (epoch ms or null), timestamp_type (CreateTime, LogAppendTime or
    /// null), key, value and headers (a list of {key, value}). Keys and
    /// values are strings when they are valid UTF-8, null when null, and
    /// otherwise base64 with `key_base64`/`value_base64: true` beside them
    /// (`value_base64` in a header likewise).
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// In text format, print `key<TAB>value`.
    #[arg(long)]
    pub print_key: bool,

    /// Do not print the "Processed a total of N messages" line on stderr.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Where to start reading a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    Beginning,
    End,
    /// An absolute offset.
    At(i64),
    /// This many records before the end.
    FromEnd(i64),
}

impl FromStr for OffsetSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "beginning" | "earliest" | "start" | "first" => return Ok(OffsetSpec::Beginning),
            "end" | "latest" | "last" => return Ok(OffsetSpec::End),
            _ => {}
        }
        let bad = || format!("'{s}' is not an offset: use beginning, end, N or -N");
        if let Some(n) = s.strip_prefix('-') {
            let n: i64 = n.parse().map_err(|_| bad())?;
            if n <= 0 {
                return Err(bad());
            }
            Ok(OffsetSpec::FromEnd(n))
        } else {
            s.parse().map(OffsetSpec::At).map_err(|_| bad())
        }
    }
}

impl fmt::Display for OffsetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OffsetSpec::Beginning => write!(f, "beginning"),
            OffsetSpec::End => write!(f, "end"),
            OffsetSpec::At(n) => write!(f, "{n}"),
            OffsetSpec::FromEnd(n) => write!(f, "-{n}"),
        }
    }
}

impl OffsetSpec {
    /// librdkafka's `auto.offset.reset` for this start.
    fn reset_policy(self) -> &'static str {
        match self {
            OffsetSpec::Beginning | OffsetSpec::FromEnd(_) => "earliest",
            OffsetSpec::End => "latest",
            OffsetSpec::At(_) => "error",
        }
    }

    fn to_offset(self) -> Offset {
        match self {
            OffsetSpec::Beginning => Offset::Beginning,
            OffsetSpec::End => Offset::End,
            OffsetSpec::At(n) => Offset::Offset(n),
            OffsetSpec::FromEnd(n) => Offset::OffsetTail(n),
        }
    }
}

/// One header of a record, for JSON output.
#[derive(Debug, Serialize, PartialEq)]
pub struct JsonHeader {
    pub key: String,
    pub value: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub value_base64: bool,
}

/// One record, for JSON output.
#[derive(Debug, Serialize, PartialEq)]
pub struct JsonRecord<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub timestamp_type: Option<&'static str>,
    pub key: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub key_base64: bool,
    pub value: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub value_base64: bool,
    pub headers: Vec<JsonHeader>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Bytes as a JSON string: (text, true when base64).
pub fn json_bytes(bytes: Option<&[u8]>) -> (Option<String>, bool) {
    match bytes {
        None => (None, false),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => (Some(s.to_string()), false),
            Err(_) => (
                Some(base64::engine::general_purpose::STANDARD.encode(b)),
                true,
            ),
        },
    }
}

impl<'a> JsonRecord<'a> {
    pub fn new(
        topic: &'a str,
        partition: i32,
        offset: i64,
        timestamp: Timestamp,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Self {
        let (timestamp, timestamp_type) = match timestamp {
            Timestamp::NotAvailable => (None, None),
            Timestamp::CreateTime(t) => (Some(t), Some("CreateTime")),
            Timestamp::LogAppendTime(t) => (Some(t), Some("LogAppendTime")),
        };
        let (key, key_base64) = json_bytes(key);
        let (value, value_base64) = json_bytes(value);
        let headers = headers
            .iter()
            .map(|(k, v)| {
                let (value, value_base64) = json_bytes(*v);
                JsonHeader {
                    key: k.to_string(),
                    value,
                    value_base64,
                }
            })
            .collect();
        JsonRecord {
            topic,
            partition,
            offset,
            timestamp,
            timestamp_type,
            key,
            key_base64,
            value,
            value_base64,
            headers,
        }
    }
}

/// Text output of one record: the value, or `key<TAB>value`; null prints
/// as `null`, as kafka-console-consumer does.
pub fn write_text(
    out: &mut impl Write,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    print_key: bool,
) -> io::Result<()> {
    if print_key {
        out.write_all(key.unwrap_or(b"null"))?;
        out.write_all(b"\t")?;
    }
    out.write_all(value.unwrap_or(b"null"))?;
    out.write_all(b"\n")
}

fn write_record(out: &mut impl Write, args: &ConsumeArgs, msg: &impl Message) -> io::Result<()> {
    match args.format {
        Format::Text => write_text(out, msg.key(), msg.payload(), args.print_key)?,
        Format::Json => {
            let headers: Vec<(&str, Option<&[u8]>)> = msg
                .headers()
                .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
                .unwrap_or_default();
            let record = JsonRecord::new(
                msg.topic(),
                msg.partition(),
                msg.offset(),
                msg.timestamp(),
                msg.key(),
                msg.payload(),
                &headers,
            );
            serde_json::to_writer(&mut *out, &record)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

/// Errors after which reading cannot go on.
fn is_fatal(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::UnknownPartition
            | RDKafkaErrorCode::TopicAuthorizationFailed
    )
}

pub async fn run(args: ConsumeArgs) -> Result<()> {
    let start = match (args.offset, args.from_beginning) {
        (Some(spec), _) => spec,
        (None, true) => OffsetSpec::Beginning,
        (None, false) => OffsetSpec::End,
    };
    let group_id = format!("strom-cli-consume-{}", std::process::id());
    let consumer: StreamConsumer<CliContext> = args
        .client
        .client_config(&[
            // librdkafka needs a group id to assign partitions. It is never
            // used for anything else: no subscribe, no commits.
            // TODO: offer --group once the broker has consumer groups.
            ("group.id", group_id.as_str()),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            // Only reached when the start offset is not in the log: a tail
            // longer than the log starts at its beginning; an absolute
            // offset out of range is an error rather than a silent jump.
            ("auto.offset.reset", start.reset_policy()),
            (
                "enable.partition.eof",
                if args.exit_at_end { "true" } else { "false" },
            ),
            ("allow.auto.create.topics", "false"),
        ])?
        .create_with_context(CliContext)
        .map_err(kafka_err)?;

    let metadata = consumer
        .fetch_metadata(Some(&args.topic), REQUEST_TIMEOUT)
        .map_err(kafka_err)
        .with_context(|| {
            format!(
                "cannot fetch metadata from {}",
                args.client.bootstrap_server
            )
        })?;
    let topic = metadata
        .topics()
        .iter()
        .find(|t| t.name() == args.topic)
        .ok_or_else(|| {
            anyhow::anyhow!(topic_error(
                RDKafkaErrorCode::UnknownTopicOrPartition,
                &args.topic
            ))
        })?;
    if let Some(err) = topic.error() {
        bail!(topic_error(err.into(), &args.topic));
    }
    let mut partitions: Vec<i32> = topic.partitions().iter().map(|p| p.id()).collect();
    partitions.sort_unstable();
    if let Some(p) = args.partition {
        if !partitions.contains(&p) {
            bail!(
                "UNKNOWN_TOPIC_OR_PARTITION: Topic '{}' has no partition {p} (it has {}).",
                args.topic,
                partitions.len()
            );
        }
        partitions = vec![p];
    }
    if partitions.is_empty() {
        bail!("topic '{}' has no partitions", args.topic);
    }

    let mut assignment = TopicPartitionList::new();
    for p in &partitions {
        assignment
            .add_partition_offset(&args.topic, *p, start.to_offset())
            .map_err(kafka_err)?;
    }
    consumer.assign(&assignment).map_err(kafka_err)?;

    let mut out = io::BufWriter::new(io::stdout());
    let mut count: u64 = 0;
    let idle = args.timeout_ms.map(Duration::from_millis);
    let mut at_end: BTreeSet<i32> = BTreeSet::new();
    let mut warned: HashSet<String> = HashSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    loop {
        if args.max_messages.is_some_and(|max| count >= max) {
            break;
        }
        if args.exit_at_end && at_end.len() == partitions.len() {
            break;
        }
        let received = tokio::select! {
            _ = &mut ctrl_c => break,
            r = recv_within(&consumer, idle) => r,
        };
        let message = match received {
            None => break, // idle timeout
            Some(Ok(m)) => m,
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
                continue;
            }
            Some(Err(e)) => match e.rdkafka_error_code() {
                Some(RDKafkaErrorCode::AutoOffsetReset | RDKafkaErrorCode::OffsetOutOfRange) => {
                    bail!("OFFSET_OUT_OF_RANGE: offset {start} is outside the partition's range")
                }
                Some(code) if is_fatal(code) => bail!(kafka_error(&e)),
                // Transient trouble (a broker restarting, ...): librdkafka
                // retries by itself. Say so once per kind of error.
                _ => {
                    let message = kafka_error(&e);
                    if warned.insert(message.clone()) {
                        eprintln!("Warning: {message}");
                    }
                    continue;
                }
            },
        };
        at_end.remove(&message.partition());
        match write_record(&mut out, &args, &message) {
            Ok(()) => count += 1,
            // The reader went away (e.g. `| head`): that is a normal end.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }

    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    if !args.quiet {
        eprintln!("Processed a total of {count} messages");
    }
    Ok(())
}

/// The next message, or `None` when `idle` passes first.
async fn recv_within(
    consumer: &StreamConsumer<CliContext>,
    idle: Option<Duration>,
) -> Option<Result<rdkafka::message::BorrowedMessage<'_>, KafkaError>> {
    match idle {
        None => Some(consumer.recv().await),
        Some(d) => tokio::time::timeout(d, consumer.recv()).await.ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_specs() {
        assert_eq!("beginning".parse(), Ok(OffsetSpec::Beginning));
        assert_eq!("earliest".parse(), Ok(OffsetSpec::Beginning));
        assert_eq!("END".parse(), Ok(OffsetSpec::End));
        assert_eq!("latest".parse(), Ok(OffsetSpec::End));
        assert_eq!("0".parse(), Ok(OffsetSpec::At(0)));
        assert_eq!("42".parse(), Ok(OffsetSpec::At(42)));
        assert_eq!("-10".parse(), Ok(OffsetSpec::FromEnd(10)));
        assert!("-0".parse::<OffsetSpec>().is_err());
        assert!("--1".parse::<OffsetSpec>().is_err());
        assert!("soon".parse::<OffsetSpec>().is_err());
        assert!("".parse::<OffsetSpec>().is_err());
        assert_eq!(OffsetSpec::FromEnd(3).to_string(), "-3");
        assert_eq!(OffsetSpec::FromEnd(3).to_offset(), Offset::OffsetTail(3));
        assert_eq!(OffsetSpec::At(7).to_offset(), Offset::Offset(7));
    }

    #[test]
    fn json_text_record() {
        let r = JsonRecord::new(
            "t",
            2,
            17,
            Timestamp::CreateTime(1_700_000_000_000),
            Some(b"k"),
            Some("v\u{e9}\"".as_bytes()),
            &[("h", Some(b"x")), ("n", None)],
        );
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"topic":"t","partition":2,"offset":17,"timestamp":1700000000000,"timestamp_type":"CreateTime","key":"k","value":"vé\"","headers":[{"key":"h","value":"x"},{"key":"n","value":null}]}"#
        );
    }

    #[test]
    fn json_binary_and_null() {
        let r = JsonRecord::new(
            "t",
            0,
            0,
            Timestamp::NotAvailable,
            None,
            Some(&[0xff, 0x00, 0x80]),
            &[("bin", Some(&[0xc3, 0x28]))],
        );
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["key"], serde_json::Value::Null);
        assert!(v.get("key_base64").is_none());
        assert_eq!(v["value"], "/wCA");
        assert_eq!(v["value_base64"], true);
        assert_eq!(v["timestamp"], serde_json::Value::Null);
        assert_eq!(v["timestamp_type"], serde_json::Value::Null);
        assert_eq!(v["headers"][0]["value"], "wyg=");
        assert_eq!(v["headers"][0]["value_base64"], true);

        let r = JsonRecord::new("t", 0, 0, Timestamp::LogAppendTime(5), None, None, &[]);
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["timestamp_type"], "LogAppendTime");
        assert_eq!(v["value"], serde_json::Value::Null);
    }

    #[test]
    fn text_output() {
        let mut out = Vec::new();
        write_text(&mut out, Some(b"k"), Some(b"v"), false).unwrap();
        write_text(&mut out, Some(b"k"), Some(b"v"), true).unwrap();
        write_text(&mut out, None, None, true).unwrap();
        write_text(&mut out, None, Some(&[0xff]), false).unwrap();
        assert_eq!(out, b"v\nk\tv\nnull\tnull\n\xff\n");
    }
}
